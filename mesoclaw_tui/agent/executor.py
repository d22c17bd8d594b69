"""One tool call from the model to its result: check, rule, ask, run.

Nothing runs that the user did not approve, directly (an Approver's answer) or by rule
(ApprovalRules). Every way a call can go wrong ends in a `CallOutcome` whose result the
model reads; only cancellation (the user stopping the run) propagates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .approval import (
    ApprovalAnswer,
    ApprovalPolicy,
    ApprovalRequest,
    Approver,
    Decision,
    Ruling,
    Verdict,
    always_scope,
    denial_text,
)
from .registry import CheckedCall, ToolRegistry
from .tools import Tool, ToolPreview, ToolResult, ToolSpec

# Past this the model gets the head of a result and a note; tools cap their own output below it.
MAX_RESULT_CHARS = 200_000


class CallStatus(StrEnum):
    RAN = "ran"
    DENIED = "denied"  # by the user, or because nobody could approve
    INVALID = "invalid"  # unknown tool, bad arguments, or a call that cannot succeed: nothing ran


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """One call as the loop records it and a face shows it."""

    call_id: str
    name: str  # the wire name the model used
    spec: ToolSpec | None  # None for an unknown tool
    arguments: Mapping[str, Any] | None  # what ran: the user's edit when they edited
    status: CallStatus
    result: ToolResult  # what goes back to the model
    ruling: Ruling | None = None
    answer: ApprovalAnswer | None = None  # the user's answer, when they were asked
    seconds: float = 0.0  # the tool's own run time

    @property
    def ran(self) -> bool:
        return self.status is CallStatus.RAN


class ToolExecutor:
    """Runs the model's calls for one run; `approver` is None where nobody can be asked."""

    def __init__(self, registry: ToolRegistry, policy: ApprovalPolicy | None = None,
                 approver: Approver | None = None) -> None:
        self.registry = registry
        self.policy = policy or ApprovalPolicy()
        self.approver = approver

    async def execute_all(self, calls: Sequence[tuple[str, str, str | Mapping[str, Any] | None]]
                          ) -> list[CallOutcome]:
        """(call_id, name, arguments) in the model's order, one after another: two writes to
        one file, or a write and a command reading it, must not race."""
        return [await self.execute(name, arguments, call_id) for call_id, name, arguments in calls]

    async def execute(self, name: str, arguments: str | Mapping[str, Any] | None,
                      call_id: str = "") -> CallOutcome:
        checked = self.registry.check(name, arguments)
        if isinstance(checked, ToolResult):
            spec = self.registry.get(name).spec if name in self.registry else None
            return CallOutcome(call_id, name, spec, None, CallStatus.INVALID, checked)
        spec, args = checked.tool.spec, checked.arguments
        ruling = self.policy.decide(spec, args, can_ask=self.approver is not None)
        if ruling.verdict.runs_without_asking:
            return await self._run(call_id, checked, ruling, None)
        if ruling.verdict is Verdict.DENY or self.approver is None:
            return CallOutcome(call_id, name, spec, args, CallStatus.DENIED,
                               ToolResult.error(denial_text(spec, ruling)), ruling)
        preview = await _preview(checked.tool, args)
        if preview.error:  # it cannot succeed: nothing to ask about
            return CallOutcome(call_id, name, spec, args, CallStatus.INVALID,
                               ToolResult.error(preview.error), ruling)
        answer = await self._ask(ApprovalRequest(call_id, spec, args, preview.summary, preview.diff,
                                                 always_scope(spec)))
        return await self._answered(call_id, checked, ruling, answer)

    async def _ask(self, request: ApprovalRequest) -> ApprovalAnswer:
        assert self.approver is not None
        try:
            return await self.approver.ask(request)
        except Exception as exc:  # a prompt that broke (closed terminal) is no approval
            return ApprovalAnswer(Decision.DENY, reason=f"(the approval prompt failed: {exc})")

    async def _answered(self, call_id: str, checked: CheckedCall, ruling: Ruling,
                        answer: ApprovalAnswer) -> CallOutcome:
        spec, args = checked.tool.spec, checked.arguments
        if answer.decision is Decision.DENY:
            return CallOutcome(call_id, spec.wire_name, spec, args, CallStatus.DENIED,
                               ToolResult.error(denial_text(spec, answer)), ruling, answer)
        if answer.decision is Decision.APPROVE_ALWAYS:
            self.policy.remember(spec, args)
        if answer.decision is Decision.EDIT:
            assert answer.arguments is not None
            edited = dict(answer.arguments)
            problem = self.registry.schema_problem(spec, edited)
            if problem:
                return CallOutcome(call_id, spec.wire_name, spec, edited, CallStatus.INVALID,
                                   ToolResult.error(f"the user's edited arguments are invalid: {problem}"),
                                   ruling, answer)
            checked = CheckedCall(checked.tool, edited)
        return await self._run(call_id, checked, ruling, answer)

    async def _run(self, call_id: str, checked: CheckedCall, ruling: Ruling,
                   answer: ApprovalAnswer | None) -> CallOutcome:
        tool, args = checked.tool, checked.arguments
        started = time.perf_counter()
        try:
            result = await tool.run(args)
        except Exception as exc:  # a tool's bug must not end the run: the model reads it
            result = ToolResult.error(f"{tool.spec.display_name} failed: {type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - started
        if answer is not None and answer.decision is Decision.EDIT:
            note = f"(The user edited the arguments before it ran: {json.dumps(args, ensure_ascii=False)})\n"
            result = ToolResult(note + result.text, result.is_error, result.detail)
        return CallOutcome(call_id, tool.spec.wire_name, tool.spec, args, CallStatus.RAN,
                           _capped(result), ruling, answer, seconds)


async def _preview(tool: Tool, arguments: dict[str, Any]) -> ToolPreview:
    try:
        return await tool.preview(arguments)
    except Exception as exc:
        return ToolPreview(summary=tool.spec.display_name,
                           error=f"{tool.spec.display_name} failed: {type(exc).__name__}: {exc}")


def _capped(result: ToolResult) -> ToolResult:
    if len(result.text) <= MAX_RESULT_CHARS:
        return result
    dropped = len(result.text) - MAX_RESULT_CHARS
    return ToolResult(result.text[:MAX_RESULT_CHARS] + f"\n[… {dropped:,} more characters left out]",
                      result.is_error, result.detail)
