"""The files attached to the next message, as chips above the prompt. Tab reaches them; ←/→ pick
one, delete (or backspace, x) removes it. Hidden while nothing is attached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from ..safe import neutralise

if TYPE_CHECKING:
    from ...engine.attachments import Attachments


@dataclass(frozen=True)
class Attached:
    """One attached file: its name, what it is, its size, and what is sent."""

    name: str
    kind: str  # "text" or "image"
    size: int  # bytes
    files: Attachments  # this file alone, read and checked

    def chip(self) -> str:
        return f"{'▣' if self.kind == 'image' else '≡'} {neutralise(self.name)} {human_size(self.size)}"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class AttachmentBar(Widget, can_focus=True):
    DEFAULT_CSS = """
    AttachmentBar { height: 1; padding: 0 1; background: $panel; display: none; }
    AttachmentBar.-some { display: block; }
    AttachmentBar:focus { background: $boost; }
    """
    BINDINGS = [
        Binding("left", "pick(-1)", show=False),
        Binding("right", "pick(1)", show=False),
        Binding("delete,backspace,x", "remove", "Remove file"),
    ]

    class Changed(Message):
        """The attachments changed (a file added or removed)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.files: list[Attached] = []
        self.selected = 0

    def add(self, attached: Attached) -> None:
        self.files.append(attached)
        self.selected = len(self.files) - 1
        self._changed()

    def clear(self) -> list[Attached]:
        files, self.files = self.files, []
        self._changed()
        return files

    def action_pick(self, step: int) -> None:
        if self.files:
            self.selected = (self.selected + step) % len(self.files)
            self.refresh()

    def action_remove(self) -> None:
        if not self.files:
            return
        removed = self.files.pop(self.selected)
        self.selected = max(0, min(self.selected, len(self.files) - 1))
        self.notify(f"{removed.name} is no longer attached.", timeout=2)
        self._changed()
        if not self.files:
            self.screen.focus_next()

    def _changed(self) -> None:
        self.set_class(bool(self.files), "-some")
        self.refresh()
        self.post_message(self.Changed())

    def render(self) -> Text:
        line = Text("attached ", style="dim")
        for index, attached in enumerate(self.files):
            chosen = self.has_focus and index == self.selected
            line.append(f" {attached.chip()} ", style="reverse bold" if chosen else "reverse")
            line.append(" ")
        if self.has_focus:
            line.append("←/→ pick · del remove", style="dim")
        return line

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
