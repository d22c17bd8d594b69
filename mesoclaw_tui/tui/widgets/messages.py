"""One widget per message of the transcript.

A reply streams into its Markdown through a MarkdownStream, which appends only the new blocks
(and batches fragments that arrive faster than they can be drawn), so a long reply is never
re-rendered whole per chunk.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from .. import format as fmt
from ..safe import neutralise, safe_text

if TYPE_CHECKING:
    from textual.widgets import Markdown
    from textual.widgets.markdown import MarkdownStream

    from ...service import TranscriptEntry


FLUSH_S = 1 / 10  # the longest a received fragment waits before it is drawn
SEGMENT_BLOCKS = 20  # blocks of a streaming reply kept as widgets before the finished ones are frozen


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
        super().__init__(safe_text(text), markup=False)
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
    """A stored reply drawn by Rich: one widget instead of Textual's widget per block, so a page of
    history mounts in a few milliseconds (Textual's Markdown is kept for the reply that streams).
    Its control characters are made visible before it is parsed."""
    return _chat_markdown()(neutralise(text), code_theme="ansi_dark", hyperlinks=False)


@functools.cache
def _chat_markdown() -> type:
    """Rich's Markdown, adjusted for a chat pane: left-aligned headings, code blocks without blank
    padding lines, and inline code that is not a black box on the light theme."""
    from rich.markdown import CodeBlock, Heading, Markdown
    from rich.syntax import Syntax
    from rich.theme import Theme

    inline_code = Theme({"markdown.code": "bold cyan"})

    class LeftHeading(Heading):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            yield Text.assemble(("#" * int(self.tag[1:]) + " ", "dim"), (self.text.plain, "bold"))

    class TightCodeBlock(CodeBlock):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            yield Syntax(str(self.text).rstrip(), self.lexer_name, theme=self.theme, word_wrap=True,
                         padding=(0, 1), background_color="default")

    class ChatMarkdown(Markdown):
        elements = {**Markdown.elements, "heading_open": LeftHeading, "fence": TightCodeBlock,
                    "code_block": TightCodeBlock}

        def __rich_console__(self, console: Any, options: Any) -> Any:
            with console.use_theme(inline_code):
                yield from super().__rich_console__(console, options)

    return ChatMarkdown


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
            parts.append(rich_markdown(self._text))
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
    AssistantMessage > Markdown {
        margin: 0;
        padding: 0;
        background: transparent;
    }
    AssistantMessage > .segment { margin: 0 0 1 0; height: auto; }
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
        self._stream: MarkdownStream | None = None
        self._pending: list[str] = []
        self._flushed_at = 0.0
        self.set_class(status in ("cancelled", "incomplete", "failed"), f"-{status}")

    def compose(self) -> ComposeResult:
        from textual.widgets import Markdown

        # Held directly, not queried: query_one caches its answer per set of children, so querying
        # while segments are added would keep every replaced Markdown (and its blocks) alive.
        self._body = Markdown(neutralise(self._text), classes="body")
        self._error_box = Static(safe_text(self._error or ""), classes="error", markup=False)
        self._label_box = Static(safe_text(self._label), classes="label", markup=False)
        self._error_box.display = bool(self._error)
        yield self._body
        yield self._error_box
        yield self._label_box

    @property
    def body(self) -> Markdown:
        return self._body

    async def write(self, chunk: str) -> None:
        """Append a fragment of the reply. Fragments are passed on at most FLUSH_S apart: every
        append re-lays out the reply, so thousands of tiny ones a second would starve the keyboard."""
        if self._stream is None:
            from textual.widgets import Markdown

            self._stream = Markdown.get_stream(self.body)
            self._flushed_at = 0.0
        self._text += chunk
        self._pending.append(neutralise(chunk))  # shown safe; self._text keeps what arrived
        now = time.monotonic()
        if now - self._flushed_at >= FLUSH_S:
            await self._flush(now)

    async def _flush(self, now: float) -> None:
        if self._pending and self._stream is not None:
            fragment = "".join(self._pending)
            self._pending.clear()
            self._flushed_at = now
            await self._stream.write(fragment)
            if len(self.body.children) > SEGMENT_BLOCKS:
                await self._freeze()

    async def _freeze(self) -> None:
        """Turn the finished blocks of a long reply into one widget and keep streaming into a new
        Markdown that starts at the block still growing. Textual lays out every widget on each
        frame, so a 20,000-token reply as ~900 block widgets would make every keypress wait."""
        from textual.widgets import Markdown

        assert self._stream is not None
        await self._stream.stop()  # everything written so far is in the document
        body = self.body
        from textual.widgets.markdown import MarkdownBlock

        last = body.children[-1]
        assert isinstance(last, MarkdownBlock)
        start = last.source_range[0]
        lines = body.source.splitlines(keepends=True)
        done, tail = "".join(lines[:start]), "".join(lines[start:])
        fresh = Markdown(classes="body")
        await self.mount(RenderOnce(rich_markdown(done), classes="segment"), before=body)
        await self.mount(fresh, before=body)
        self._body = fresh
        await body.remove()
        self._stream = Markdown.get_stream(fresh)
        await self._stream.write(tail)

    async def end_stream(self) -> None:
        if self._stream is not None:
            await self._flush(time.monotonic())
            stream, self._stream = self._stream, None
            await stream.stop()

    @property
    def streaming(self) -> bool:
        return self._stream is not None

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
