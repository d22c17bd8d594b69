"""The one way a reply's Markdown is drawn, while it streams and when it is opened again.

A reply is cut into its top-level blocks (paragraphs, headings, lists, code fences, tables, quotes);
each block is drawn by Rich's Markdown (adjusted for a chat pane: `ChatMarkdown`) with its blank
edges trimmed, and blocks are one blank line apart. Because the blocks are drawn alone, a reply
drawn in pieces (the finished blocks frozen while the rest streams, see `messages.AssistantMessage`)
looks exactly as the same reply drawn whole from the database. Code wraps at the pane's edge:
nothing is cut off. Headings are bold (h1 underlined too), without their `#`s, so they read as
headings with NO_COLOR and on any theme.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from rich.segment import Segment
from rich.text import Text

from ..safe import neutralise

CODE_THEME = "ansi_dark"


@functools.cache
def _parser() -> Any:
    """The parser Rich's Markdown uses (same extensions), for the blocks' boundaries."""
    from markdown_it import MarkdownIt

    return MarkdownIt().enable("strikethrough").enable("table")


class Block(NamedTuple):
    """One top-level block: its source (what it is known by) and its parsed tokens."""

    source: str
    tokens: list[Any]


def split_blocks(text: str) -> tuple[list[Block], int]:
    """The top-level blocks of `text`, parsed once; and the line the last block starts on (0 when
    there is none), so a caller can keep the text from there on."""
    lines = text.splitlines(keepends=True)
    blocks: list[Block] = []
    last_start = 0
    for token in _parser().parse(text):
        if token.level == 0 and token.nesting in (0, 1) and token.map is not None:
            start, end = token.map
            blocks.append(Block("".join(lines[start:end]), [token]))
            last_start = start
        elif blocks:
            blocks[-1].tokens.append(token)
    return blocks, last_start


def tail_from(text: str, line: int) -> str:
    return "".join(text.splitlines(keepends=True)[line:])


@functools.cache
def chat_markdown() -> type:
    """Rich's Markdown, adjusted for a chat pane: bold headings without `#`, code blocks that wrap
    without blank padding lines, and inline code that is not a black box on the light theme."""
    from rich.markdown import CodeBlock, Heading, Markdown
    from rich.syntax import Syntax
    from rich.theme import Theme

    inline_code = Theme({"markdown.code": "bold cyan"})

    class ChatHeading(Heading):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            style = "bold underline" if self.tag == "h1" else "bold" if self.tag == "h2" else "bold italic"
            yield Text(self.text.plain, style=style)

    class WrappedCodeBlock(CodeBlock):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            yield Syntax(str(self.text).rstrip(), self.lexer_name, theme=self.theme, word_wrap=True,
                         padding=(0, 1), background_color="default")

    class ChatMarkdown(Markdown):
        elements = {**Markdown.elements, "heading_open": ChatHeading, "fence": WrappedCodeBlock,
                    "code_block": WrappedCodeBlock}

        @classmethod
        def of_tokens(cls, tokens: list[Any]) -> ChatMarkdown:
            """One block already parsed (by split_blocks): not parsed again, and without Rich's
            __init__, which builds a new parser (over a millisecond) every time."""
            markdown = copy.copy(_empty())
            markdown.parsed = tokens
            return markdown

    @functools.cache
    def _empty() -> ChatMarkdown:
        return ChatMarkdown("", code_theme=CODE_THEME, hyperlinks=False)

        def __rich_console__(self, console: Any, options: Any) -> Any:
            with console.use_theme(inline_code):
                yield from super().__rich_console__(console, options)

    return ChatMarkdown


def _blank(line: list[Segment]) -> bool:
    return not "".join(segment.text for segment in line).strip()


class ReplyMarkdown:
    """A Rich renderable: Markdown blocks (of neutralised text), each drawn alone, one blank line
    apart. `cache` (block source, width) -> lines lets a growing reply redraw only its last block."""

    def __init__(self, blocks: Sequence[Block],
                 cache: dict[tuple[str, int], list[list[Segment]]] | None = None) -> None:
        self.blocks = list(blocks)
        self.cache = cache if cache is not None else {}

    @classmethod
    def of(cls, text: str) -> ReplyMarkdown:
        """A whole reply as it arrived (its control characters are made visible here)."""
        return cls(split_blocks(neutralise(text))[0])

    def _lines(self, block: Block, console: Any, options: Any) -> list[list[Segment]]:
        key = (block.source, options.max_width)
        lines = self.cache.get(key)
        if lines is None:
            lines = console.render_lines(chat_markdown().of_tokens(block.tokens), options, pad=False)
            while lines and _blank(lines[0]):
                lines.pop(0)
            while lines and _blank(lines[-1]):
                lines.pop()
            self.cache[key] = lines
        return lines

    def __rich_console__(self, console: Any, options: Any) -> Iterable[Segment]:
        options = options.update(height=None)
        newline = Segment.line()
        for index, block in enumerate(self.blocks):
            if index:
                yield newline
            for line in self._lines(block, console, options):
                yield from line
                yield newline
