"""One line for a tool call and one for what became of it, the same in every face (the CLI's
progress lines, the app's tool blocks, a scheduled run's output).

The text is the model's and the tools': faces neutralise it before it reaches a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .executor import CallOutcome, CallStatus
from .registry import parse_arguments
from .tools import CommandRun, FileChange, ToolResult

if TYPE_CHECKING:
    from ..service.agent_records import StepToolCall

MAX_SHOWN = 120  # characters of an argument in a one-line summary


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def call_summary(tool: str, arguments: str | Mapping[str, Any] | None) -> str:
    """`$ git status`, `read_file src/app.py:10-40`, `search 'TODO' in src`, `github.create_issue {…}`."""
    args = parse_arguments(arguments)
    if isinstance(args, ToolResult):  # not JSON: shown as it came
        return f"{tool} {clip(str(arguments))}"
    path = args.get("path")
    if tool == "run_command":
        command = args.get("command")
        if isinstance(command, str):
            return "$ " + clip(command)
        argv = args.get("argv")
        if isinstance(argv, list):
            import shlex

            return "$ " + clip(shlex.join(str(a) for a in argv))
    elif tool == "read_file" and isinstance(path, str):
        start, end = args.get("start_line"), args.get("end_line")
        lines = f":{start or 1}-{end or ''}" if start or end else ""
        return f"read_file {clip(path)}{lines}"
    elif tool in ("write_file", "edit_file", "list_dir") and isinstance(path, str):
        return f"{tool} {clip(path)}"
    elif tool == "search" and isinstance(args.get("pattern"), str):
        return f"search {clip(repr(args['pattern']), 60)} in {clip(str(path or '.'), 60)}"
    shown = json.dumps(args, ensure_ascii=False) if args else ""
    return f"{tool} {clip(shown)}".rstrip()


def outcome_summary(outcome: CallOutcome | None, skipped: str | None = None) -> str:
    """`ran`, `ran: exit code 1`, `error: … does not exist`, `denied by you`, `not run: …`."""
    if outcome is None:
        return clip(skipped or "not run")
    result = outcome.result
    first = result.text.strip().splitlines()[0] if result.text.strip() else ""
    if outcome.status is CallStatus.DENIED:
        return "denied by you" if outcome.answer is not None else "denied: nobody can approve it here"
    if outcome.status is CallStatus.INVALID:
        return "not run: " + clip(first)
    detail = result.detail
    edited = " (edited)" if outcome.answer is not None and outcome.answer.arguments is not None else ""
    if isinstance(detail, CommandRun):
        state = "timed out" if detail.timed_out else f"exit code {detail.exit_code}"
        return f"ran{edited}: {state}"
    if isinstance(detail, FileChange):
        return f"ran{edited}: {'created' if detail.created else 'changed'} {clip(detail.path)}"
    if result.is_error:
        return f"error{edited}: {clip(first)}"
    return f"ran{edited}"


def tool_name(outcome: CallOutcome | None, fallback: str) -> str:
    return outcome.spec.display_name if outcome is not None and outcome.spec is not None else fallback


def stored_outcome_summary(call: StepToolCall) -> str:
    """`outcome_summary` for a call as a step's message stores it."""
    detail = call.detail or {}
    edited = " (edited)" if call.ran_arguments is not None else ""
    first = call.result.strip().splitlines()[0] if call.result and call.result.strip() else ""
    if call.status in ("pending", "skipped"):
        return clip(call.result or "not run") if call.status == "skipped" else "running…"
    if call.status == "denied":
        return "denied by you" if call.answer else "denied: nobody can approve it here"
    if call.status == "invalid":
        return "not run: " + clip(first)
    if "exit_code" in detail or detail.get("timed_out"):
        return f"ran{edited}: " + ("timed out" if detail.get("timed_out") else f"exit code {detail.get('exit_code')}")
    if "diff" in detail:
        return f"ran{edited}: {'created' if detail.get('created') else 'changed'} {clip(str(detail.get('path')))}"
    return f"error{edited}: {clip(first)}" if call.is_error else f"ran{edited}"
