"""Messages sent while a reply streams: queued in order, shown under the reply as queued, sent one
by one when it ends; esc takes the last one back into the prompt (and, with none queued, cancels the
reply as before).
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from ..safe import safe_text

HINT = "queued: sent when the reply ends · esc takes it back"


class QueuedMessage(Static):
    """A message waiting for the reply to end (not part of the conversation yet)."""

    DEFAULT_CSS = """
    QueuedMessage {
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: tall $accent 40%;
        color: $text-muted;
    }
    """

    def __init__(self, text: str) -> None:
        from rich.text import Text

        body = Text.assemble(safe_text(text), "\n", (HINT, "italic"))
        super().__init__(body, markup=False)
        self.text = text


class SendQueue:
    """The chat's queued messages and their widgets in the transcript."""

    def __init__(self) -> None:
        self._waiting: list[QueuedMessage] = []

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def __len__(self) -> int:
        return len(self._waiting)

    async def add(self, transcript: Any, text: str) -> None:
        widget = QueuedMessage(text)
        self._waiting.append(widget)
        await transcript.mount(widget)
        transcript.scroll_end(animate=False)

    async def take_last(self) -> str | None:
        """Withdraw the message queued last: its text (None when nothing is queued)."""
        if not self._waiting:
            return None
        widget = self._waiting.pop()
        await widget.remove()
        return widget.text

    async def take_first(self) -> str | None:
        """The message queued first, to send now."""
        if not self._waiting:
            return None
        widget = self._waiting.pop(0)
        await widget.remove()
        return widget.text

    async def take_all(self) -> list[str]:
        texts = []
        while self._waiting:
            texts.append(await self.take_first() or "")
        return texts
