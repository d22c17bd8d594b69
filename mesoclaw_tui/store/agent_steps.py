"""An agent run's steps: assistant messages with a step number and their tool calls (JSON)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiosqlite

from .values import storable, storable_row

STEP_FIELDS = frozenset({"tool_calls", "status", "error"})


class AgentStepsMixin:
    conn: aiosqlite.Connection
    write: Callable[..., Any]

    async def add_agent_step(self, message: dict[str, Any]) -> int:
        """A step's message; its conversation's last task and time follow it, as for a reply."""
        fields = storable_row(message)
        async with self.write() as db:
            cursor = await db.execute(
                f"INSERT INTO messages ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                tuple(fields.values()))
            await db.execute(
                "UPDATE conversations SET updated_at = CURRENT_TIMESTAMP, last_task = COALESCE(?, last_task) "
                "WHERE id = ?", (fields.get("task"), fields["conversation_id"]))
            return int(cursor.lastrowid)

    async def update_agent_step(self, message_id: int, **fields: Any) -> None:
        """A step's tool calls as they run, or its status and error when the run stops on it."""
        if not fields or set(fields) - STEP_FIELDS:
            raise ValueError(f"a step's fields are {sorted(STEP_FIELDS)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        async with self.write() as db:
            await db.execute(f"UPDATE messages SET {assignments} WHERE id = ? AND agent_step IS NOT NULL",
                             (*(storable(v) for v in fields.values()), message_id))
