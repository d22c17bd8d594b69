"""One widget per message of the transcript.

A reply is drawn by `reply_markdown.ReplyMarkdown`, block by block, the same while it streams and
when it is opened again. While it streams, only its last few blocks are drawn again as fragments
arrive (batched, at most every FLUSH_S); the finished ones are frozen into a widget drawn once, so
a long reply is never re-rendered whole per chunk.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from .. import format as fmt
from ..safe import neutralise, safe_text

if TYPE_CHECKING:
    from ...service import TranscriptEntry


FLUSH_S = 1 / 10  # the longest a received fragment waits before it is drawn
# A message longer than this shows its start and says how to get the whole: drawing a 20 MB paste
# took the app 37 s; the whole text stays in the database, in the copy keys and in `chats export`.
DISPLAY_LIMIT_CHARS = 20_000


def shown_part(text: str, whole: str = "`mesoclaw chats export` writes the whole conversation") -> tuple[str, str | None]:
    """The part of a message the transcript draws, and what to say about the rest (None: all of it)."""
    if len(text) <= DISPLAY_LIMIT_CHARS:
        return text, None
    cut = text.rfind("\n", 0, DISPLAY_LIMIT_CHARS)
    cut = cut if cut > DISPLAY_LIMIT_CHARS // 2 else DISPLAY_LIMIT_CHARS
    return text[:cut], f"… {len(text) - cut:,} more characters not shown ({len(text):,} in all); {whole}"
TAIL_BLOCKS = 8  # blocks of a streaming reply drawn again per fragment before the finished ones are frozen


class UserMessage(Static):
    DEFAULT_CSS = """
    UserMessage {
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: tall $accent;
        background: $boost;
    }
    """

    def __init__(self, text: str, message_id: int | None = None) -> None:
        head, rest = shown_part(text)
        shown = safe_text(head)
        if rest:
            shown.append("\n" + rest, style="dim italic")
        super().__init__(shown, markup=False)
        self.message_id = message_id


class Notice(Static):
    """Something the app says in the transcript (not a message): no provider, a hint, an error."""

    DEFAULT_CSS = """
    Notice {
        margin: 1 0 0 0;
        padding: 0 1;
        color: $text-warning;
        border-left: tall $warning;
    }
    """

    def __init__(self, text: str, **kwargs: Any) -> None:
        super().__init__(safe_text(text), markup=False, **kwargs)
        self.message_id: int | None = None


def rich_markdown(text: str) -> Any:
    """A whole reply as the chat draws it (its control characters made visible): one renderable for
    a stored reply, the same look as the reply had while it streamed."""
    from .reply_markdown import ReplyMarkdown

    return ReplyMarkdown.of(text)


class RenderOnce(Widget):
    """A Rich renderable drawn once per width and style, then served line by line.

    Textual lays out every widget on every frame; a Static asks its renderable for its height each
    time, which for a long Markdown reply means rendering it again. This widget answers from its cache.
    """

    DEFAULT_CSS = "RenderOnce { height: auto; }"

    def __init__(self, renderable: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._renderable = renderable
        # Segments, not Strips: a Strip carries several caches of its own, and a long reply kept as
        # Strips is tens of thousands of objects for every garbage collection to walk.
        self._cache: tuple[int, Any, list[list[Segment]]] | None = None

    def _lines(self, width: int) -> list[list[Segment]]:
        style = self.rich_style
        if self._cache is None or self._cache[0] != width or self._cache[1] != style:
            console = self.app.console
            options = console.options.update(width=width, height=None, highlight=False)
            self._cache = (width, style, console.render_lines(self._renderable, options, style=style))
        return self._cache[2]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self._lines(width)
        return Strip(lines[y], width) if y < len(lines) else Strip.blank(width, self.rich_style)

    def show(self, renderable: Any) -> None:
        """Draw something else (the growing end of a streaming reply)."""
        self._renderable = renderable
        self._cache = None
        self.refresh(layout=True)


class StoredReply(RenderOnce):
    """An assistant message from the database: its Markdown, any error, and its label."""

    DEFAULT_CSS = """
    StoredReply {
        margin: 1 0 0 0;
        padding: 0 0 0 1;
        border-left: tall $success 60%;
    }
    StoredReply.-cancelled, StoredReply.-incomplete { border-left: tall $warning; }
    StoredReply.-failed { border-left: tall $error; }
    """

    def __init__(self, entry: TranscriptEntry) -> None:
        from rich.console import Group

        self.status = entry.status
        self.message_id: int | None = entry.id
        self._text = entry.content or ""
        parts: list[Any] = []
        if self._text:
            head, rest = shown_part(self._text, "ctrl+g copies the whole reply")
            parts.append(rich_markdown(head))
            if rest:
                parts.append(safe_text(rest, style="dim italic"))
        error = None
        if self.status == "failed":
            error = fmt.failure_text(entry.error, entry.attempts)
        elif self.status == "incomplete" and entry.error:
            error = entry.error
        if error:
            parts.append(safe_text(error, style=fmt.colour("red")))
        label_style = fmt.colour("yellow") if self.status in ("cancelled", "incomplete") else "dim"
        parts.append(safe_text(fmt.stored_label(entry), style=label_style))
        super().__init__(Group(*parts))
        self.set_class(self.status in ("cancelled", "incomplete", "failed"), f"-{self.status}")

    @property
    def text(self) -> str:
        return self._text


class AssistantMessage(Vertical):
    DEFAULT_CSS = """
    AssistantMessage {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 0 0 1;
        border-left: tall $success 60%;
    }
    /* No :last-child rules here: an order selector makes Textual restyle every block of the reply
       on each streamed append (quadratic in its length). */
    AssistantMessage > .segment { margin: 0 0 1 0; }
    AssistantMessage > .error {
        color: $text-error;
        height: auto;
    }
    AssistantMessage > .label {
        color: $text-muted;
        height: auto;
    }
    AssistantMessage.-cancelled, AssistantMessage.-incomplete { border-left: tall $warning; }
    AssistantMessage.-cancelled > .label, AssistantMessage.-incomplete > .label { color: $text-warning; }
    AssistantMessage.-failed { border-left: tall $error; }
    """

    def __init__(self, text: str = "", *, label: str = "", status: str = "complete", error: str | None = None,
                 message_id: int | None = None) -> None:
        super().__init__()
        self._text = text
        self._label = label
        self._error = error
        self.status = status
        self.message_id = message_id
        self._streaming = False
        self._pending: list[str] = []
        self._flushed_at = 0.0
        self._tail = neutralise(text)  # the blocks not frozen yet, as drawn (control characters visible)
        self._drawn = self._tail  # everything drawn so far
        self._block_cache: dict[Any, Any] = {}
        self.segments = 0  # frozen parts
        self.set_class(status in ("cancelled", "incomplete", "failed"), f"-{status}")

    def compose(self) -> ComposeResult:
        from .reply_markdown import ReplyMarkdown, split_blocks

        # Held directly, not queried: query_one caches its answer per set of children.
        self._body = RenderOnce(ReplyMarkdown(split_blocks(self._tail)[0], self._block_cache), classes="body")
        self._error_box = Static(safe_text(self._error or ""), classes="error", markup=False)
        self._label_box = Static(safe_text(self._label), classes="label", markup=False)
        self._error_box.display = bool(self._error)
        yield self._body
        yield self._error_box
        yield self._label_box

    async def write(self, chunk: str) -> None:
        """Append a fragment of the reply. Fragments are drawn at most FLUSH_S apart: every draw
        re-lays out the reply, so thousands of tiny ones a second would starve the keyboard."""
        if not self._streaming:
            self._streaming = True
            self._flushed_at = 0.0
        self._text += chunk
        self._pending.append(neutralise(chunk))  # shown safe; self._text keeps what arrived
        now = time.monotonic()
        if now - self._flushed_at >= FLUSH_S:
            await self._flush(now)

    async def _flush(self, now: float) -> None:
        """Draw what arrived: the unfrozen blocks again (the finished ones from a cache), and once
        there are more than TAIL_BLOCKS, freeze all but the last into a widget drawn once."""
        from .reply_markdown import ReplyMarkdown, split_blocks, tail_from

        if not self._pending:
            return
        fragment = "".join(self._pending)
        self._pending.clear()
        self._flushed_at = now
        self._tail += fragment
        self._drawn += fragment
        blocks, last_start = split_blocks(self._tail)
        if len(blocks) > TAIL_BLOCKS:
            await self.mount(RenderOnce(ReplyMarkdown(blocks[:-1], self._block_cache), classes="segment"),
                             before=self._body)
            self.segments += 1
            self._block_cache = {}
            self._tail = tail_from(self._tail, last_start)
            blocks = blocks[-1:]
        current = {block.source for block in blocks}  # forget the last block's earlier, shorter versions
        for key in [k for k in self._block_cache if k[0] not in current]:
            del self._block_cache[key]
        self._body.show(ReplyMarkdown(blocks, self._block_cache))

    async def end_stream(self) -> None:
        if self._streaming:
            await self._flush(time.monotonic())
            self._streaming = False

    @property
    def streaming(self) -> bool:
        return self._streaming

    @property
    def drawn_text(self) -> str:
        """What is on screen so far (made safe), pending fragments aside."""
        return self._drawn

    def set_label(self, label: str) -> None:
        self._label = label
        self._label_box.update(safe_text(label))

    def finish(self, *, status: str, label: str, error: str | None = None) -> None:
        self.status = status
        for name in ("cancelled", "incomplete", "failed"):
            self.set_class(status == name, f"-{name}")
        self.set_label(label)
        self._error = error
        self._error_box.update(safe_text(error or ""))
        self._error_box.display = bool(error)

    @property
    def text(self) -> str:
        """The reply exactly as it arrived (the Markdown widget normalises whitespace)."""
        return self._text
