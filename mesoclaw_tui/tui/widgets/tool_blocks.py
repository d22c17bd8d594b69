"""An agent step's tool calls, as collapsible blocks under its reply: one line each (the call and
what became of it), and, opened (tab to it, enter), the diff, the arguments and the result.

Everything in a block came from the model, a file, a process or an MCP server: shown as plain text
(never markup) with its control characters made visible, and cut to a size a terminal can show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Collapsible, Static

from .. import format as fmt
from ..safe import neutralise, safe_text
from .messages import RenderOnce, rich_markdown

if TYPE_CHECKING:
    from ...agent.executor import CallOutcome
    from ...providers.base import ToolCall
    from ...service import StepToolCall, TranscriptEntry

MAX_BODY_CHARS = 4_000
MAX_BODY_LINES = 80


@dataclass(frozen=True)
class BlockView:
    """What one block shows: its title line, and its body once opened."""

    title: str
    body: str
    failed: bool = False


def clipped(text: str) -> str:
    lines = text.splitlines()
    shown = "\n".join(lines[:MAX_BODY_LINES])[:MAX_BODY_CHARS]
    left = len(text) - len(shown)
    return shown + (f"\n… {left:,} more characters (the model got them all)" if left > 0 else "")


def _arguments_text(arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return arguments
    return json.dumps(arguments, indent=2, ensure_ascii=False)


def live_view(call: ToolCall, outcome: CallOutcome | None, skipped: str | None = None) -> BlockView:
    """A call of the step that is running (or that just ran)."""
    from ...agent.describe import call_summary, outcome_summary, tool_name
    from ...agent.tools import FileChange

    name = tool_name(outcome, call.name)
    parts = []
    detail = outcome.result.detail if outcome is not None else None
    if isinstance(detail, FileChange):
        parts.append(detail.diff)
    else:
        parts.append("arguments: " + _arguments_text(outcome.arguments if outcome and outcome.arguments
                                                      else call.arguments))
    if outcome is not None:
        parts.append(outcome.result.text)
    elif skipped:
        parts.append(skipped)
    title = f"{call_summary(name, call.arguments)} · {outcome_summary(outcome, skipped)}"
    failed = outcome is None or outcome.result.is_error
    return BlockView(title, clipped("\n".join(parts)), failed)


def running_view(call: ToolCall, name: str) -> BlockView:
    from ...agent.describe import call_summary

    return BlockView(f"{call_summary(name, call.arguments)} · running…", "arguments: " + _arguments_text(call.arguments))


def stored_view(call: StepToolCall) -> BlockView:
    """A call as its step's message stored it."""
    from ...agent.describe import call_summary, stored_outcome_summary

    detail = call.detail or {}
    parts = [str(detail["diff"])] if detail.get("diff") else [
        "arguments: " + _arguments_text(call.ran_arguments if call.ran_arguments is not None else call.arguments)]
    if call.result:
        parts.append(call.result)
    title = f"{call_summary(call.tool or call.name, call.arguments)} · {stored_outcome_summary(call)}"
    return BlockView(title, clipped("\n".join(parts)), call.is_error or call.status in ("denied", "skipped"))


class ToolBlock(Collapsible):
    """One call: collapsed to its line; opened, its body."""

    DEFAULT_CSS = """
    ToolBlock { border: none; padding: 0; margin: 0; background: transparent; height: auto; }
    ToolBlock > Contents { padding: 0 0 0 2; height: auto; }
    ToolBlock CollapsibleTitle { padding: 0; color: $text-muted; }
    ToolBlock.-failed CollapsibleTitle { color: $text-warning; }
    ToolBlock .body { color: $text-muted; height: auto; }
    """

    def __init__(self, view: BlockView, **kwargs: Any) -> None:
        self._body = Static(safe_text(view.body), classes="body", markup=False)
        super().__init__(self._body, title=Content(neutralise(view.title)), collapsed=True, **kwargs)
        self.set_class(view.failed, "-failed")

    def show(self, view: BlockView) -> None:
        self.title = Content(neutralise(view.title))  # type: ignore[assignment]
        self._body.update(safe_text(view.body))
        self.set_class(view.failed, "-failed")


class StoredStep(Vertical):
    """A stored agent step: its reply (text, error, label with the step and its model) and its calls."""

    DEFAULT_CSS = """
    StoredStep {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 0 0 1;
        border-left: tall $success 60%;
    }
    StoredStep.-cancelled, StoredStep.-incomplete { border-left: tall $warning; }
    StoredStep.-failed { border-left: tall $error; }
    """

    def __init__(self, entry: TranscriptEntry) -> None:
        super().__init__()
        self.entry = entry
        self.message_id: int | None = entry.id
        self.status = entry.status
        self.set_class(entry.status in ("cancelled", "incomplete", "failed"), f"-{entry.status}")

    @property
    def text(self) -> str:
        return self.entry.content or ""

    def compose(self) -> ComposeResult:
        from rich.console import Group

        entry = self.entry
        if entry.content:
            yield RenderOnce(rich_markdown(entry.content))
        for call in entry.tool_calls:
            yield ToolBlock(stored_view(call))
        error = fmt.failure_text(entry.error, entry.attempts) if entry.status == "failed" else entry.error
        parts = [safe_text(error, style=fmt.colour("red"))] if error else []
        style = fmt.colour("yellow") if entry.status in ("cancelled", "incomplete") else "dim"
        parts.append(safe_text(step_label(entry.agent_step, fmt.stored_label(entry)), style=style))
        yield RenderOnce(Group(*parts))


def step_label(step: int | None, label: str) -> str:
    return f"step {step} · {label}" if step else label


async def add_block(view: Any, block: ToolBlock) -> None:
    """Mount a block in a streaming reply (an AssistantMessage), above its error and label."""
    await view.mount(block, before=view.query_one(".error"))
