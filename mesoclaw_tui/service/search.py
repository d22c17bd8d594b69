"""Searching messages: what the user typed as an FTS5 query, FTS5 snippets as pieces, and the same
for the substring search used when SQLite has no FTS5. Pure, tested without a database.

Every word the user types must match, as a word or the start of one ("rout" finds "routing"), in
any order: a search box is typed into a letter at a time. The characters FTS5 reads as syntax
(quotes, `-`, `:`, `*`, parentheses, AND/OR/NOT) are never passed through: each word is quoted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .chat_records import SearchHit

WORD = re.compile(r"\w+")
MARK_START, MARK_END = "\ue000", "\ue001"  # as store/chats.py asks FTS5 to mark a match
LIKE_CONTEXT = 60  # characters of a substring match's quote before it and after it
NO_FTS_NOTE = ("full-text search is not available (this Python's SQLite has no FTS5): matching words "
               "as plain text, newest first")


def query_words(text: str) -> list[str]:
    """The words of a search, lowercased, each once, in order."""
    seen: dict[str, None] = {}
    for word in WORD.findall(text.lower()):
        seen.setdefault(word, None)
    return list(seen)


def fts_query(words: Iterable[str]) -> str:
    """An FTS5 MATCH expression: every word, as a word or a word's start."""
    return " ".join(f'"{word}"*' for word in words)


def like_patterns(words: Iterable[str]) -> list[str]:
    """LIKE patterns (with `\\` as the escape) finding each word anywhere."""
    return ["%" + re.sub(r"([\\%_])", r"\\\1", word) + "%" for word in words]


def snippet_pieces(snippet: str) -> tuple[tuple[str, bool], ...]:
    """FTS5's snippet, marked with MARK_START/MARK_END, as (text, is a match) pieces; blank space
    (newlines, runs of spaces) folded so a quote is one line."""
    pieces: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"[{MARK_START}{MARK_END}]", snippet)):
        text = " ".join(part.split()) if not part.isspace() else " "
        if part[:1].isspace() and text and not text.startswith(" "):
            text = " " + text
        if part[-1:].isspace() and text and not text.endswith(" "):
            text += " "
        if text:
            pieces.append((text, i % 2 == 1))
    return tuple(pieces)


def like_snippet(content: str, words: list[str]) -> tuple[tuple[str, bool], ...]:
    """A quote around the first match of any word in `content`, every word in it marked."""
    lowered = content.lower()
    first = min((i for i in (lowered.find(w) for w in words) if i >= 0), default=0)
    start, end = max(0, first - LIKE_CONTEXT), min(len(content), first + LIKE_CONTEXT * 2)
    quote = ("…" if start else "") + content[start:end] + ("…" if end < len(content) else "")
    if not words:
        return snippet_pieces(quote)
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    marked = pattern.sub(lambda m: f"{MARK_START}{m.group()}{MARK_END}", quote)
    return snippet_pieces(marked)


def conversation_hits(rows: Iterable[Mapping[str, Any]], limit: int, words: list[str] | None = None) -> list[SearchHit]:
    """Message matches (best first) grouped into conversations: each conversation once, at its best
    match, with how many of its messages matched. `words` given: rows carry their content (the
    substring search) and the quote is made here."""
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = found.get(row["conversation_id"])
        if entry is not None:
            entry["matches"] += 1
            continue
        if len(found) >= limit:
            continue
        pieces = like_snippet(row["content"], words) if words is not None else snippet_pieces(row["snippet"])
        found[row["conversation_id"]] = {"row": row, "pieces": pieces, "matches": 1}
    return [SearchHit(e["row"]["conversation_id"], e["row"]["title"], str(e["row"]["updated_at"] or ""),
                      e["row"]["message_id"], e["row"]["role"], e["pieces"], e["matches"])
            for e in found.values()]
