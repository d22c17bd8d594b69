"""What goes into the engine (a Turn), what comes out (events, then a Reply), and each Attempt.

The provider vocabulary a Turn carries (ChatMessage, Tool, ToolChoice, ResponseFormat, ToolCall) is
`providers.base`'s; it is named here only for type checkers, so importing the engine's types loads
neither the providers nor httpx.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.failures import FailureKind, reply_status
from ..core.types import Capability, Classification, ModelTarget, RoutingDecision, RoutingProfile, TaskType

if TYPE_CHECKING:
    from ..core.budget import Verdict
    from ..providers.base import ChatMessage, Content, ResponseFormat, Tool, ToolCall, ToolChoice
    from ..service.preset_records import Preset

_ANSWERED = frozenset({"ok", "incomplete", "cancelled", "too_large"})  # outcomes of an answer, not a fallback


@dataclass(frozen=True)
class Turn:
    """What the caller asks for.

    `prompt` is the user's text: it is classified, stored, and names a new conversation. Sent to
    the model is, by default, the stored conversation followed by the prompt (as `content` when it
    has images or other parts beside its text). A caller that keeps its own conversation (serve, an
    agent loop) gives `messages`, the whole of it, sent as it is: it may end with tool results
    rather than a user message, and `prompt` is then its last user text.

    A stored conversation keeps its system prompt (and a preset's profile, model and generation
    settings): what a turn does not give, the conversation it continues does. A turn's `system` is
    kept by the conversation from then on; so is the whole of its `preset` (replacing what the
    conversation kept). Its other settings are its own.

    `alternative_of` (a user message id) re-asks the conversation's last exchange, which starts at
    that message: it is sent without that exchange as context, and once the prompt is stored the
    exchange is kept as an alternative, hidden, and the new one shown.
    """

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
    messages: tuple[ChatMessage, ...] | None = None  # the whole conversation, from a caller that keeps its own
    content: Content | None = None  # the prompt with its parts (text, images), when it has more than text
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    # The message to store with the reply's usage row, in the same write, instead of the usual one
    # (an agent run's step, with its number and tool calls); None from it stores none.
    reply_message: Callable[[Reply], Any] | None = None
    preset: Preset | None = None  # applied to the conversation, which keeps it
    alternative_of: int | None = None  # re-ask the last exchange (its first user message id)


@dataclass
class Attempt:
    """One request to one target. A 429 waited out and retried is two attempts at the same target."""

    number: int  # 1, 2, … in the order they were made
    provider: str
    model: str
    outcome: str  # ok, incomplete, cancelled, or a provider error kind: auth, rate_limit, server, timeout, …
    error: str | None
    ms: int
    retried: bool = False  # the same target was tried again after it (not a fallback)
    finish_reason: str | None = None  # an answer's: stop, length, tool_calls or content_filter

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "provider": self.provider, "model": self.model, "outcome": self.outcome,
                "error": self.error, "ms": self.ms, "retried": self.retried, "finish_reason": self.finish_reason}


@dataclass
class Reply:
    text: str = ""
    task: TaskType | None = None
    profile: RoutingProfile | None = None
    provider: str | None = None
    model: str | None = None
    failure: FailureKind | None = None  # None: complete. Set once, when the engine settles the reply
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
    tool_calls: tuple[ToolCall, ...] = ()  # the calls the model made, assembled, in order
    # Why the answer ended (stop, length, tool_calls, content_filter), as the provider said it in
    # common terms; None when no answer ended (a failure). `length` is a complete reply by the
    # provider's account but not a whole answer: the faces say so.
    finish_reason: str | None = None
    missing: tuple[Capability, ...] = ()  # with MISSING_CAPABILITY: what no available model has
    # The budgets' verdict before the request (None: no budget set): a warning near a limit, a
    # downgrade to eco, or the refusal (BUDGET_EXCEEDED). Its message() says which.
    budget: Verdict | None = None

    @property
    def status(self) -> str:
        """complete, incomplete, cancelled or failed (as stored with the message)."""
        return reply_status(self.failure)

    @property
    def fallbacks(self) -> list[Attempt]:
        """The candidates given up on before the answer: failed attempts that were not retried."""
        return [a for a in self.attempts if a.outcome not in _ANSWERED and not a.retried]

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "task": self.task.value if self.task else None,
            "profile": self.profile.value if self.profile else None, "provider": self.provider,
            "model": self.model, "status": self.status, "failure": self.failure.value if self.failure else None,
            "error": self.error, "attempts": [a.as_dict() for a in self.attempts],
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                      "cost_usd": self.cost_usd, "estimated": self.estimated},
            "ttft_ms": self.ttft_ms, "total_ms": self.total_ms, "conversation_id": self.conversation_id,
            "finish_reason": self.finish_reason,
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls],
            "budget": self.budget.message() if self.budget is not None else None,
        }


# Events streamed to the caller ------------------------------------------------------------------------


@dataclass(slots=True)
class Routed:
    task: TaskType
    profile: RoutingProfile
    classification: Classification | None
    decision: RoutingDecision | None
    conversation_id: int | None
    budget: Verdict | None = None  # as Reply.budget, known before the first request


@dataclass(slots=True)
class Trying:
    target: ModelTarget
    index: int


@dataclass(slots=True)
class Retrying:
    """A short 429: the engine waits `delay_s` and tries the same target again (attempt number + 1)."""

    attempt: Attempt
    delay_s: float


@dataclass(slots=True)
class FellBack:
    """A candidate failed before its first token; the engine moves on (or stops, for a bad request)."""

    attempt: Attempt


@dataclass(slots=True)
class Delta:
    text: str


@dataclass(slots=True)
class ToolDelta:
    """A piece of a tool call the model is making, as it streams: `index` numbers the reply's calls
    (0, 1, …); the call's first piece carries its `id` and `name`, later ones None there and a
    fragment of the JSON `arguments` (concatenated in order). Reply.tool_calls has them whole."""

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(slots=True)
class Finished:
    reply: Reply


EngineEvent = Routed | Trying | Retrying | FellBack | Delta | ToolDelta | Finished
