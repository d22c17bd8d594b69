"""The Engine: one routed completion as plan -> attempt -> settle.

`_plan` works out the turn (profile, task, history, what the request needs, the routing decision,
and whether there is anything to try at all). `_attempt` makes one request to one target and ends
with an Outcome; a 429 with a short Retry-After is waited out inside it and the same target asked
again, as the next numbered attempt. `_settle` gives the reply its FailureKind (once) and records it.

Text and tool calls stream through alike: the first of either is the reply's first token, after
which nothing falls back (a tool call half made on one model cannot be finished by another).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..core.failures import FailureKind
from ..core.pricing import baseline_target, cost_of
from ..core.registry import Registry
from ..core.router import pinned_route, route
from ..core.types import (
    Capability,
    Classification,
    MesoclawError,
    ModelTarget,
    RoutingDecision,
    RoutingProfile,
    TaskType,
    parse_profile,
    parse_task,
)
from .kept import kept_after, with_kept
from .policy import (
    Outcome,
    failure_message,
    failure_of_attempts,
    failure_of_decision,
    missing_capabilities,
    verdict_for,
)
from .records import Records, message_row, usage_row
from .request import MAX_REPLY_ENV, max_reply_chars, needs_of, output_tokens, prompt_tokens
from .types import (
    Attempt,
    Delta,
    EngineEvent,
    FellBack,
    Finished,
    Reply,
    Retrying,
    Routed,
    ToolDelta,
    Trying,
    Turn,
)

if TYPE_CHECKING:
    from ..core.budget import Verdict
    from ..core.router import Availability
    from ..service import ChatSettings, RouterConfig, RouterService

# A 429 whose Retry-After is at most this many seconds is waited out and retried once; a longer one
# cools the provider down for that long and moves on.
RETRY_AFTER_CAP_S = 5.0
MAX_ATTEMPTS = 6
DEFAULT_MAX_OUTPUT = 1024  # output reserved when estimating whether a context window can hold a request
# A request no model can take (it needs what none has, or is larger than every window) is not
# stored: retrying it as it is cannot help, and a conversation it created would hold only it.
_REFUSED = frozenset({FailureKind.MISSING_CAPABILITY, FailureKind.CONTEXT_TOO_LARGE, FailureKind.BUDGET_EXCEEDED})


@dataclass
class Plan:
    """A turn worked out before any request: what to send, and to whom."""

    turn: Turn
    started_at: float
    registry: Registry
    profile: RoutingProfile
    task: TaskType
    classification: Classification | None
    conversation_id: int | None
    messages: tuple[Any, ...]
    decision: RoutingDecision
    failure: FailureKind | None  # set when there is nothing to try
    saved_prompt: asyncio.Future[int] | None = None
    missing: tuple[Capability, ...] = ()  # with MISSING_CAPABILITY: what no available model has
    budget: Verdict | None = None  # the budgets' verdict (None: no budget is set)


@dataclass
class _Progress:
    """What the attempts of one turn have produced so far."""

    plan: Plan
    reply: Reply
    chunks: list[str] = field(default_factory=list)
    calls: Any = None  # a ToolCallAccumulator, from the first tool-call delta
    started: bool = False  # a text or tool-call delta has arrived: from now on nothing falls back
    finish: Any = None  # the answering attempt's StreamEnd
    skip_providers: set[str] = field(default_factory=set)
    min_window: int = 0  # after a context_length error: only larger windows

    def attempted(self, target: ModelTarget, outcome: str, error: str | None, t0: float,
                  retried: bool = False, finish_reason: str | None = None) -> Attempt:
        attempt = Attempt(len(self.reply.attempts) + 1, target.provider, target.model, outcome, error,
                          int((time.perf_counter() - t0) * 1000), retried, finish_reason)
        self.reply.attempts.append(attempt)
        return attempt

    def first_token(self, target: ModelTarget) -> None:
        self.started = True
        reply = self.reply
        reply.ttft_ms = int((time.perf_counter() - self.plan.started_at) * 1000)
        reply.provider, reply.model = target.provider, target.model


class _Meter:
    """What one attempt's stream said besides its text: usage, its end, and the reply's size."""

    __slots__ = ("usage", "end", "size", "too_large")

    def __init__(self) -> None:
        self.usage: tuple[int | None, int | None] | None = None
        self.end: Any = None
        self.size = 0  # characters of text and tool-call arguments so far
        self.too_large = False


@dataclass(frozen=True, slots=True)
class _Conversation:
    conversation_id: int | None
    history: tuple[Any, ...]
    previous_task: TaskType | None
    kept: ChatSettings | None = None  # its system prompt, pinned model and preset settings


class Engine:
    def __init__(self, service: RouterService, client: Any = None, *,
                 sleep: Callable[[float], Any] = asyncio.sleep, max_attempts: int = MAX_ATTEMPTS,
                 retry_after_cap: float = RETRY_AFTER_CAP_S, max_reply: int | None = None,
                 write_behind: bool = False, settings_max_age: float = 0.0):
        # Read first: a bad MESOCLAW_MAX_REPLY_CHARS is the user's error, before anything is opened.
        self.max_reply = max_reply or max_reply_chars()  # characters of a reply, at most
        self.service = service
        # write_behind: a reply's usage row is written after Finished, not before (records.py)
        self.records = Records(service, write_behind=write_behind)
        # how stale another process's change to the router settings may be (RouterService.routing_state)
        self.settings_max_age = settings_max_age
        self._client = client
        self._own_client = client is None
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.retry_after_cap = retry_after_cap
        self.interrupted_reply: Reply | None = None  # the partial reply of a turn cancelled mid-stream

    @property
    def client(self) -> Any:
        if self._client is None:
            from ..providers import make_client

            self._client = make_client()
        return self._client

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run(self, turn: Turn, on_event: Callable[[EngineEvent], Any] | None = None) -> Reply:
        reply = None
        async for event in self.stream(turn):
            if on_event is not None:
                on_event(event)
            if isinstance(event, Finished):
                reply = event.reply
        assert reply is not None
        return reply

    async def stream(self, turn: Turn) -> AsyncIterator[EngineEvent]:
        """Route and answer one turn. The last event is always Finished (unless cancelled)."""
        plan = await self._plan(turn)
        progress = _Progress(plan, Reply(task=plan.task, profile=plan.profile, conversation_id=plan.conversation_id,
                                         classification=plan.classification, decision=plan.decision,
                                         missing=plan.missing, budget=plan.budget))
        outcome: Outcome | None = None
        try:
            yield Routed(plan.task, plan.profile, plan.classification, plan.decision, plan.conversation_id,
                         plan.budget)
            for index, target in self._targets(progress):
                yield Trying(target, index)
                async with aclosing(self._attempt(progress, target)) as events:
                    async for event in events:
                        if type(event) is Outcome:
                            outcome = event
                        else:
                            yield event
                if outcome is not Outcome.FELL_BACK:
                    break
                outcome = None
        except (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit):
            # Cancelled, interrupted, or the caller stopped reading (closed this generator): keep
            # what arrived, marked cancelled.
            self.interrupted_reply = progress.reply
            await asyncio.shield(self._settle(progress, FailureKind.CANCELLED))
            raise
        await self._settle(progress, plan.failure or failure_of_attempts(outcome, progress.reply.attempts))
        yield Finished(progress.reply)

    # plan ---------------------------------------------------------------------------------------------

    async def _plan(self, turn: Turn) -> Plan:
        started_at = time.perf_counter()
        service = self.service
        registry = await service.registry()
        config, availability = await service.routing_state(self.settings_max_age)
        conversation = await self._conversation(turn)
        sent = with_kept(turn, conversation.kept)
        profile = parse_profile(str(sent.profile)) if sent.profile else config.profile
        budget = await service.budget_check(profile)
        if budget is not None:
            profile = budget.profile  # eco when a budget is spent and says downgrade
        task, classification = _task_of(sent, conversation.previous_task)
        messages = conversation.history if sent.messages is not None else (*conversation.history, _prompt_of(sent))
        needs = needs_of(messages, sent.tools, sent.parallel_tool_calls, sent.response_format)
        tokens_needed = prompt_tokens(messages, sent.system, sent.tools) + (sent.max_tokens or DEFAULT_MAX_OUTPUT)
        decision, failure, missing = await self._decide(profile, task, sent.model, tokens_needed, needs, registry,
                                                        config, availability)
        if failure is None and budget is not None and budget.refused:
            failure = FailureKind.BUDGET_EXCEEDED
        plan = Plan(sent, started_at, registry, profile, task, classification, conversation.conversation_id,
                    messages, decision, failure, missing=missing, budget=budget)
        if turn.persist and failure not in _REFUSED:
            await self._store_prompt(plan, turn, conversation)
        return plan

    async def _store_prompt(self, plan: Plan, turn: Turn, conversation: _Conversation) -> None:
        """The conversation (created now for a new one, keeping what the turn sets) and the prompt,
        written while the request goes out."""
        if plan.conversation_id is None and turn.messages is None:
            # Created only now, so a turn refused as bad input (an unknown model) leaves nothing behind.
            plan.conversation_id = await self.records.new_conversation(turn.prompt, kept_after(turn, None))
        elif plan.conversation_id is not None:
            changed = kept_after(turn, conversation.kept)
            if changed is not None:
                await self.records.keep_settings(plan.conversation_id, changed)
        if plan.conversation_id is not None:
            plan.saved_prompt = self.records.save_prompt(plan.conversation_id, turn.prompt, plan.task.value,
                                                         replacing=turn.alternative_of)

    async def _conversation(self, turn: Turn) -> _Conversation:
        from ..providers import ChatMessage

        if turn.messages is not None:
            # A caller that keeps its own conversation (the endpoint, an agent): the task of the user
            # message before its last is the "previous" task a short follow-up keeps.
            return _Conversation(turn.conversation_id, tuple(turn.messages), _previous_task(turn.messages))
        conversation_id = turn.conversation_id
        if conversation_id is None and turn.continue_last:
            conversation_id = await self.records.last_answered_conversation()
        if conversation_id is None:
            if turn.alternative_of is not None:
                raise MesoclawError("an alternative needs the conversation whose last exchange it replaces")
            return _Conversation(None, (), None)
        loaded = await self.records.conversation(conversation_id, replacing=turn.alternative_of)
        if loaded is None:
            raise MesoclawError(f"no conversation {conversation_id}")
        conversation, turns = loaded
        history = tuple(ChatMessage(m.role, m.content) for m in turns)
        return _Conversation(conversation_id, history, conversation.previous_task, conversation.settings)

    async def _decide(self, profile: RoutingProfile, task: TaskType, model: str | None, tokens_needed: int,
                      needs: frozenset[Capability], registry: Registry, config: RouterConfig,
                      availability: Availability) -> tuple[RoutingDecision, FailureKind | None, tuple[Capability, ...]]:
        """The candidates, the same way for a named model as for a routed request; and when there are
        none, why (and, for a capability, which). A cooldown is a preference, not a ban: with nothing
        else left, cooling ones are tried."""
        def decide(availability: Availability, tokens: int, needs: frozenset[Capability]) -> RoutingDecision:
            if model:
                return pinned_route(profile, task, model, availability, tokens, registry, needs=needs)
            return route(profile, task, config.task_overrides, config.custom_routes, availability, tokens,
                         registry, needs=needs)

        decision = decide(availability, tokens_needed, needs)
        if not decision.candidates and availability.cooling:
            availability = replace(availability, cooling=frozenset())
            decision = decide(availability, tokens_needed, needs)
        if decision.candidates:
            return decision, None, ()
        without_needs = decide(availability, tokens_needed, frozenset()).candidates if needs else ()
        fits_without_context = bool(decide(availability, 0, needs).candidates)
        failure = failure_of_decision(decision, self.service.settings.configured(), fits_without_context,
                                      bool(without_needs))
        if failure is not FailureKind.MISSING_CAPABILITY:
            return decision, failure, ()
        had = [info.capabilities if info else None for info in (registry.get(t.provider, t.model)
                                                               for t in without_needs)]
        return decision, failure, missing_capabilities(needs, had)

    # attempt ------------------------------------------------------------------------------------------

    def _targets(self, progress: _Progress) -> Iterator[tuple[int, ModelTarget]]:
        """The candidates still worth a request, in order, as the attempts so far leave them."""
        plan = progress.plan
        if plan.failure is not None:
            return
        for index, target in enumerate(plan.decision.candidates):
            if len(progress.reply.attempts) >= self.max_attempts:
                return
            if target.provider in progress.skip_providers:
                continue
            info = plan.registry.get(target.provider, target.model)
            if progress.min_window and info is not None and (info.context_window or 0) <= progress.min_window:
                continue
            yield index, target

    async def _attempt(self, progress: _Progress, target: ModelTarget) -> AsyncIterator[Any]:
        """One target until it settles: Delta and ToolDelta events (and Retrying, FellBack), then one Outcome."""
        from ..providers import ProviderError, TextDelta, stream_chat

        request = self._request(progress.plan, target)
        endpoint = self.service.endpoint(target.provider)
        chunks = progress.chunks
        cap = self.max_reply
        retried = False
        while True:
            t0 = time.perf_counter()
            meter = _Meter()
            try:
                # aclosing: a turn cancelled mid-stream closes its HTTP stream now, not at GC.
                async with aclosing(stream_chat(self.client, endpoint, request)) as events:
                    async for event in events:
                        if type(event) is TextDelta:  # the hot path: inline, no call
                            text = event.text
                            if not progress.started:
                                progress.first_token(target)
                            meter.size += len(text)
                            if meter.size > cap:
                                text = text[:len(text) - (meter.size - cap)]
                                meter.too_large = True
                            if text:
                                chunks.append(text)
                                yield Delta(text)
                        else:
                            noted = self._noted(progress, target, event, meter)
                            if noted is not None:
                                yield noted
                        if meter.too_large:
                            break  # closing the stream ends the provider's request
            except ProviderError as exc:
                outcome = await self._failed(progress, target, exc, t0, meter.usage, retried)
                if outcome is None:  # a short 429: wait, then the same target again
                    yield Retrying(progress.reply.attempts[-1], exc.retry_after)
                    await self.sleep(exc.retry_after)
                    retried = True
                    continue
                if outcome is not Outcome.BROKE:
                    yield FellBack(progress.reply.attempts[-1])
                yield outcome
                return
            except (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit):
                progress.attempted(target, "cancelled", None, t0)
                _keep_usage(progress.reply, meter.usage)
                raise
            yield await self._answered(progress, target, meter, t0)
            return

    def _noted(self, progress: _Progress, target: ModelTarget, event: Any, meter: _Meter) -> ToolDelta | None:
        """An event other than text: a tool-call delta (passed on), usage or the end (kept)."""
        from ..providers import StreamEnd, ToolCallAccumulator, ToolCallDelta, Usage

        kind = type(event)
        if kind is ToolCallDelta:
            if not progress.started:
                progress.first_token(target)
            meter.size += len(event.arguments)
            if meter.size > self.max_reply:
                meter.too_large = True  # a call cut short is no call: it is dropped, not passed on
                return None
            if progress.calls is None:
                progress.calls = ToolCallAccumulator()
            progress.calls.add(event)
            return ToolDelta(event.index, event.id, event.name, event.arguments)
        if kind is Usage:
            meter.usage = _merge_usage(meter.usage, event)
        elif kind is StreamEnd:
            meter.end = event
        return None

    async def _answered(self, progress: _Progress, target: ModelTarget, meter: _Meter, t0: float) -> Outcome:
        """An attempt whose stream ended (or was ended at the size cap): its record and Outcome."""
        reply = progress.reply
        reply.provider, reply.model = target.provider, target.model
        _keep_usage(reply, meter.usage)
        if meter.too_large:
            progress.attempted(target, "too_large", f"the reply passed the cap of {self.max_reply:,} characters "
                               f"({MAX_REPLY_ENV}) and was ended there", t0)
            return Outcome.TOO_LARGE
        progress.finish = meter.end
        finish = meter.end.finish_reason.value if meter.end is not None else None
        progress.attempted(target, "ok", None, t0, finish_reason=finish)
        await self.records.provider_answered(target.provider)
        return Outcome.OK

    def _request(self, plan: Plan, target: ModelTarget) -> Any:
        from ..providers import ChatRequest

        turn = plan.turn
        max_tokens = turn.max_tokens
        info = plan.registry.get(target.provider, target.model)
        if max_tokens and info is not None and info.max_output:
            max_tokens = min(max_tokens, info.max_output)  # never ask for more than the model can give
        return ChatRequest(target.model, plan.messages, turn.system, max_tokens, turn.temperature, turn.tools,
                           turn.tool_choice, turn.parallel_tool_calls, turn.response_format)

    async def _failed(self, progress: _Progress, target: ModelTarget, exc: Any, t0: float, usage: Any,
                      retried: bool) -> Outcome | None:
        """Note an attempt that raised; its Outcome, or None when the same target is to be retried."""
        # Never let a key or a URL password reach stderr, JSON or the database.
        message = self.service.settings.providers[target.provider].scrub(exc.message)
        if progress.started or exc.started:  # after the first token: keep what arrived, mark it, say so
            progress.attempted(target, "incomplete", message, t0)
            _keep_usage(progress.reply, usage)
            return Outcome.BROKE
        if self._retry_now(exc, retried, progress):
            progress.attempted(target, exc.kind, f"{message} (retrying after {exc.retry_after:g}s)", t0, retried=True)
            return None
        progress.attempted(target, exc.kind, message, t0)
        verdict = verdict_for(exc.kind, message, exc.retry_after)
        await self.records.provider_failed(target, message, verdict)
        if verdict.skip_provider:
            progress.skip_providers.add(target.provider)
        if verdict.larger_window:
            info = progress.plan.registry.get(target.provider, target.model)
            progress.min_window = max(progress.min_window, (info.context_window if info else 0) or 0)
        return Outcome.STOP if verdict.stop else Outcome.FELL_BACK

    def _retry_now(self, exc: Any, retried: bool, progress: _Progress) -> bool:
        return (exc.kind == "rate_limit" and not retried and exc.retry_after is not None
                and exc.retry_after <= self.retry_after_cap and len(progress.reply.attempts) + 1 < self.max_attempts)

    # settle -------------------------------------------------------------------------------------------

    async def _settle(self, progress: _Progress, failure: FailureKind | None) -> None:
        """The reply's text, failure (set here, once), calls, tokens and cost; then its usage row and message."""
        plan, reply = progress.plan, progress.reply
        reply.text = "".join(progress.chunks)
        reply.failure = failure
        reply.error = failure_message(failure, reply.attempts, plan.decision, plan.missing)
        if failure is FailureKind.BUDGET_EXCEEDED and plan.budget is not None:
            reply.error = plan.budget.message()
        reply.total_ms = int((time.perf_counter() - plan.started_at) * 1000)
        calls = progress.calls.calls if progress.calls else ()
        if failure is None:  # a call from a reply that broke off may be cut short: never handed out
            reply.tool_calls = calls
            reply.finish_reason = progress.finish.finish_reason.value if progress.finish is not None else "stop"
        if reply.status != "failed" and (reply.input_tokens is None or reply.output_tokens is None):
            reply.estimated = True
            if reply.input_tokens is None:
                reply.input_tokens = prompt_tokens(plan.messages, plan.turn.system, plan.turn.tools)
            if reply.output_tokens is None:
                reply.output_tokens = output_tokens(reply.text, calls)
        registry = plan.registry
        reply.cost_usd = cost_of(registry, _target_of(reply, plan.decision), reply.input_tokens, reply.output_tokens)
        baseline = cost_of(registry, baseline_target(registry), reply.input_tokens, reply.output_tokens)
        # The reply's message is saved below its prompt, and only then (a refused request stores none).
        message = message_row(plan.turn, reply) if plan.saved_prompt is not None else None
        if plan.turn.reply_message is not None:  # the caller stores the reply its own way (an agent step)
            message = plan.turn.reply_message(reply)
        reply.usage_id, reply.message_id = await self.records.save_reply(
            usage_row(plan.turn, reply, baseline), message, plan.saved_prompt)


# helpers ----------------------------------------------------------------------------------------------


def _prompt_of(turn: Turn) -> Any:
    from ..providers import ChatMessage

    return ChatMessage("user", turn.content if turn.content is not None else turn.prompt)


def _task_of(turn: Turn, previous: TaskType | None) -> tuple[TaskType, Classification | None]:
    if turn.task:
        return parse_task(str(turn.task)), None
    from ..core.classifier import classify

    classification = classify(turn.prompt, previous=previous)
    return classification.task, classification


def _previous_task(messages: tuple[Any, ...]) -> TaskType | None:
    """The task of the user's message before their last one (a caller's own conversation ends with
    the prompt, or with tool results after it)."""
    users = [m for m in messages if m.role == "user"]
    before = users[-2].text if len(users) > 1 else None
    if not before:
        return None
    from ..core.classifier import classify

    return classify(before).task


def _merge_usage(usage: Any, event: Any) -> tuple[int | None, int | None]:
    before_in, before_out = usage or (None, None)
    return (event.input_tokens if event.input_tokens is not None else before_in,
            event.output_tokens if event.output_tokens is not None else before_out)


def _keep_usage(reply: Reply, usage: tuple[int | None, int | None] | None) -> None:
    reply.input_tokens, reply.output_tokens = usage or (None, None)


def _target_of(reply: Reply, decision: RoutingDecision) -> ModelTarget | None:
    if reply.provider is None:
        return None
    return next((c for c in decision.candidates if (c.provider, c.model) == (reply.provider, reply.model)), None)
