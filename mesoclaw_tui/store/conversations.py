"""Conversations, their messages, and the usage row of every reply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiosqlite

from .values import storable, storable_params, storable_row

# Rows of one multi-row INSERT: under SQLite's oldest limit of 999 parameters for a usage row's ~18 columns.
_ROWS_PER_INSERT = 50

# conversations, messages, usage ---------------------------------------------------------------------


class ConversationMixin:
    conn: aiosqlite.Connection
    write: Callable[..., Any]
    insert: Callable[..., Any]
    rows: Callable[..., Any]
    row: Callable[..., Any]

    async def create_conversation(self, title: str = "New chat", **fields: Any) -> int:
        """A new conversation (one trip to the database's thread); `fields` are other columns of it (its
        system prompt, a preset's settings)."""
        columns = ["title", *fields]
        return await self.insert(f"INSERT INTO conversations ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                                 storable_params((title, *fields.values())))

    async def conversation(self, conversation_id: int) -> dict[str, Any] | None:
        found = await self.row("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        return dict(found) if found else None

    async def last_conversation_id(self) -> int | None:
        found = await self.row("SELECT id FROM conversations ORDER BY updated_at DESC, id DESC LIMIT 1")
        return found[0] if found else None

    async def list_conversations(self, limit: int = 200) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.rows(
            "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.hidden = 0) "
            "AS message_count "
            "FROM conversations c ORDER BY c.updated_at DESC, c.id DESC LIMIT ?", (limit,))]

    async def update_conversation(self, conversation_id: int, **fields: Any) -> None:
        allowed = {"title", "last_task", "model_override", "system_prompt", "preset", "profile", "temperature",
                   "max_tokens"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"conversation fields are {allowed}")
        assignments = ", ".join(f"{k} = ?" for k in fields)
        async with self.write() as db:
            await db.execute(f"UPDATE conversations SET {assignments}, updated_at = CURRENT_TIMESTAMP WHERE id = ?",
                             (*storable_params(tuple(fields.values())), conversation_id))

    async def delete_conversation(self, conversation_id: int) -> None:
        async with self.write() as db:
            await db.execute("DELETE FROM messages WHERE conversation_id = ?", (conversation_id,))
            await db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    async def add_message(self, conversation_id: int, role: str, content: str, **fields: Any) -> int:
        columns = ["conversation_id", "role", "content", *fields]
        async with self.write(cached=False) as db:
            cursor = await db.execute(
                f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                (conversation_id, role, storable(content), *storable_params(tuple(fields.values()))))
            await db.execute("UPDATE conversations SET updated_at = CURRENT_TIMESTAMP WHERE id = ?",
                             (conversation_id,))
            return int(cursor.lastrowid)

    async def messages(self, conversation_id: int, *, limit: int | None = None,
                       before_id: int | None = None) -> list[dict[str, Any]]:
        """Shown messages oldest first (an alternative not shown is left out); with limit, the latest
        `limit` (before before_id) for lazy loading."""
        where, params = "conversation_id = ? AND hidden = 0", [conversation_id]
        if before_id is not None:
            where += " AND id < ?"
            params.append(before_id)
        if limit is None:
            sql = f"SELECT * FROM messages WHERE {where} ORDER BY id"
        else:
            sql = f"SELECT * FROM (SELECT * FROM messages WHERE {where} ORDER BY id DESC LIMIT ?) ORDER BY id"
            params.append(limit)
        return [dict(r) for r in await self.rows(sql, params)]

    async def transcript(self, conversation_id: int, *, limit: int, before_id: int | None = None
                         ) -> tuple[list[dict[str, Any]], bool]:
        """The latest `limit` messages (before before_id), oldest first, each with its reply's usage
        (tokens, cost, attempts), and whether older messages remain: what the chat screen shows (an
        alternative not shown is left out)."""
        where, params = "m.conversation_id = ? AND m.hidden = 0", [conversation_id]
        if before_id is not None:
            where += " AND m.id < ?"
            params.append(before_id)
        found = [dict(r) for r in await self.rows(
            "SELECT m.id, m.role, m.content, m.provider, m.model, m.task, m.status, m.error, m.alt_group, "
            "m.agent_step, m.tool_calls, "
            "u.input_tokens, u.output_tokens, u.estimated, u.cost_usd, u.attempts "
            f"FROM messages m LEFT JOIN usage u ON u.id = m.usage_id WHERE {where} "
            "ORDER BY m.id DESC LIMIT ?", (*params, limit + 1))]
        return found[:limit][::-1], len(found) > limit

    async def record_reply(self, usage: dict[str, Any], message: dict[str, Any] | None) -> tuple[int, int | None]:
        """The usage row and the assistant message (if any) of one reply, written together. A message's
        `reply_to` (its prompt's id, not a column) puts it in its prompt's group of alternatives."""
        async with self.write(cached=False) as db:
            return await _insert_reply(db, usage, message)

    async def record_replies(self, replies: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> None:
        """Many replies (the write-behind queue's batch). Usage rows without a message go in as one
        multi-row INSERT per _ROWS_PER_INSERT: one statement, so one transaction and one trip to the
        database's thread, where a transaction of its own would take three."""
        bare = [storable_row(usage) for usage, message in replies if message is None]
        for columns in dict.fromkeys(tuple(row) for row in bare):  # one statement per column set (in practice one)
            rows = [tuple(row.values()) for row in bare if tuple(row) == columns]
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                chunk = rows[start:start + _ROWS_PER_INSERT]
                one = f"({', '.join('?' * len(columns))})"
                await self.insert(f"INSERT INTO usage ({', '.join(columns)}) VALUES {', '.join([one] * len(chunk))}",
                                  tuple(value for row in chunk for value in row))
        with_message = [(usage, message) for usage, message in replies if message is not None]
        if with_message:
            async with self.write(cached=False) as db:
                for usage, message in with_message:
                    await _insert_reply(db, usage, message)

    async def usage_rows(self, since: float | None = None) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.rows("SELECT * FROM usage WHERE created_at >= ? ORDER BY id",
                                                 (since or 0,))]


async def _insert_reply(db: aiosqlite.Connection, usage: dict[str, Any], message: dict[str, Any] | None
                        ) -> tuple[int, int | None]:
    usage = storable_row(usage)
    columns = list(usage)
    cursor = await db.execute(
        f"INSERT INTO usage ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", tuple(usage.values()))
    usage_id = int(cursor.lastrowid)
    if message is None:
        return usage_id, None
    message = storable_row(message)
    reply_to = message.pop("reply_to", None)
    fields = {**message, "usage_id": usage_id}
    if reply_to is not None:  # the reply joins its prompt's group of alternatives, if any
        found = await (await db.execute("SELECT alt_group FROM messages WHERE id = ?", (reply_to,))).fetchone()
        fields["alt_group"] = found[0] if found else None
    cursor = await db.execute(
        f"INSERT INTO messages ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})", tuple(fields.values()))
    await db.execute(
        "UPDATE conversations SET updated_at = CURRENT_TIMESTAMP, last_task = COALESCE(?, last_task) "
        "WHERE id = ?", (message.get("task"), message["conversation_id"]))
    return usage_id, int(cursor.lastrowid)
