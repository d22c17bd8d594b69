"""An agent run's records as the service stores and hands them out: a step's tool calls (kept as JSON
on the step's message), the step itself, and an agent job's settings (JSON on the job's row).

Every string in a tool call (its arguments, its result) came from the model, a file, a process or
an MCP server: stored exact, neutralised by whichever face shows it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# What became of a call: pending (the step is recorded, the call not yet run), ran, denied (by the
# user or because nobody could approve it), invalid (unknown tool, bad arguments: nothing ran), or
# skipped (the run stopped before it: a limit, the user).
CALL_STATUSES = ("pending", "ran", "denied", "invalid", "skipped")


@dataclass(frozen=True)
class StepToolCall:
    id: str
    name: str  # as the model called it (the wire name)
    arguments: str  # JSON text, exactly as the model sent it
    tool: str | None = None  # as the user names it ("run_command", "github.create_issue"); None: unknown
    status: str = "pending"
    result: str | None = None  # what the model was given back
    is_error: bool = False
    ruling: str | None = None  # why it ran or not: "--yes", "approved by the user", "needs approval …"
    answer: str | None = None  # the user's answer when asked: approve, approve_always, deny, edit
    ran_arguments: Any = None  # the arguments it ran with, when the user edited them
    seconds: float | None = None
    detail: Mapping[str, Any] | None = None  # a write's diff, a command's exit code, an MCP structured result

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "tool": self.tool, "arguments": self.arguments,
                "status": self.status, "result": self.result, "is_error": self.is_error, "ruling": self.ruling,
                "answer": self.answer, "ran_arguments": self.ran_arguments, "seconds": self.seconds,
                "detail": dict(self.detail) if self.detail is not None else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepToolCall:
        status = data.get("status")
        detail = data.get("detail")
        return cls(str(data.get("id") or ""), str(data.get("name") or ""), str(data.get("arguments") or "{}"),
                   data.get("tool") if isinstance(data.get("tool"), str) else None,
                   status if status in CALL_STATUSES else "pending",
                   data.get("result") if isinstance(data.get("result"), str) else None,
                   bool(data.get("is_error")), _str_or_none(data.get("ruling")), _str_or_none(data.get("answer")),
                   data.get("ran_arguments"), _number_or_none(data.get("seconds")),
                   detail if isinstance(detail, dict) else None)


def dump_tool_calls(calls: Sequence[StepToolCall]) -> str:
    return json.dumps([c.as_dict() for c in calls], ensure_ascii=False)


def parse_tool_calls(raw: Any) -> tuple[StepToolCall, ...]:
    """A step's stored calls; () for a message that is no step or a column that is not our JSON."""
    if not raw:
        return ()
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    return tuple(StepToolCall.from_dict(item) for item in value if isinstance(item, dict))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class AgentStep:
    """One step of a run, stored as an assistant message of its conversation."""

    conversation_id: int
    step: int  # 1, 2, … within its run
    content: str  # the reply's text (often empty when it only calls tools)
    status: str = "complete"  # as for any reply; a run stopped at a limit marks its last step incomplete
    provider: str | None = None
    model: str | None = None
    task: str | None = None
    error: str | None = None
    usage_id: int | None = None  # the engine's usage row of this step's reply: tokens, cost, attempts
    tool_calls: tuple[StepToolCall, ...] = ()

    def columns(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "role": "assistant", "content": self.content,
                "provider": self.provider, "model": self.model, "task": self.task, "status": self.status,
                "error": self.error, "usage_id": self.usage_id, "agent_step": self.step,
                "tool_calls": dump_tool_calls(self.tool_calls) if self.tool_calls else None}


@dataclass(frozen=True)
class AgentJobSettings:
    """What an agent job runs with: the tools it may use without asking (nobody is there to ask),
    the directory it works in, and its limits (None: config's [agent] values, then the defaults)."""

    cwd: str
    allow: tuple[str, ...] = ()
    max_steps: int | None = None
    max_cost: float | None = None
    timeout: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)  # keys a newer mesoclaw wrote

    def dump(self) -> str:
        return json.dumps({**self.extra, "cwd": self.cwd, "allow": list(self.allow), "max_steps": self.max_steps,
                           "max_cost": self.max_cost, "timeout": self.timeout}, ensure_ascii=False)

    def as_dict(self) -> dict[str, Any]:
        return {"cwd": self.cwd, "allow": list(self.allow), "max_steps": self.max_steps,
                "max_cost": self.max_cost, "timeout": self.timeout}

    @classmethod
    def parse(cls, raw: str | None) -> AgentJobSettings | None:
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        allow = data.get("allow")
        steps = data.get("max_steps")
        known = {"cwd", "allow", "max_steps", "max_cost", "timeout"}
        return cls(str(data.get("cwd") or "."),
                   tuple(a for a in allow if isinstance(a, str)) if isinstance(allow, list) else (),
                   steps if isinstance(steps, int) and not isinstance(steps, bool) and steps > 0 else None,
                   _positive(data.get("max_cost")), _positive(data.get("timeout")),
                   {k: v for k, v in data.items() if k not in known})


def _positive(value: Any) -> float | None:
    number = _number_or_none(value)
    return number if number is not None and number > 0 else None
