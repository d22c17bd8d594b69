"""Provider health: cooldowns, unusable keys, live checks and the models providers list."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiosqlite

from .values import storable

# provider health -------------------------------------------------------------------------------------


class ProviderStateMixin:
    conn: aiosqlite.Connection
    write: Callable[..., Any]
    rows: Callable[..., Any]

    async def provider_states(self) -> dict[str, dict[str, Any]]:
        return {r["provider"]: dict(r) for r in await self.rows("SELECT * FROM provider_state")}

    async def record_provider_failure(self, provider: str, error: str, *, cooldown_s: float | None = None,
                                      unusable_s: float | None = None) -> dict[str, Any]:
        """Count a failure; cooldown_s None means back off from the failure count (30 s doubling, 10 min cap)."""
        now = time.time()
        async with self.write() as db:
            row = await (await db.execute("SELECT failures FROM provider_state WHERE provider = ?",
                                          (provider,))).fetchone()
            failures = (row["failures"] if row else 0) + 1
            if cooldown_s is None:
                cooldown_s = min(30.0 * 2 ** (failures - 1), 600.0)
            await db.execute(
                "INSERT INTO provider_state (provider, failures, cooldown_until, unusable_until, last_error) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider) DO UPDATE SET failures = excluded.failures, "
                "cooldown_until = excluded.cooldown_until, "
                "unusable_until = COALESCE(excluded.unusable_until, provider_state.unusable_until), "
                "last_error = excluded.last_error, updated_at = CURRENT_TIMESTAMP",
                (provider, failures, now + cooldown_s if cooldown_s else None,
                 now + unusable_s if unusable_s else None, storable(error[:500])),
            )
        return {"failures": failures, "cooldown_s": cooldown_s}

    async def record_provider_success(self, provider: str) -> None:
        async with self.write() as db:
            await db.execute(
                "UPDATE provider_state SET failures = 0, cooldown_until = NULL, unusable_until = NULL, "
                "updated_at = CURRENT_TIMESTAMP WHERE provider = ? AND (failures > 0 OR cooldown_until IS NOT NULL "
                "OR unusable_until IS NOT NULL)", (provider,))

    async def record_check(self, provider: str, ok: bool, error: str | None, ms: int,
                           listed: list[dict[str, Any]] | None, *, refreshed: bool = False) -> None:
        """Store a live check (and the models it listed) for one provider, in one transaction."""
        now = time.time()
        async with self.write() as db:
            await db.execute(
                "INSERT INTO provider_state (provider, last_check_at, last_check_ok, last_check_error, last_check_ms) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider) DO UPDATE SET last_check_at = excluded.last_check_at, "
                "last_check_ok = excluded.last_check_ok, last_check_error = excluded.last_check_error, "
                "last_check_ms = excluded.last_check_ms, updated_at = CURRENT_TIMESTAMP",
                (provider, now, int(ok), storable(error), ms),
            )
            if ok:
                # A passing check proves the key works again and the provider answers.
                await db.execute("UPDATE provider_state SET failures = 0, cooldown_until = NULL, "
                                 "unusable_until = NULL WHERE provider = ?", (provider,))
            if ok and listed is not None:
                await db.execute("DELETE FROM provider_models WHERE provider = ?", (provider,))
                await db.executemany(
                    "INSERT OR REPLACE INTO provider_models (provider, model_id, context_window, max_output, "
                    "input_price, output_price, listed_at, price_source, price_as_of, price_approx) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(provider, storable(m["id"]), m.get("context_window"), m.get("max_output"), m.get("input_price"),
                      m.get("output_price"), now, m.get("price_source"), m.get("price_as_of"),
                      int(bool(m.get("price_approx")))) for m in listed],
                )
                await db.execute("DELETE FROM model_unavailable WHERE provider = ?", (provider,))
                if refreshed:
                    await db.execute("UPDATE provider_state SET refreshed_at = ? WHERE provider = ?",
                                     (now, provider))

    async def provider_models(self) -> dict[str, list[dict[str, Any]]]:
        listing: dict[str, list[dict[str, Any]]] = {}
        for row in await self.rows("SELECT * FROM provider_models ORDER BY provider, model_id"):
            listing.setdefault(row["provider"], []).append(dict(row))
        return listing

    async def mark_model_unavailable(self, provider: str, model_id: str, reason: str, for_s: float) -> None:
        async with self.write() as db:
            await db.execute(
                "INSERT OR REPLACE INTO model_unavailable (provider, model_id, reason, until) VALUES (?, ?, ?, ?)",
                (provider, storable(model_id), storable(reason[:500]), time.time() + for_s))

    async def unavailable_models(self) -> set[tuple[str, str]]:
        found = await self.rows("SELECT provider, model_id FROM model_unavailable WHERE until > ?", (time.time(),))
        return {(r[0], r[1]) for r in found}
