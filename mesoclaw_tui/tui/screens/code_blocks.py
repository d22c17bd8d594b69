"""Copy one code block of the last reply (the latest that has any): the key that opens this (ctrl+y)
cycles through the reply's blocks, the selected one is highlighted in the list and shown whole below it (long lines scroll
sideways), and enter copies it (OSC 52, like ctrl+g)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer, Vertical
from textual.widgets import Static

from ..code_blocks import CodeBlock
from ..keys import key_of
from ..safe import neutralise, safe_text
from .dialogs import Dialog

PREVIEW_WIDTH = 60  # characters of a block's first line in the list


class CodeBlockPicker(Dialog):
    """Dismissed with the chosen block (copied by the caller), or None."""

    DEFAULT_CSS = """
    CodeBlockPicker #blocks { height: auto; max-height: 6; }
    CodeBlockPicker #code { height: auto; max-height: 12; border: round $primary 60%; overflow-x: auto; }
    CodeBlockPicker #code-text { width: auto; }
    """
    BINDINGS = [
        Binding("down,tab", "move(1)", "Next", show=False, priority=True),
        Binding("up,shift+tab", "move(-1)", "Previous", show=False, priority=True),
        Binding("enter,c", "copy", "Copy", priority=True),
        Binding("ctrl+y", "move(1)", show=False, priority=True, id="copy_code"),  # the key that opened it
    ]

    def __init__(self, blocks: Sequence[CodeBlock]) -> None:
        super().__init__()
        self.blocks = list(blocks)
        self.index = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Code blocks of the last reply that has any", classes="title")
            yield Static(id="blocks")
            with ScrollableContainer(id="code"):
                yield Static(id="code-text")
            next_key = key_of(self.app, "copy_code")
            yield Static(f"{next_key} or ↓ next · ↑ previous · enter copy · esc close", classes="hint")

    def on_mount(self) -> None:
        self._show()

    def cycle(self) -> None:
        """The open key pressed again: the next block."""
        self.action_move(1)

    def action_move(self, step: int) -> None:
        self.index = (self.index + step) % len(self.blocks)
        self._show()

    def _show(self) -> None:
        listing = Text()
        for number, block in enumerate(self.blocks, 1):
            first = neutralise(next((line for line in block.code.splitlines() if line.strip()), "")).strip()
            first = first if len(first) <= PREVIEW_WIDTH else first[: PREVIEW_WIDTH - 1] + "…"
            chosen = number - 1 == self.index
            listing.append(f"{'▶' if chosen else ' '} {number}. {block.describe():<18} ",
                           style="bold reverse" if chosen else "")
            listing.append(first, style="bold" if chosen else "dim")
            listing.append("\n")
        listing.rstrip()
        self.query_one("#blocks", Static).update(listing)
        self.query_one("#code-text", Static).update(self._code(self.blocks[self.index]))
        self.query_one("#code", ScrollableContainer).scroll_home(animate=False)

    @staticmethod
    def _code(block: CodeBlock) -> Text:
        from rich.syntax import Syntax

        code = neutralise(block.code.rstrip("\n"))  # shown safe; copied exact
        try:
            return Syntax(code, block.language or "text", theme="ansi_dark", word_wrap=False,
                          background_color="default").highlight(code)
        except Exception:  # an info word no lexer knows: plain text
            return safe_text(code)

    def action_copy(self) -> None:
        self.dismiss(self.blocks[self.index])
