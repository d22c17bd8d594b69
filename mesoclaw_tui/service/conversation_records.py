"""Conversations, their messages and the usage of each reply, as the service hands them out and takes
them in: dataclasses, never rows. Rows become these values at the service's edge, so a face never
depends on a column name and the store stays free to change its SQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.types import TaskType

if TYPE_CHECKING:
    from .agent_records import StepToolCall

# conversations ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatSettings:
    """What a conversation keeps for every turn: its system prompt (sent with each) and, from a preset
    (named in `preset`), a profile or a model and generation settings. None: not set (the active
    profile routes; the model's own defaults)."""

    system: str | None = None
    profile: str | None = None
    model: str | None = None  # pinned: it answers every message (the router is bypassed)
    temperature: float | None = None
    max_tokens: int | None = None
    preset: str | None = None

    def columns(self) -> dict[str, Any]:
        """As the conversation's columns (the model is its model_override)."""
        return {"system_prompt": self.system, "preset": self.preset, "profile": self.profile,
                "model_override": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens}


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    last_task: str | None = None
    model_override: str | None = None  # a model pinned for the whole conversation
    created_at: str = ""
    updated_at: str = ""
    message_count: int = 0  # filled by list_conversations only
    system_prompt: str | None = None  # sent with every turn
    preset: str | None = None  # the preset last applied, by name
    profile: str | None = None  # from a preset: this profile routes the conversation (None: the active one)
    temperature: float | None = None
    max_tokens: int | None = None

    @property
    def previous_task(self) -> TaskType | None:
        """The task of the last reply, which a short follow-up keeps."""
        return TaskType(self.last_task) if self.last_task in TaskType._value2member_map_ else None

    @property
    def settings(self) -> ChatSettings:
        return ChatSettings(self.system_prompt, self.profile, self.model_override, self.temperature, self.max_tokens,
                            self.preset)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Conversation:
        def get(name: str) -> Any:
            return row[name] if name in row.keys() else None

        return cls(row["id"], row["title"], row["last_task"], row["model_override"], str(row["created_at"] or ""),
                   str(row["updated_at"] or ""), get("message_count") or 0, get("system_prompt"), get("preset"),
                   get("profile"), get("temperature"), get("max_tokens"))


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    role: str  # system, user, assistant
    content: str
    provider: str | None = None
    model: str | None = None
    task: str | None = None
    status: str = "complete"  # complete, incomplete, cancelled, failed
    error: str | None = None
    usage_id: int | None = None
    created_at: str = ""
    agent_step: int | None = None  # a step of an agent run: its number within the run
    tool_calls: tuple[StepToolCall, ...] = ()  # the calls that step made, and what became of them

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Message:
        return cls(row["id"], row["conversation_id"], row["role"], row["content"], row["provider"], row["model"],
                   row["task"], row["status"] or "complete", row["error"], row["usage_id"],
                   str(row["created_at"] or ""), row.get("agent_step"), _tool_calls(row.get("tool_calls")))


def _tool_calls(raw: Any) -> tuple[StepToolCall, ...]:
    if not raw:
        return ()
    from .agent_records import parse_tool_calls

    return parse_tool_calls(raw)


def answered_turns(messages: list[Message]) -> list[Message]:
    """The messages worth sending as context: each user message that got a reply (even a partial
    one) and that reply. A prompt whose every candidate failed is left out, so asking again does
    not send it twice. After an agent run's goal come its steps: the last with text is its answer
    (the tool calls and results on the way are not sent again)."""
    turns: list[Message] = []
    for index, user in enumerate(messages):
        if user.role != "user":
            continue
        reply = None
        for following in messages[index + 1:]:
            if following.role != "assistant":
                break
            if following.content and following.status in ("complete", "incomplete", "cancelled"):
                reply = following
        if reply is not None:
            turns += (user, reply)
    return turns


def _attempts(raw: Any) -> tuple[dict[str, Any], ...]:
    if not raw:
        return ()
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return ()
    return tuple(a for a in value if isinstance(a, dict)) if isinstance(value, list) else ()


@dataclass(frozen=True)
class TranscriptEntry:
    """One message as the chat shows it, with its reply's usage (tokens, cost, attempts)."""

    id: int
    role: str
    content: str
    provider: str | None = None
    model: str | None = None
    task: str | None = None
    status: str = "complete"
    error: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    estimated: bool = False
    cost_usd: float | None = None
    attempts: tuple[dict[str, Any], ...] = ()
    agent_step: int | None = None  # a step of an agent run: its number within the run
    tool_calls: tuple[StepToolCall, ...] = ()
    # Of a group of alternatives: which one this is (1-based) and how many there are; (0, 0) otherwise.
    alternative: tuple[int, int] = (0, 0)
    alt_group: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TranscriptEntry:
        return cls(row["id"], row["role"], row["content"], row["provider"], row["model"], row["task"],
                   row["status"] or "complete", row["error"], row["input_tokens"], row["output_tokens"],
                   bool(row["estimated"]), row["cost_usd"], _attempts(row["attempts"]), row.get("agent_step"),
                   _tool_calls(row.get("tool_calls")), alt_group=row["alt_group"] if "alt_group" in row.keys() else None)


@dataclass(frozen=True)
class TranscriptPage:
    entries: list[TranscriptEntry]
    has_older: bool  # messages before the first entry remain


# usage ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageRecord:
    """One reply (or failed request): what it cost and how it went."""

    source: str  # chat, ask, job, serve
    created_at: float  # unix time
    outcome: str = "ok"  # ok, incomplete, cancelled, failed
    task: str | None = None
    profile: str | None = None
    provider: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    estimated: bool = False
    cost_usd: float | None = None  # None when the model's price is unknown (never a silent $0)
    baseline_cost_usd: float | None = None
    ttft_ms: int | None = None
    total_ms: int | None = None
    fallbacks: int = 0
    attempts: tuple[dict[str, Any], ...] = ()
    conversation_id: int | None = None
    id: int | None = None  # set once stored

    def columns(self) -> dict[str, Any]:
        return {
            "created_at": self.created_at, "source": self.source, "task": self.task, "profile": self.profile,
            "provider": self.provider, "model": self.model, "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens, "estimated": int(self.estimated), "cost_usd": self.cost_usd,
            "baseline_cost_usd": self.baseline_cost_usd, "ttft_ms": self.ttft_ms, "total_ms": self.total_ms,
            "outcome": self.outcome, "fallbacks": self.fallbacks, "attempts": json.dumps(list(self.attempts)),
            "conversation_id": self.conversation_id,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> UsageRecord:
        return cls(row["source"], row["created_at"], row["outcome"], row["task"], row["profile"], row["provider"],
                   row["model"], row["input_tokens"], row["output_tokens"], bool(row["estimated"]),
                   row["cost_usd"], row["baseline_cost_usd"], row["ttft_ms"], row["total_ms"],
                   row["fallbacks"] or 0, _attempts(row["attempts"]), row["conversation_id"], row["id"])


@dataclass(frozen=True)
class ReplyMessage:
    """The assistant message of a reply, stored with its usage row."""

    conversation_id: int
    content: str
    status: str = "complete"
    provider: str | None = None
    model: str | None = None
    task: str | None = None
    error: str | None = None
    reply_to: int | None = None  # its prompt's id: the reply joins the prompt's group of alternatives

    def columns(self) -> dict[str, Any]:
        columns = {"conversation_id": self.conversation_id, "role": "assistant", "content": self.content,
                   "provider": self.provider, "model": self.model, "task": self.task, "status": self.status,
                   "error": self.error}
        return columns | ({"reply_to": self.reply_to} if self.reply_to is not None else {})


@dataclass(frozen=True)
class RecordedReply:
    usage_id: int | None  # None when the database could not take the reply (it was logged)
    message_id: int | None


@dataclass(frozen=True)
class ProviderFailure:
    """What recording a provider's failure did: its failure count and how long it cools down."""

    failures: int
    cooldown_s: float | None
