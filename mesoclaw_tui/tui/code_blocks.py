"""The code blocks of a reply, as a Markdown parser sees them (fenced with ``` or ~~~, or indented,
also inside a list), so what is copied is exactly the code and never the fences around it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeBlock:
    language: str  # the fence's info word ("python"), "" when it names none
    code: str  # exactly the block's text, with its final newline

    @property
    def lines(self) -> int:
        return len(self.code.splitlines())

    def describe(self) -> str:
        return f"{self.language or 'code'}, {self.lines} line{'' if self.lines == 1 else 's'}"


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Every code block of `markdown`, in order (an unclosed fence at the end counts: a reply may have
    been cut off inside one)."""
    from markdown_it import MarkdownIt

    blocks = []
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type in ("fence", "code_block"):
            language = token.info.split()[0] if token.info.strip() else ""
            blocks.append(CodeBlock(language, token.content))
    return blocks
