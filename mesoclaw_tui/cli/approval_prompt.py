"""The approval prompt of `mesoclaw agent`, on the terminal the user sits at (/dev/tty), so it
works while stdin is a pipe (context for the goal) and stdout a file (the answer).

    mesoclaw: run_command wants to run:
      $ git push origin main
    [a]pprove  a[l]ways (this exact command, for the rest of this run)  [d]eny  [e]dit >

Everything shown (the command, the diff, an MCP tool's arguments) came from the model: its control
characters are made visible. No terminal (cron, a pipe without one): `open()` gives None, and the
calls that need approval are denied. A line is read without a thread (the event loop watches the
terminal), so Ctrl+C ends the run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from typing import Any

from ..agent.approval import ApprovalAnswer, ApprovalRequest, Decision
from ..core.text import neutralise

MAX_DIFF_LINES = 400
CHOICES = {"a": Decision.APPROVE, "approve": Decision.APPROVE, "y": Decision.APPROVE, "yes": Decision.APPROVE,
           "l": Decision.APPROVE_ALWAYS, "always": Decision.APPROVE_ALWAYS,
           "d": Decision.DENY, "deny": Decision.DENY, "n": Decision.DENY, "no": Decision.DENY,
           "e": Decision.EDIT, "edit": Decision.EDIT}


class Terminal:
    """The controlling terminal, opened for reading answers and writing prompts."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls) -> Terminal | None:
        try:
            return cls(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)))
        except OSError:  # no controlling terminal
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def say(self, text: str) -> None:
        """Text that may hold the model's words, its control characters made visible."""
        data = neutralise(text).encode("utf-8", "replace")
        while data:
            written = os.write(self.fd, data)
            data = data[written:]

    async def readline(self) -> str | None:
        """One line the user typed (without its newline); None at end of input (ctrl+d)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()
        buffer = bytearray()

        def readable() -> None:
            try:
                chunk = os.read(self.fd, 4096)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                if not done.done():
                    done.set_result(buffer.decode("utf-8", "replace") if buffer else None)
                return
            buffer.extend(chunk)
            if b"\n" in buffer and not done.done():
                done.set_result(buffer.split(b"\n", 1)[0].decode("utf-8", "replace"))

        loop.add_reader(self.fd, readable)
        try:
            return await done
        finally:
            loop.remove_reader(self.fd)


class TerminalApprover:
    """Asks on the terminal: approve, always (for this run), deny (with a reason), or edit."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    @classmethod
    def open(cls) -> TerminalApprover | None:
        terminal = Terminal.open()
        return cls(terminal) if terminal is not None else None

    def close(self) -> None:
        self.terminal.close()

    async def ask(self, request: ApprovalRequest) -> ApprovalAnswer:
        self.terminal.say(describe(request))
        while True:
            self.terminal.say(f"[a]pprove  a[l]ways ({request.always_scope})  [d]eny  [e]dit > ")
            line = await self.terminal.readline()
            if line is None:
                self.terminal.say("\n")
                return ApprovalAnswer(Decision.DENY, reason="(no answer: the terminal closed)")
            decision = CHOICES.get(line.strip().lower())
            if decision is Decision.DENY:
                self.terminal.say("why, for the model (enter to say nothing): ")
                return ApprovalAnswer(Decision.DENY, reason=(await self.terminal.readline() or "").strip())
            if decision is Decision.EDIT:
                edited = await self._edit(request)
                if edited is not None:
                    return ApprovalAnswer(Decision.EDIT, arguments=edited)
                continue
            if decision is not None:
                return ApprovalAnswer(decision)
            self.terminal.say("answer a, l, d or e\n")

    async def _edit(self, request: ApprovalRequest) -> dict[str, Any] | None:
        """The arguments as the user changed them, or None (asked again) when they gave nothing usable."""
        arguments = dict(request.arguments)
        name = request.tool.display_name
        if name == "run_command":
            self.terminal.say("the command to run instead (a shell line; enter keeps it): ")
            line = (await self.terminal.readline() or "").strip()
            if not line:
                return None
            arguments.pop("argv", None)
            return {**arguments, "command": line}
        field = {"write_file": "content", "edit_file": "new_string"}.get(name)
        if field is not None and isinstance(arguments.get(field), str):
            text = await _in_editor(arguments[field], ".txt")
            return {**arguments, field: text} if text is not None else None
        text = await _in_editor(json.dumps(arguments, indent=2, ensure_ascii=False), ".json")
        if text is None:
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            self.terminal.say(f"not JSON ({exc}); nothing changed\n")
            return None
        if not isinstance(value, dict):
            self.terminal.say("the arguments must be a JSON object; nothing changed\n")
            return None
        return value


async def _in_editor(text: str, extension: str) -> str | None:
    """`text` edited in $VISUAL / $EDITOR (in a thread: the editor owns the terminal meanwhile)."""
    import click

    def edit() -> str | None:
        try:
            return click.edit(text, extension=extension, require_save=False)
        except click.ClickException:
            return None

    return await asyncio.to_thread(edit)


def describe(request: ApprovalRequest) -> str:
    """What the user reads before they answer: the tool, the command or the diff, the arguments."""
    name = request.tool.display_name
    lines = [f"\nmesoclaw: {name} needs your approval:"]
    if name == "run_command":
        lines.append(f"  $ {request.summary.removeprefix('run: ')}")
    else:
        lines.append(f"  {request.summary}")
    if request.diff:
        diff = request.diff.splitlines()
        lines += diff[:MAX_DIFF_LINES]
        if len(diff) > MAX_DIFF_LINES:
            lines.append(f"… {len(diff) - MAX_DIFF_LINES} more lines of the diff")
    elif name != "run_command":
        shown = json.dumps(dict(request.arguments), indent=2, ensure_ascii=False).splitlines()
        lines += ["  " + line for line in shown[:60]] + (["  …"] if len(shown) > 60 else [])
    return "\n".join(lines) + "\n"
