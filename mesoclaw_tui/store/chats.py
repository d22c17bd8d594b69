"""Conversations as a whole: full-text search over their messages, what each one cost, and a
conversation written or read in one go (`mesoclaw chats export` / `import`).

Search uses the FTS5 index schema 5 keeps in step with `messages` (external content, triggers). A
SQLite built without FTS5 has no such index: `search_like` finds the words by substring instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite

from .values import storable, storable_row

# Snippet markers: private-use characters, so a highlight never collides with text a message holds
# (control characters would, and they are what a face must never see).
MARK_START, MARK_END = "\ue000", "\ue001"
SNIPPET_TOKENS = 12  # words of context FTS5 puts around a match
MESSAGE_COLUMNS = ("role", "content", "provider", "model", "task", "status", "error", "created_at")


class ChatsMixin:
    conn: aiosqlite.Connection
    write: Callable[..., Any]
    rows: Callable[..., Any]
    row: Callable[..., Any]
    _fts: bool | None = None

    async def has_search_index(self) -> bool:
        """Whether the messages have a full-text index (no FTS5 in this SQLite: they do not)."""
        if self._fts is None:
            found = await self.row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages_fts'")
            self._fts = found is not None
        return self._fts

    async def search_fts(self, match: str, limit: int) -> list[dict[str, Any]]:
        """The best `limit` messages for an FTS5 query, best first (bm25), each with a snippet."""
        return [dict(r) for r in await self.rows(
            "SELECT m.id AS message_id, m.conversation_id, m.role, c.title, c.updated_at, "
            f"snippet(messages_fts, 0, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_TOKENS}) AS snippet "
            "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE messages_fts MATCH ? ORDER BY bm25(messages_fts), m.id DESC LIMIT ?", (match, limit))]

    async def search_like(self, patterns: Sequence[str], limit: int) -> list[dict[str, Any]]:
        """The newest `limit` messages holding every pattern (LIKE, `\\` escapes), with their text."""
        where = " AND ".join("m.content LIKE ? ESCAPE '\\'" for _ in patterns) or "1"
        return [dict(r) for r in await self.rows(
            "SELECT m.id AS message_id, m.conversation_id, m.role, c.title, c.updated_at, m.content "
            f"FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE {where} "
            "ORDER BY m.id DESC LIMIT ?", (*patterns, limit))]

    async def conversation_usage(self, conversation_id: int) -> dict[str, Any]:
        """What a conversation's replies used, summed: tokens, cost, and how many had no price."""
        found = await self.row(
            "SELECT COUNT(*) AS replies, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, "
            "SUM(cost_usd) AS cost_usd, "
            "SUM(cost_usd IS NULL AND COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) > 0) AS unpriced, "
            "MAX(estimated) AS estimated FROM usage WHERE conversation_id = ? AND outcome != 'failed'",
            (conversation_id,))
        return dict(found)

    async def export_messages(self, conversation_id: int) -> list[dict[str, Any]]:
        """Every message, oldest first, with its reply's usage (tokens, cost)."""
        return [dict(r) for r in await self.rows(
            "SELECT m.id, m.role, m.content, m.provider, m.model, m.task, m.status, m.error, m.created_at, "
            "u.input_tokens, u.output_tokens, u.estimated, u.cost_usd "
            "FROM messages m LEFT JOIN usage u ON u.id = m.usage_id WHERE m.conversation_id = ? ORDER BY m.id",
            (conversation_id,))]

    async def import_conversation(self, conversation: dict[str, Any], messages: Sequence[dict[str, Any]]) -> int:
        """A new conversation and all its messages in one transaction: all of it or nothing."""
        conversation = storable_row(conversation)
        async with self.write() as db:
            columns = list(conversation)
            cursor = await db.execute(
                f"INSERT INTO conversations ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                tuple(conversation.values()))
            conversation_id = int(cursor.lastrowid)
            await db.executemany(
                f"INSERT INTO messages (conversation_id, {', '.join(MESSAGE_COLUMNS)}) "
                f"VALUES (?, {', '.join('?' * len(MESSAGE_COLUMNS))})",
                [(conversation_id, *(storable(m.get(c)) for c in MESSAGE_COLUMNS)) for m in messages])
            return conversation_id

    # what the app remembers ------------------------------------------------------------------------

    async def preferences(self) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.rows("SELECT name, value FROM preferences")}

    async def set_preference(self, name: str, value: str) -> None:
        async with self.write() as db:
            await db.execute("INSERT INTO preferences (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
                             "SET value = excluded.value, updated_at = CURRENT_TIMESTAMP", (name, storable(value)))
