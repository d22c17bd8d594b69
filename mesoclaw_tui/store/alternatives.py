"""Alternatives of a conversation's last exchange: a regenerated, escalated or edited exchange is kept
beside the one it replaces, and one of them is shown (part of Store).

An exchange is a user message and what follows it up to the next user message (its reply). The
exchanges of a group share `alt_group`, the id of the group's first user message; exactly one of them
has `hidden = 0`. Only the last exchange of a conversation is replaced or flipped, so the messages
after the shown exchange are always its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite

from ..core.types import MesoclawError
from .values import storable

_LAST_PROMPT = ("SELECT id, alt_group FROM messages WHERE conversation_id = ? AND role = 'user' AND hidden = 0 "
                "ORDER BY id DESC LIMIT 1")


class AlternativesMixin:
    conn: aiosqlite.Connection
    write: Callable[..., Any]
    rows: Callable[..., Any]
    row: Callable[..., Any]

    async def last_exchange(self, conversation_id: int) -> list[dict[str, Any]]:
        """The shown messages from the last shown user message on, oldest first (empty: none)."""
        last = await self.row(_LAST_PROMPT, (conversation_id,))
        if last is None:
            return []
        return [dict(r) for r in await self.rows(
            "SELECT m.*, u.profile AS usage_profile FROM messages m LEFT JOIN usage u ON u.id = m.usage_id "
            "WHERE m.conversation_id = ? AND m.id >= ? AND m.hidden = 0 ORDER BY m.id", (conversation_id, last["id"]))]

    async def group_prompts(self, groups: Sequence[int]) -> dict[int, list[int]]:
        """The user message ids of each group of alternatives, in order (shown or not)."""
        if not groups:
            return {}
        marks = ", ".join("?" * len(groups))
        found: dict[int, list[int]] = {}
        for row in await self.rows(f"SELECT alt_group, id FROM messages WHERE alt_group IN ({marks}) "
                                   "AND role = 'user' ORDER BY id", tuple(groups)):
            found.setdefault(row[0], []).append(row[1])
        return found

    async def add_alternative_prompt(self, conversation_id: int, content: str, task: str | None,
                                     replacing: int) -> int:
        """A prompt that replaces the last exchange (which starts at user message `replacing`): in one
        transaction the exchange joins its group (made now when it has none) and is hidden, and the
        prompt is stored in the group, shown. Its reply joins the group as it is recorded (reply_to)."""
        async with self.write() as db:
            last = await (await db.execute(_LAST_PROMPT, (conversation_id,))).fetchone()
            if last is None or last["id"] != replacing:
                raise MesoclawError(f"message {replacing} does not start the last exchange of conversation "
                                    f"{conversation_id}: only the last reply can be regenerated or edited")
            group = last["alt_group"] or last["id"]
            await db.execute("UPDATE messages SET alt_group = ? WHERE conversation_id = ? AND id >= ? AND hidden = 0",
                             (group, conversation_id, replacing))
            await db.execute("UPDATE messages SET hidden = 1 WHERE conversation_id = ? AND alt_group = ?",
                             (conversation_id, group))
            cursor = await db.execute(
                "INSERT INTO messages (conversation_id, role, content, task, alt_group) VALUES (?, 'user', ?, ?, ?)",
                (conversation_id, storable(content), task, group))
            await db.execute("UPDATE conversations SET updated_at = CURRENT_TIMESTAMP WHERE id = ?",
                             (conversation_id,))
            return int(cursor.lastrowid)

    async def show_alternative(self, conversation_id: int, group: int, prompt_id: int) -> None:
        """Show the exchange of `group` that starts at user message `prompt_id`, hide the others: only
        for the group of the conversation's last exchange."""
        async with self.write() as db:
            last = await (await db.execute(_LAST_PROMPT, (conversation_id,))).fetchone()
            if last is None or last["alt_group"] != group:
                raise MesoclawError("only the alternatives of the last exchange can be shown")
            prompts = [r[0] for r in await (await db.execute(
                "SELECT id FROM messages WHERE conversation_id = ? AND alt_group = ? AND role = 'user' ORDER BY id",
                (conversation_id, group))).fetchall()]
            if prompt_id not in prompts:
                raise MesoclawError(f"message {prompt_id} is not an alternative of this exchange")
            after = [p for p in prompts if p > prompt_id]
            end = after[0] if after else None
            await db.execute("UPDATE messages SET hidden = CASE WHEN id >= ? AND (? IS NULL OR id < ?) THEN 0 ELSE 1 "
                             "END WHERE conversation_id = ? AND alt_group = ?",
                             (prompt_id, end, end, conversation_id, group))
