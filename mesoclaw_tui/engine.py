"""One routed completion: classify, route, try candidates in order, stream, record usage.

Before the first token a failing candidate is skipped (and its provider cooled down or marked);
after the first token a failure ends the reply, keeps the partial text marked incomplete, and says
so. Every attempt, and every reply's tokens and cost, is recorded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

from .core.pricing import baseline_target, cost_of
from .core.provider_info import no_provider_message
from .core.registry import Registry
from .core.router import pinned_route
from .core.tokens import estimate_tokens
from .core.types import (
    Classification,
    MesoclawError,
    MesoclawFailure,
    ModelTarget,
    RoutingDecision,
    RoutingProfile,
    TaskType,
    parse_profile,
    parse_task,
)
from .service import RouterService

# A 429 whose Retry-After is at most this many seconds is waited out and retried once; a longer one
# cools the provider down for that long and moves on.
RETRY_AFTER_CAP_S = 5.0
MAX_ATTEMPTS = 6
DEFAULT_MAX_OUTPUT = 1024  # output reserved when estimating whether a context window can hold a request
# Auth or billing failure: skip the provider this long, or until `mesoclaw providers check` passes.
# Short, because the usual fix (a new key in the environment) cannot be seen from the database.
UNUSABLE_S = 600.0
MODEL_MISSING_S = 86_400.0
HISTORY_LIMIT = 200  # messages of a conversation sent as context at most


class NoProviderConfigured(MesoclawFailure):
    """Nothing can serve the request because no provider is configured."""

    def __init__(self) -> None:
        super().__init__(no_provider_message())


class AllCandidatesFailed(MesoclawFailure):
    def __init__(self, reply: Reply):
        self.reply = reply
        super().__init__(reply.error or "every candidate failed")


@dataclass(frozen=True)
class Turn:
    """What the caller asks for. history=None reads the conversation's messages from the store."""

    prompt: str
    source: str = "ask"  # chat, ask, job, serve
    conversation_id: int | None = None
    continue_last: bool = False
    new_conversation: bool = True  # persist the turn (a job or serve request with persist=False does not)
    persist: bool = True
    system: str | None = None
    task: TaskType | str | None = None
    profile: RoutingProfile | str | None = None
    model: str | None = None  # skips routing
    max_tokens: int | None = None
    temperature: float | None = None
    history: tuple[Any, ...] | None = None  # ChatMessage tuples from a caller that keeps its own (serve)


@dataclass
class Attempt:
    provider: str
    model: str
    outcome: str  # ok, incomplete, auth, billing, rate_limit, overloaded, server, timeout, connect, …
    error: str | None
    ms: int

    def as_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model, "outcome": self.outcome, "error": self.error,
                "ms": self.ms}


@dataclass
class Reply:
    text: str = ""
    task: TaskType | None = None
    profile: RoutingProfile | None = None
    provider: str | None = None
    model: str | None = None
    status: str = "failed"  # complete, incomplete, cancelled, failed
    error: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    estimated: bool = False
    cost_usd: float | None = None
    ttft_ms: int | None = None
    total_ms: int = 0
    conversation_id: int | None = None
    message_id: int | None = None
    usage_id: int | None = None
    classification: Classification | None = None
    decision: RoutingDecision | None = None

    @property
    def fallbacks(self) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome not in ("ok", "incomplete", "cancelled")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "task": self.task.value if self.task else None,
            "profile": self.profile.value if self.profile else None, "provider": self.provider,
            "model": self.model, "status": self.status, "error": self.error,
            "attempts": [a.as_dict() for a in self.attempts],
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                      "cost_usd": self.cost_usd, "estimated": self.estimated},
            "ttft_ms": self.ttft_ms, "total_ms": self.total_ms, "conversation_id": self.conversation_id,
        }


# Events streamed to the caller ------------------------------------------------------------------------


@dataclass(slots=True)
class Routed:
    task: TaskType
    profile: RoutingProfile
    classification: Classification | None
    decision: RoutingDecision | None
    conversation_id: int | None


@dataclass(slots=True)
class Trying:
    target: ModelTarget
    index: int


@dataclass(slots=True)
class FellBack:
    attempt: Attempt


@dataclass(slots=True)
class Delta:
    text: str


@dataclass(slots=True)
class Finished:
    reply: Reply


EngineEvent = Routed | Trying | FellBack | Delta | Finished


class Engine:
    def __init__(self, service: RouterService, client: Any = None, *,
                 sleep: Callable[[float], Any] = asyncio.sleep, max_attempts: int = MAX_ATTEMPTS,
                 retry_after_cap: float = RETRY_AFTER_CAP_S):
        self.service = service
        self._client = client
        self._own_client = client is None
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.retry_after_cap = retry_after_cap
        self.interrupted_reply: Reply | None = None  # the partial reply of a turn cancelled mid-stream

    @property
    def client(self) -> Any:
        if self._client is None:
            from .providers import make_client

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
        from .providers import ChatMessage, ChatRequest, ProviderError, TextDelta, Usage, stream_chat

        service = self.service
        started_at = time.perf_counter()
        registry = await service.registry()
        config = await service.get_router_config()
        profile = parse_profile(str(turn.profile)) if turn.profile else config.profile

        conversation_id, history, previous_task, pinned = await self._conversation(turn)
        classification = None
        if turn.task:
            task = parse_task(str(turn.task))
        else:
            from .core.classifier import classify

            classification = classify(turn.prompt, previous=previous_task)
            task = classification.task

        messages = (*history, ChatMessage("user", turn.prompt))
        reserve = turn.max_tokens or DEFAULT_MAX_OUTPUT
        tokens_needed = prompt_tokens(messages, turn.system) + reserve
        availability = await service.live_availability()
        model_name = turn.model or pinned
        if model_name:
            decision = pinned_route(profile, task, model_name, availability, tokens_needed, registry)
        else:
            decision = service.route(profile, task, config, availability, tokens_needed, registry)
            if not decision.candidates and availability.cooling:
                # A cooldown is a preference, not a ban: with nothing else left, try the cooling ones.
                decision = service.route(profile, task, config, replace(availability, cooling=frozenset()),
                                         tokens_needed, registry)

        saved_prompt = None
        if turn.persist and conversation_id is not None:
            # Written while the request goes out, not before it: the prompt is on disk within a
            # millisecond or two, and the first token does not wait for the write. _record awaits it.
            saved_prompt = asyncio.ensure_future(
                service.store.add_message(conversation_id, "user", turn.prompt, task=task.value))
        yield Routed(task, profile, classification, decision, conversation_id)

        reply = Reply(task=task, profile=profile, conversation_id=conversation_id, classification=classification,
                      decision=decision)
        if not decision.candidates and not service.settings.configured():
            reply.error = str(NoProviderConfigured())
            reply.status = "failed"
            await self._record(turn, reply, None, started_at, registry, saved_prompt=saved_prompt)
            yield Finished(reply)
            return

        skip_providers: set[str] = set()
        min_window = 0
        chunks: list[str] = []
        target: ModelTarget | None = None
        try:
            for index, target in enumerate(decision.candidates):
                if len(reply.attempts) >= self.max_attempts:
                    break
                if target.provider in skip_providers:
                    continue
                info = registry.get(target.provider, target.model)
                if min_window and info is not None and (info.context_window or 0) <= min_window:
                    continue
                yield Trying(target, index)
                endpoint = service.endpoint(target.provider)
                max_tokens = turn.max_tokens
                if max_tokens and info is not None and info.max_output:
                    max_tokens = min(max_tokens, info.max_output)  # never ask for more than the model can give
                request = ChatRequest(target.model, messages, turn.system, max_tokens, turn.temperature)
                retried = False
                while True:
                    t0 = time.perf_counter()
                    usage_in = usage_out = None
                    try:
                        # aclosing: a turn cancelled mid-stream closes its HTTP stream now, not at GC.
                        async with aclosing(stream_chat(self.client, endpoint, request)) as events:
                            async for event in events:
                                if type(event) is TextDelta:
                                    if not chunks:
                                        reply.ttft_ms = int((time.perf_counter() - started_at) * 1000)
                                        reply.provider, reply.model = target.provider, target.model
                                    chunks.append(event.text)
                                    yield Delta(event.text)
                                elif type(event) is Usage:
                                    usage_in = event.input_tokens if event.input_tokens is not None else usage_in
                                    usage_out = event.output_tokens if event.output_tokens is not None else usage_out
                    except ProviderError as exc:
                        ms = int((time.perf_counter() - t0) * 1000)
                        # Never let a key or a URL password reach stderr, JSON or the database.
                        exc.message = service.settings.providers[target.provider].scrub(exc.message)
                        if chunks:  # after the first token: keep what arrived, mark it, say so
                            reply.attempts.append(Attempt(target.provider, target.model, "incomplete", exc.message, ms))
                            reply.status = "incomplete"
                            reply.error = f"{target.provider}:{target.model} failed mid-reply: {exc.message}"
                            reply.input_tokens, reply.output_tokens = usage_in, usage_out
                            raise _Done() from None
                        if exc.kind == "rate_limit" and not retried and exc.retry_after is not None \
                                and exc.retry_after <= self.retry_after_cap:
                            reply.attempts.append(Attempt(target.provider, target.model, "rate_limit",
                                                          f"{exc.message} (retrying after {exc.retry_after:g}s)", ms))
                            retried = True
                            await self.sleep(exc.retry_after)
                            continue
                        attempt = Attempt(target.provider, target.model, exc.kind, exc.message, ms)
                        reply.attempts.append(attempt)
                        yield FellBack(attempt)
                        stop = await self._after_failure(exc, target, info, skip_providers)
                        if exc.kind == "context_length":
                            min_window = max(min_window, (info.context_window if info else 0) or 0)
                        if stop:
                            reply.error = f"{target.provider}:{target.model}: {exc.message}"
                            raise _Done() from None
                        break
                    else:
                        ms = int((time.perf_counter() - t0) * 1000)
                        reply.attempts.append(Attempt(target.provider, target.model, "ok", None, ms))
                        reply.provider, reply.model = target.provider, target.model
                        reply.status = "complete"
                        reply.input_tokens, reply.output_tokens = usage_in, usage_out
                        if target.provider in service.troubled:
                            await service.store.record_provider_success(target.provider)
                            service.troubled.discard(target.provider)
                        raise _Done() from None
            reply.error = reply.error or _all_failed_message(reply, decision)
        except _Done:
            pass
        except (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit):
            # Cancelled, interrupted, or the caller stopped reading (closed this generator): keep
            # what arrived, marked cancelled.
            self.interrupted_reply = reply
            reply.status = "cancelled"
            reply.error = "cancelled by the user"
            reply.text = "".join(chunks)
            reply.provider = reply.provider or (target.provider if target and chunks else None)
            reply.model = reply.model or (target.model if target and chunks else None)
            await asyncio.shield(self._record(turn, reply, _target_of(reply, decision), started_at, registry,
                                              messages, saved_prompt))
            raise
        reply.text = "".join(chunks)
        await self._record(turn, reply, _target_of(reply, decision), started_at, registry, messages, saved_prompt)
        yield Finished(reply)

    # helpers ------------------------------------------------------------------------------------------

    async def _conversation(self, turn: Turn) -> tuple[int | None, tuple[Any, ...], TaskType | None, str | None]:
        from .providers import ChatMessage

        store = self.service.store
        if turn.history is not None:
            # A caller that keeps its own conversation (the endpoint): the task of its last user
            # message is the "previous" task a short follow-up keeps.
            previous = None
            last_user = next((m.content for m in reversed(turn.history) if m.role == "user"), None)
            if last_user:
                from .core.classifier import classify

                previous = classify(last_user).task
            return turn.conversation_id, tuple(turn.history), previous, None
        conversation_id = turn.conversation_id
        if conversation_id is None and turn.continue_last:
            conversation_id = await self._last_answered_conversation()
        if conversation_id is None:
            if not turn.persist:
                return None, (), None, None
            title = " ".join(turn.prompt.split())[:60] or "New chat"
            return await store.create_conversation(title), (), None, None
        conversation = await store.conversation(conversation_id)
        if conversation is None:
            raise MesoclawError(f"no conversation {conversation_id}")
        rows = await store.messages(conversation_id, limit=HISTORY_LIMIT)
        history = tuple(ChatMessage(r["role"], r["content"]) for r in answered_turns(rows))
        last_task = conversation.get("last_task")
        previous = TaskType(last_task) if last_task in TaskType._value2member_map_ else None
        return conversation_id, history, previous, conversation.get("model_override")

    async def _last_answered_conversation(self) -> int | None:
        """`--continue`: the newest conversation with at least one reply. A run of failed asks
        (each a conversation with no answer) does not hide the one the user means."""
        store = self.service.store
        conversations = await store.list_conversations(limit=20)
        for conversation in conversations:
            rows = await store.messages(conversation["id"], limit=HISTORY_LIMIT)
            if any(True for _ in answered_turns(rows)):
                return conversation["id"]
        return conversations[0]["id"] if conversations else None

    async def _after_failure(self, exc: Any, target: ModelTarget, info: Any, skip_providers: set[str]) -> bool:
        """Record what a failure before the first token means; True when the turn must stop."""
        store = self.service.store
        kind = exc.kind
        if kind in ("auth", "billing"):
            await store.record_provider_failure(target.provider, exc.message, cooldown_s=0, unusable_s=UNUSABLE_S)
            skip_providers.add(target.provider)
        elif kind == "rate_limit":
            await store.record_provider_failure(target.provider, exc.message, cooldown_s=exc.retry_after)
            skip_providers.add(target.provider)
        elif kind in ("server", "overloaded", "timeout", "connect", "stream_error", "truncated"):
            await store.record_provider_failure(target.provider, exc.message)
            skip_providers.add(target.provider)
        elif kind == "model_not_found" and "model" in exc.message.lower():
            await store.mark_model_unavailable(target.provider, target.model, exc.message, MODEL_MISSING_S)
        elif kind == "model_not_found":
            # A 404 that is not about the model (a wrong base URL, say) is the provider's problem.
            await store.record_provider_failure(target.provider, exc.message)
            skip_providers.add(target.provider)
        elif kind == "bad_request":
            return True
        return False

    async def _record(self, turn: Turn, reply: Reply, target: ModelTarget | None, started_at: float,
                      registry: Registry, messages: tuple[Any, ...] = (),
                      saved_prompt: asyncio.Future[int] | None = None) -> None:
        if saved_prompt is not None:
            await saved_prompt  # the prompt lands before its reply
        reply.total_ms = int((time.perf_counter() - started_at) * 1000)
        if reply.status != "failed" and (reply.input_tokens is None or reply.output_tokens is None):
            reply.estimated = True
            if reply.input_tokens is None:
                reply.input_tokens = prompt_tokens(messages, turn.system)
            if reply.output_tokens is None:
                reply.output_tokens = estimate_tokens(reply.text)
        reply.cost_usd = cost_of(registry, target, reply.input_tokens, reply.output_tokens)
        baseline = cost_of(registry, baseline_target(registry), reply.input_tokens, reply.output_tokens)
        outcome = {"complete": "ok"}.get(reply.status, reply.status)
        usage = {
            "created_at": time.time(), "source": turn.source, "task": reply.task.value if reply.task else None,
            "profile": reply.profile.value if reply.profile else None, "provider": reply.provider,
            "model": reply.model, "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
            "estimated": int(reply.estimated), "cost_usd": reply.cost_usd, "baseline_cost_usd": baseline,
            "ttft_ms": reply.ttft_ms, "total_ms": reply.total_ms, "outcome": outcome,
            "fallbacks": len(reply.fallbacks), "attempts": json.dumps([a.as_dict() for a in reply.attempts]),
            "conversation_id": reply.conversation_id,
        }
        message = None
        if turn.persist and reply.conversation_id is not None and (reply.text or reply.status != "complete"):
            message = {"conversation_id": reply.conversation_id, "role": "assistant", "content": reply.text,
                       "provider": reply.provider, "model": reply.model,
                       "task": reply.task.value if reply.task else None, "status": reply.status,
                       "error": reply.error}
        reply.usage_id, reply.message_id = await self.service.store.record_reply(usage, message)


class _Done(Exception):
    """Leaves the candidate loop once the reply is settled."""


def prompt_tokens(messages: tuple[Any, ...], system: str | None) -> int:
    """Estimated input tokens of a request: its messages and system prompt."""
    return sum(estimate_tokens(m.content) for m in messages) + estimate_tokens(system or "")


def answered_turns(rows: list[dict[str, Any]]):
    """The messages worth sending as context: each user message that got a reply (even a partial
    one) and that reply. A prompt whose every candidate failed is left out, so asking again does
    not send it twice."""
    for user, reply in zip(rows, rows[1:], strict=False):
        if user["role"] != "user" or reply["role"] != "assistant":
            continue
        if reply["content"] and reply["status"] in ("complete", "incomplete", "cancelled"):
            yield user
            yield reply


def _target_of(reply: Reply, decision: RoutingDecision) -> ModelTarget | None:
    if reply.provider is None:
        return None
    return next((c for c in decision.candidates if (c.provider, c.model) == (reply.provider, reply.model)), None)


def _all_failed_message(reply: Reply, decision: RoutingDecision) -> str:
    if not decision.candidates and decision.trace and decision.trace[0].stage == "pinned":
        reasons = "; ".join(f"{e.provider}: {e.reason}" for e in decision.trace)
        return f"{decision.trace[0].name} cannot be used now: {reasons}"
    if not decision.candidates:
        skipped = [e for e in decision.trace if not e.kept][:6]
        lines = "; ".join(f"{e.name} ({e.provider or '-'}): {e.reason}" for e in skipped)
        return f"no available model for {decision.task.value}: {lines}"
    return "every candidate failed: " + "; ".join(
        f"{a.provider}:{a.model} {a.outcome}" + (f" ({a.error})" if a.error else "") for a in reply.attempts)
