"""An agent run's steps: assistant messages with a step number and their tool calls (JSON), written
with their usage row by record_reply; updated here as the calls run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiosqlite

from .values import storable

STEP_FIELDS = frozenset({"tool_calls", "status", "error"})


class AgentStepsMixin:
    conn: aiosqlite.Connection
    write: Callable[..., Any]

    async def update_agent_step(self, message_id: int, **fields: Any) -> None:
        """A step's tool calls as they run, or its status and error when the run stops on it."""
        if not fields or set(fields) - STEP_FIELDS:
            raise ValueError(f"a step's fields are {sorted(STEP_FIELDS)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        async with self.write() as db:
            await db.execute(f"UPDATE messages SET {assignments} WHERE id = ? AND agent_step IS NOT NULL",
                             (*(storable(v) for v in fields.values()), message_id))
