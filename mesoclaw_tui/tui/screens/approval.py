"""The approval dialog of an agent run: the command or the diff a call would make, and the answer.

    a approve · l always (for the rest of this run) · d deny (with a reason) · e edit · esc deny

What it shows came from the model (the command, the content, an MCP tool's arguments): plain text,
its control characters made visible. Dismissed with an `ApprovalAnswer`; nothing runs unless it
is APPROVE, APPROVE_ALWAYS or EDIT.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static, TextArea

from ...agent.approval import ApprovalAnswer, ApprovalRequest, Decision
from .. import format as fmt
from ..safe import neutralise, safe_text
from ..widgets.fields import Field, TextField
from .dialogs import Dialog

MAX_SHOWN_LINES = 500
EDITED_FIELDS = {"write_file": "content", "edit_file": "new_string"}


def shown_change(request: ApprovalRequest) -> Text:
    """The diff (coloured by line) or the arguments, neutralised."""
    if request.diff:
        text = Text()
        lines = request.diff.splitlines()
        styles = {"+": "green", "-": "red", "@": "cyan"}
        for line in lines[:MAX_SHOWN_LINES]:
            style = "bold" if line.startswith(("+++", "---")) else styles.get(line[:1], "")
            text.append(neutralise(line) + "\n", style=fmt.colour(style) if style != "bold" else style)
        if len(lines) > MAX_SHOWN_LINES:
            text.append(f"… {len(lines) - MAX_SHOWN_LINES} more lines", style="dim")
        return text
    if request.tool.display_name == "run_command":
        return Text(neutralise("$ " + request.summary.removeprefix("run: ")), style="bold")
    return safe_text(json.dumps(dict(request.arguments), indent=2, ensure_ascii=False))


class ApprovalDialog(Dialog):
    AUTO_FOCUS = ""  # nothing: the keys a, l, d, e answer; there is nothing to type into until d or e
    DEFAULT_CSS = """
    ApprovalDialog > #dialog { width: 100; }
    ApprovalDialog #change { height: auto; max-height: 16; background: $boost; padding: 0 1; margin: 0 0 1 0; }
    ApprovalDialog #reason, ApprovalDialog #command { margin: 0 0 1 0; background: $boost; }
    ApprovalDialog #editor { height: 12; margin: 0 0 1 0; }
    """
    BINDINGS = [
        Binding("a", "answer('approve')", "Approve"),
        Binding("l", "answer('approve_always')", "Always"),
        Binding("d", "deny", "Deny"),
        Binding("e", "edit", "Edit"),
        Binding("ctrl+s", "submit_edit", "Run edited", show=False, priority=True),
        Binding("escape", "back", "Deny", priority=True),
    ]

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request
        self.mode = "choose"  # choose, deny (a reason), edit

    def compose(self) -> ComposeResult:
        request = self.request
        with Vertical(id="dialog"):
            yield Static(safe_text(f"{request.tool.display_name} needs your approval"), classes="title",
                         markup=False)
            yield Static(safe_text(request.summary), markup=False)
            with VerticalScroll(id="change", can_focus=False):
                yield Static(shown_change(request), markup=False)
            hidden = [Field(placeholder="why, for the model (enter denies; may be empty)", id="reason", compact=True),
                      Field(id="command", compact=True), TextField(id="editor", soft_wrap=True, show_line_numbers=False),
                      Static(id="error", classes="error")]
            for widget in hidden:  # shown by d (a reason) and e (the edit)
                widget.display = False
                yield widget
            yield Static(safe_text(f"a approve · l always ({request.always_scope}) · d deny · e edit · esc deny"),
                         id="hint", classes="hint", markup=False)

    def action_answer(self, decision: str) -> None:
        if self.mode == "choose":
            self.dismiss(ApprovalAnswer(Decision(decision)))

    def action_deny(self) -> None:
        if self.mode != "choose":
            return
        self.mode = "deny"
        reason = self.query_one("#reason", Input)
        reason.display = True
        reason.focus()
        self._hint("enter deny · esc back")

    def action_edit(self) -> None:
        if self.mode != "choose":
            return
        self.mode = "edit"
        name = self.request.tool.display_name
        if name == "run_command":
            box = self.query_one("#command", Input)
            box.value = neutralise(self.request.summary.removeprefix("run: "))
            self._hint("enter run this command instead · esc back")
        else:
            box = self.query_one("#editor", TextArea)
            field = EDITED_FIELDS.get(name)
            value = self.request.arguments.get(field) if field else None
            box.text = value if isinstance(value, str) else json.dumps(dict(self.request.arguments), indent=2,
                                                                       ensure_ascii=False)
            self._hint("ctrl+s run it as edited · esc back")
        box.display = True
        box.focus()

    def action_back(self) -> None:
        """esc: back to the choice from a reason or an edit; at the choice, deny."""
        if self.mode == "choose":
            self.dismiss(ApprovalAnswer(Decision.DENY))
            return
        self.mode = "choose"
        for widget in ("#reason", "#command", "#editor", "#error"):
            self.query_one(widget).display = False
        self._hint(f"a approve · l always ({self.request.always_scope}) · d deny · e edit · esc deny")

    @on(Input.Submitted, "#reason")
    def _denied(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(ApprovalAnswer(Decision.DENY, reason=event.value.strip()))

    @on(Input.Submitted, "#command")
    def _command_edited(self, event: Input.Submitted) -> None:
        event.stop()
        line = event.value.strip()
        if not line:
            self.show_error("give the command to run, or esc to go back")
            return
        arguments = {k: v for k, v in self.request.arguments.items() if k != "argv"}
        self.dismiss(ApprovalAnswer(Decision.EDIT, arguments={**arguments, "command": line}))

    def action_submit_edit(self) -> None:
        if self.mode != "edit" or self.request.tool.display_name == "run_command":
            return
        text = self.query_one("#editor", TextArea).text
        field = EDITED_FIELDS.get(self.request.tool.display_name)
        if field and isinstance(self.request.arguments.get(field), str):
            self.dismiss(ApprovalAnswer(Decision.EDIT, arguments={**self.request.arguments, field: text}))
            return
        edited = _json_object(text)
        if isinstance(edited, str):
            self.show_error(edited)
            return
        self.dismiss(ApprovalAnswer(Decision.EDIT, arguments=edited))

    def _hint(self, text: str) -> None:
        self.query_one("#hint", Static).update(safe_text(text))


def _json_object(text: str) -> dict[str, Any] | str:
    """The edited arguments, or what is wrong with them."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"not JSON: {exc}"
    return value if isinstance(value, dict) else "the arguments must be a JSON object"
