"""Conversations as a whole: search across them, what one cost so far, export and import.

The faces call these: `mesoclaw chats …` and the app (its conversation list, its top bar).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store
    from .chat_records import ConversationUsage, SearchResult
    from .conversation_records import Conversation

SEARCH_ROWS = 1000  # matching messages read at most for one search (grouped into conversations)


def _utc_stamp(moment: float | None = None) -> str:
    """A time as SQLite's CURRENT_TIMESTAMP writes it (UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(moment))


class ChatsMixin:
    """Part of RouterService (which provides `store` and `require_conversation`)."""

    store: Store

    if TYPE_CHECKING:
        async def require_conversation(self, conversation_id: int) -> Conversation: ...

    async def search_conversations(self, text: str, limit: int = 50) -> SearchResult:
        """Conversations whose messages hold every word of `text` (a word or a word's start), best
        first, each with a quote of its best match. Full-text (FTS5, ranked by relevance) when this
        SQLite has it; otherwise substring matching, newest first, and the result says so."""
        from .chat_records import SearchResult
        from .search import NO_FTS_NOTE, conversation_hits, fts_query, like_patterns, query_words

        words = query_words(text)
        if not words:
            return SearchResult([], ranked=await self.store.has_search_index())
        if await self.store.has_search_index():
            rows = await self.store.search_fts(fts_query(words), SEARCH_ROWS)
            return SearchResult(conversation_hits(rows, limit), ranked=True)
        rows = await self.store.search_like(like_patterns(words), SEARCH_ROWS)
        return SearchResult(conversation_hits(rows, limit, words), ranked=False, note=NO_FTS_NOTE)

    async def conversation_usage(self, conversation_id: int) -> ConversationUsage:
        """Its replies' tokens and cost so far (the app's top bar)."""
        from .chat_records import ConversationUsage

        row = await self.store.conversation_usage(conversation_id)
        return ConversationUsage(row["replies"] or 0, row["input_tokens"] or 0, row["output_tokens"] or 0,
                                 row["cost_usd"], row["unpriced"] or 0, bool(row["estimated"]))

    async def export_conversation(self, conversation_id: int) -> dict[str, Any]:
        """The conversation as `chats export --format json` writes it (a MesoclawError if there is none)."""
        from .chat_file import export_document

        conversation = await self.require_conversation(conversation_id)
        rows = await self.store.export_messages(conversation_id)
        return export_document(conversation, rows, _utc_stamp())

    async def import_conversation(self, data: Any) -> int:
        """A conversation file (the JSON `export_conversation` gives) as a new conversation, checked
        whole first: a MesoclawError names the first problem and nothing is written."""
        from .chat_file import parse

        imported = parse(data)
        now = _utc_stamp()
        messages = [{**m, "created_at": m["created_at"] or now} for m in imported.messages]
        conversation = {"created_at": now, "updated_at": now, **imported.conversation}
        return await self.store.import_conversation(conversation, messages)
