"""What search and a conversation's running cost hand out: dataclasses, never rows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchHit:
    """A conversation that matches, with its best-matching message quoted."""

    conversation_id: int
    title: str
    updated_at: str
    message_id: int  # the best match
    role: str
    # The quote around the match: (text, is a match) pieces, so each face marks matches its own way
    # (bold on screen, offsets in JSON) and no marker character ever reaches a terminal.
    snippet: tuple[tuple[str, bool], ...]
    matches: int  # messages of the conversation that match

    @property
    def snippet_text(self) -> str:
        return "".join(text for text, _ in self.snippet)

    @property
    def highlights(self) -> list[tuple[int, int]]:
        """(start, end) of each match in snippet_text."""
        spans, at = [], 0
        for text, matched in self.snippet:
            if matched:
                spans.append((at, at + len(text)))
            at += len(text)
        return spans


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]  # best first (by relevance with FTS5; newest first without)
    ranked: bool  # full-text search (FTS5); False: substring search, the SQLite has no FTS5
    note: str | None = None  # what the user should know about how this was searched


@dataclass(frozen=True)
class ConversationUsage:
    """A conversation's replies, summed. A reply without a price is counted, never taken as $0."""

    replies: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # the replies with a price; None when none had one
    unpriced: int = 0  # replies with tokens but no price
    estimated: bool = False  # some tokens were estimated (the provider sent no usage)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens
