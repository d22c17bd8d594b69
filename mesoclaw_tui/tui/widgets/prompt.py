"""The chat prompt: a TextArea where enter sends and shift+enter or ctrl+j inserts a newline.

Many terminals (and tmux) cannot send shift+enter, so ctrl+j (a plain line feed) is the
newline key that always works.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from .ordered_keys import OrderedKeys


class PromptInput(OrderedKeys, TextArea):
    BINDINGS = [
        Binding("enter", "submit", "Send", show=False),
        Binding("ctrl+j", "newline", "Newline", show=False),
    ]

    class Submitted(Message):
        def __init__(self, prompt: PromptInput, text: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.text = text

    def __init__(self, **kwargs) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus",
                         compact=True, highlight_cursor_line=False, **kwargs)

    def on_key(self, event: events.Key) -> None:
        # TextArea turns enter into a newline before bindings see it, so the keys are decided here.
        # Textual runs this handler before TextArea's own; prevent_default() keeps TextArea's from running.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
        elif event.key in ("shift+enter", "ctrl+j"):
            event.stop()
            event.prevent_default()
            self.action_newline()

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        start, end = self.selection
        self.replace("\n", start, end, maintain_selection_offset=False)
