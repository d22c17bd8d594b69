"""The Engine: one routed completion as plan -> attempt -> settle.

`_plan` works out the turn (profile, task, history, the routing decision, and whether there is
anything to try at all). `_attempt` makes one request to one target and ends with an Outcome; a
429 with a short Retry-After is waited out inside it and the same target asked again, as the next
numbered attempt. `_settle` gives the reply its FailureKind (once) and records it.
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
from ..core.router import pinned_route
from ..core.tokens import estimate_tokens
from ..core.types import (
    Classification,
    MesoclawError,
    ModelTarget,
    RoutingDecision,
    RoutingProfile,
    TaskType,
    parse_profile,
    parse_task,
)
from .policy import Outcome, failure_message, failure_of_attempts, failure_of_decision, verdict_for
from .records import Records, message_row, usage_row
from .types import Attempt, Delta, EngineEvent, FellBack, Finished, Reply, Retrying, Routed, Trying, Turn

if TYPE_CHECKING:
    from ..core.router import Availability
    from ..service import RouterConfig, RouterService

# A 429 whose Retry-After is at most this many seconds is waited out and retried once; a longer one
# cools the provider down for that long and moves on.
RETRY_AFTER_CAP_S = 5.0
MAX_ATTEMPTS = 6
DEFAULT_MAX_OUTPUT = 1024  # output reserved when estimating whether a context window can hold a request


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


@dataclass
class _Progress:
    """What the attempts of one turn have produced so far."""

    plan: Plan
    reply: Reply
    chunks: list[str] = field(default_factory=list)
    skip_providers: set[str] = field(default_factory=set)
    min_window: int = 0  # after a context_length error: only larger windows

    def attempted(self, target: ModelTarget, outcome: str, error: str | None, t0: float,
                  retried: bool = False) -> Attempt:
        attempt = Attempt(len(self.reply.attempts) + 1, target.provider, target.model, outcome, error,
                          int((time.perf_counter() - t0) * 1000), retried)
        self.reply.attempts.append(attempt)
        return attempt

    def first_token(self, target: ModelTarget) -> None:
        reply = self.reply
        reply.ttft_ms = int((time.perf_counter() - self.plan.started_at) * 1000)
        reply.provider, reply.model = target.provider, target.model


@dataclass(frozen=True, slots=True)
class _Conversation:
    conversation_id: int | None
    history: tuple[Any, ...]
    previous_task: TaskType | None
    pinned: str | None


class Engine:
    def __init__(self, service: RouterService, client: Any = None, *,
                 sleep: Callable[[float], Any] = asyncio.sleep, max_attempts: int = MAX_ATTEMPTS,
                 retry_after_cap: float = RETRY_AFTER_CAP_S):
        self.service = service
        self.records = Records(service)
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
                                         classification=plan.classification, decision=plan.decision))
        outcome: Outcome | None = None
        try:
            yield Routed(plan.task, plan.profile, plan.classification, plan.decision, plan.conversation_id)
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
        from ..providers import ChatMessage

        started_at = time.perf_counter()
        service = self.service
        registry = await service.registry()
        config = await service.get_router_config()
        profile = parse_profile(str(turn.profile)) if turn.profile else config.profile
        conversation = await self._conversation(turn)
        task, classification = _task_of(turn, conversation.previous_task)
        messages = (*conversation.history, ChatMessage("user", turn.prompt))
        tokens_needed = prompt_tokens(messages, turn.system) + (turn.max_tokens or DEFAULT_MAX_OUTPUT)
        decision, failure = await self._decide(profile, task, turn.model or conversation.pinned, tokens_needed,
                                               registry, config)
        plan = Plan(turn, started_at, registry, profile, task, classification, conversation.conversation_id,
                    messages, decision, failure)
        if turn.persist:
            if plan.conversation_id is None and turn.history is None:
                # Created only now, so a turn refused as bad input (an unknown model) leaves nothing behind.
                plan.conversation_id = await self.records.new_conversation(turn.prompt)
            if plan.conversation_id is not None:
                plan.saved_prompt = self.records.save_prompt(plan.conversation_id, turn.prompt, task.value)
        return plan

    async def _conversation(self, turn: Turn) -> _Conversation:
        from ..providers import ChatMessage

        if turn.history is not None:
            # A caller that keeps its own conversation (the endpoint): the task of its last user
            # message is the "previous" task a short follow-up keeps.
            return _Conversation(turn.conversation_id, tuple(turn.history), _previous_task(turn.history), None)
        conversation_id = turn.conversation_id
        if conversation_id is None and turn.continue_last:
            conversation_id = await self.records.last_answered_conversation()
        if conversation_id is None:
            return _Conversation(None, (), None, None)
        loaded = await self.records.conversation(conversation_id)
        if loaded is None:
            raise MesoclawError(f"no conversation {conversation_id}")
        conversation, turns = loaded
        history = tuple(ChatMessage(m.role, m.content) for m in turns)
        return _Conversation(conversation_id, history, conversation.previous_task, conversation.model_override)

    async def _decide(self, profile: RoutingProfile, task: TaskType, model: str | None, tokens_needed: int,
                      registry: Registry, config: RouterConfig) -> tuple[RoutingDecision, FailureKind | None]:
        """The candidates, the same way for a named model as for a routed request; and when there are
        none, why. A cooldown is a preference, not a ban: with nothing else left, cooling ones are tried."""
        service = self.service

        def route(availability: Availability, tokens: int) -> RoutingDecision:
            if model:
                return pinned_route(profile, task, model, availability, tokens, registry)
            return service.route(profile, task, config, availability, tokens, registry)

        availability = await service.live_availability()
        decision = route(availability, tokens_needed)
        if not decision.candidates and availability.cooling:
            availability = replace(availability, cooling=frozenset())
            decision = route(availability, tokens_needed)
        if decision.candidates:
            return decision, None
        fits_without_context = bool(route(availability, 0).candidates)
        return decision, failure_of_decision(decision, service.settings.configured(), fits_without_context)

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
        """One target until it settles: Delta events (and Retrying, FellBack), then one Outcome."""
        from ..providers import ProviderError, TextDelta, Usage, stream_chat

        request = self._request(progress.plan, target)
        endpoint = self.service.endpoint(target.provider)
        chunks = progress.chunks
        retried = False
        while True:
            t0 = time.perf_counter()
            usage: Any = None
            try:
                # aclosing: a turn cancelled mid-stream closes its HTTP stream now, not at GC.
                async with aclosing(stream_chat(self.client, endpoint, request)) as events:
                    async for event in events:
                        if type(event) is TextDelta:
                            if not chunks:
                                progress.first_token(target)
                            chunks.append(event.text)
                            yield Delta(event.text)
                        elif type(event) is Usage:
                            usage = _merge_usage(usage, event)
            except ProviderError as exc:
                outcome = await self._failed(progress, target, exc, t0, usage, retried)
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
                _keep_usage(progress.reply, usage)
                raise
            progress.attempted(target, "ok", None, t0)
            progress.reply.provider, progress.reply.model = target.provider, target.model
            _keep_usage(progress.reply, usage)
            await self.records.provider_answered(target.provider)
            yield Outcome.OK
            return

    def _request(self, plan: Plan, target: ModelTarget) -> Any:
        from ..providers import ChatRequest

        turn = plan.turn
        max_tokens = turn.max_tokens
        info = plan.registry.get(target.provider, target.model)
        if max_tokens and info is not None and info.max_output:
            max_tokens = min(max_tokens, info.max_output)  # never ask for more than the model can give
        return ChatRequest(target.model, plan.messages, turn.system, max_tokens, turn.temperature)

    async def _failed(self, progress: _Progress, target: ModelTarget, exc: Any, t0: float, usage: Any,
                      retried: bool) -> Outcome | None:
        """Note an attempt that raised; its Outcome, or None when the same target is to be retried."""
        # Never let a key or a URL password reach stderr, JSON or the database.
        message = self.service.settings.providers[target.provider].scrub(exc.message)
        if progress.chunks:  # after the first token: keep what arrived, mark it, say so
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
        """The reply's text, failure (set here, once), tokens and cost; then its usage row and message."""
        plan, reply = progress.plan, progress.reply
        reply.text = "".join(progress.chunks)
        reply.failure = failure
        reply.error = failure_message(failure, reply.attempts, plan.decision)
        reply.total_ms = int((time.perf_counter() - plan.started_at) * 1000)
        if reply.status != "failed" and (reply.input_tokens is None or reply.output_tokens is None):
            reply.estimated = True
            if reply.input_tokens is None:
                reply.input_tokens = prompt_tokens(plan.messages, plan.turn.system)
            if reply.output_tokens is None:
                reply.output_tokens = estimate_tokens(reply.text)
        registry = plan.registry
        reply.cost_usd = cost_of(registry, _target_of(reply, plan.decision), reply.input_tokens, reply.output_tokens)
        baseline = cost_of(registry, baseline_target(registry), reply.input_tokens, reply.output_tokens)
        reply.usage_id, reply.message_id = await self.records.save_reply(
            usage_row(plan.turn, reply, baseline), message_row(plan.turn, reply), plan.saved_prompt)


# helpers ----------------------------------------------------------------------------------------------


def prompt_tokens(messages: tuple[Any, ...], system: str | None) -> int:
    """Estimated input tokens of a request: its messages and system prompt."""
    return sum(estimate_tokens(m.content) for m in messages) + estimate_tokens(system or "")


def _task_of(turn: Turn, previous: TaskType | None) -> tuple[TaskType, Classification | None]:
    if turn.task:
        return parse_task(str(turn.task)), None
    from ..core.classifier import classify

    classification = classify(turn.prompt, previous=previous)
    return classification.task, classification


def _previous_task(history: tuple[Any, ...]) -> TaskType | None:
    last_user = next((m.content for m in reversed(history) if m.role == "user"), None)
    if not last_user:
        return None
    from ..core.classifier import classify

    return classify(last_user).task


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
