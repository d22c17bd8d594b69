"""Presets, escalations, and the spend a budget is checked against (part of Store)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiosqlite

from .values import storable_row

PRESET_COLUMNS = ("name", "system_prompt", "profile", "model", "temperature", "max_tokens")
ESCALATION_COLUMNS = ("created_at", "conversation_id", "task", "how", "from_profile", "from_provider", "from_model",
                      "from_tier", "to_profile", "to_model", "to_tier", "from_usage_id", "usage_id")


class PresetsMixin:
    conn: aiosqlite.Connection
    write: Callable[..., Any]
    rows: Callable[..., Any]
    row: Callable[..., Any]

    # presets ------------------------------------------------------------------------------------------

    async def presets(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.rows("SELECT * FROM presets ORDER BY name COLLATE NOCASE")]

    async def preset(self, name: str) -> dict[str, Any] | None:
        found = await self.row("SELECT * FROM presets WHERE name = ?", (name,))
        return dict(found) if found else None

    async def save_preset(self, preset: dict[str, Any], now: float, *, replace: bool) -> bool:
        """Insert a preset; with replace, an existing one of that name (any case) is replaced whole.
        False when it exists and replace is not given (nothing is written)."""
        values = storable_row({c: preset.get(c) for c in PRESET_COLUMNS})
        async with self.write() as db:
            exists = await (await db.execute("SELECT 1 FROM presets WHERE name = ?", (values["name"],))).fetchone()
            if exists and not replace:
                return False
            if exists:
                await db.execute("DELETE FROM presets WHERE name = ?", (values["name"],))
            await db.execute(
                f"INSERT INTO presets ({', '.join(PRESET_COLUMNS)}, created_at, updated_at) "
                f"VALUES ({', '.join('?' * len(PRESET_COLUMNS))}, ?, ?)", (*values.values(), now, now))
            return True

    async def remove_preset(self, name: str) -> bool:
        async with self.write() as db:
            cursor = await db.execute("DELETE FROM presets WHERE name = ?", (name,))
            return cursor.rowcount > 0

    # escalations -----------------------------------------------------------------------------------------

    async def add_escalation(self, escalation: dict[str, Any]) -> int:
        values = storable_row({c: escalation.get(c) for c in ESCALATION_COLUMNS})
        async with self.write() as db:
            cursor = await db.execute(
                f"INSERT INTO escalations ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                tuple(values.values()))
            return int(cursor.lastrowid)

    async def escalation_rows(self, since: float | None = None) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.rows("SELECT * FROM escalations WHERE created_at >= ? ORDER BY id",
                                                 (since or 0,))]

    # spend ---------------------------------------------------------------------------------------------

    async def spend_by_profile(self, day_start: float, month_start: float) -> list[tuple[Any, ...]]:
        """Per profile since the start of the month (and of the day): the known cost, and the replies a
        model gave whose cost is unknown. One range scan of the usage_spend index, which holds every
        column read: (profile, month cost, month unknown, day cost, day unknown)."""
        first = min(day_start, month_start)
        return [tuple(r) for r in await self.rows(
            "SELECT profile, "
            "TOTAL(CASE WHEN created_at >= :month THEN cost_usd END), "
            "TOTAL(created_at >= :month AND cost_usd IS NULL AND provider IS NOT NULL), "
            "TOTAL(CASE WHEN created_at >= :day THEN cost_usd END), "
            "TOTAL(created_at >= :day AND cost_usd IS NULL AND provider IS NOT NULL) "
            "FROM usage WHERE created_at >= :first GROUP BY profile",
            {"month": month_start, "day": day_start, "first": first})]
