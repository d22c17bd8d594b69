"""The database: reads, the write transaction, router settings and user models (opening and
migrating the file: opening.py).

WAL and a busy timeout let the TUI, CLI calls, the scheduler and the server share one file. Every
read-modify-write runs inside one BEGIN IMMEDIATE transaction, so two processes never lose each
other's changes; a busy BEGIN or COMMIT is retried until the busy timeout, and every sqlite3 error
leaves as a StoreError (errors.py) that names the file and what to do.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from ..core.types import MesoclawFailure
from .agent_steps import AgentStepsMixin
from .alternatives import AlternativesMixin
from .chats import ChatsMixin
from .conversations import ConversationMixin
from .errors import StoreError, busy, describe, is_busy
from .health import ProviderStateMixin
from .jobs import JobsMixin
from .opening import (  # noqa: F401  (MIGRATIONS, SCHEMA_VERSION, schema_text, split_statements: re-exported)
    BUSY_TIMEOUT_MS,
    MIGRATIONS,
    SCHEMA_VERSION,
    open_checked,
    schema_text,
    split_statements,
)
from .presets import PresetsMixin

_BACKOFF_S = 0.01  # between tries of a busy statement (the busy handler already waited inside SQLite)

CONFIG_ROW = ("SELECT active_profile, custom_routes, task_overrides, created_at, updated_at "
              "FROM router_config WHERE id = 1")


@dataclass
class RouterConfigRow:
    active_profile: str
    custom_routes: dict[str, list[str]] = field(default_factory=dict)
    task_overrides: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""


def _config_values(config: RouterConfigRow) -> tuple[str, str, str]:
    """The columns the row is written as."""
    return (config.active_profile, json.dumps(config.custom_routes, sort_keys=True),
            json.dumps(config.task_overrides, sort_keys=True))


def _parse_json_column(name: str, raw: str | None, kind: type) -> Any:
    fix = "run `mesoclaw router reset` to clear it"
    if raw is None or raw.strip() == "":
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MesoclawFailure(
            f"router_config.{name} in the database is not valid JSON ({exc.msg} at char {exc.pos}); {fix}"
        ) from None
    if not isinstance(value, dict):
        raise MesoclawFailure(f"router_config.{name} in the database must be a JSON object; {fix}")
    for key, item in value.items():
        ok = isinstance(item, str) if kind is str else (
            isinstance(item, list) and all(isinstance(x, str) for x in item))
        if not ok:
            want = "a model name" if kind is str else "a list of model names"
            raise MesoclawFailure(f"router_config.{name}['{key}'] must be {want}; {fix}")
    return value



def _row_to_config(row: Any) -> RouterConfigRow:
    if row is None:
        raise MesoclawFailure("router_config has no row 1; run `mesoclaw router reset`")
    return RouterConfigRow(
        active_profile=row["active_profile"],
        custom_routes=_parse_json_column("custom_routes", row["custom_routes"], list),
        task_overrides=_parse_json_column("task_overrides", row["task_overrides"], str),
        created_at=row["created_at"] or "",
        updated_at=row["updated_at"] or "",
    )


class Store(ProviderStateMixin, ConversationMixin, ChatsMixin, JobsMixin, AgentStepsMixin, AlternativesMixin,
            PresetsMixin):
    def __init__(self, conn: aiosqlite.Connection, path: Path):
        self.conn = conn
        self.path = path
        # Commits through this connection; with PRAGMA data_version (which counts only other
        # connections' commits) it tells a cache whether anything changed since it was filled.
        self.commits = 0
        # Every commit through this connection, the cached=False ones (usage rows) too: what a cache of
        # the usage itself (the budgets' spend) is keyed by.
        self.all_commits = 0

    @classmethod
    async def open(cls, path: Path, *, create_dirs: bool = True) -> Store:
        """The database at `path`, checked and migrated (store/opening.py) in a worker thread; then
        aiosqlite takes over that very connection, so its own thread starts only once the file is
        known to be usable and nothing can fail while it starts."""
        raw = await asyncio.to_thread(open_checked, path, create_dirs=create_dirs)
        conn = aiosqlite.Connection(lambda: raw, iter_chunk_size=64)
        await conn
        return cls(conn, path)

    async def close(self) -> None:
        await self.conn.close()

    # reading and writing ---------------------------------------------------------------------------

    async def rows(self, sql: str, params: Any = ()) -> list[Any]:
        """Every row of a query, fetched in the same thread hop as it runs.

        Never `execute` then `fetch` in two hops: between them the statement holds a read snapshot
        open on the shared connection, and a BEGIN IMMEDIATE from another coroutine in that window
        fails at once with SQLITE_BUSY_SNAPSHOT ("database is locked"), whatever the busy timeout.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                return list(await self.conn.execute_fetchall(sql, params))
            except sqlite3.Error as exc:
                if not is_busy(exc) or time.monotonic() > deadline:
                    raise self._problem(exc) from None
                await asyncio.sleep(_BACKOFF_S)

    async def row(self, sql: str, params: Any = ()) -> Any:
        found = await self.rows(sql, params)
        return found[0] if found else None

    def _problem(self, exc: sqlite3.Error, waited_s: float | None = None) -> StoreError:
        if waited_s is not None and is_busy(exc):
            return busy(self.path, round(waited_s))
        return describe(exc, self.path)

    @asynccontextmanager
    async def write(self, *, cached: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, taken before the first read so the read-modify-write is atomic.

        `cached=False`: it writes nothing the service caches by change_stamp (router settings, provider
        health, models) — a conversation, a message, a usage row — so those caches stay valid. Every
        reply writes one such row; letting it count would re-read the settings and availability for the
        next request.

        The lock serialises this process's coroutines: they share one connection, and a second BEGIN
        on it while a transaction is open fails ("cannot start a transaction within a transaction").
        It is created lazily so it belongs to the loop that uses the store. A busy database is
        waited for (BEGIN and COMMIT are retried until the busy timeout); any sqlite3 error leaves
        the transaction rolled back and becomes a StoreError that says what happened.
        """
        async with self._lock():
            await self._begin()
            try:
                yield self.conn
            except BaseException as exc:
                await self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise self._problem(exc) from None
                raise
            else:
                await self._commit()
                self.all_commits += 1
                if cached:
                    self.commits += 1

    def _lock(self) -> asyncio.Lock:
        """Serialises this process's writers. Created lazily, so it belongs to the loop that uses the store."""
        lock: asyncio.Lock | None = getattr(self, "_write_lock", None)
        if lock is None:
            lock = self._write_lock = asyncio.Lock()
        return lock

    async def insert(self, sql: str, params: Any = ()) -> int:
        """One INSERT that needs no read before it, as its own transaction (the connection autocommits):
        one trip to the database's thread where write() takes three (BEGIN, the statement, COMMIT).
        Its id. Retried while busy until the busy timeout, like the rest."""
        lock = self._lock()
        started = time.monotonic()
        async with lock:  # never inside another coroutine's open transaction on this connection
            while True:
                try:
                    found = int((await self.conn.execute(sql, params)).lastrowid)
                    self.all_commits += 1
                    return found
                except sqlite3.Error as exc:
                    waited = time.monotonic() - started
                    if not is_busy(exc) or waited > BUSY_TIMEOUT_MS / 1000:
                        raise self._problem(exc, waited) from None
                    await asyncio.sleep(_BACKOFF_S)

    async def _begin(self) -> None:
        started = time.monotonic()
        while True:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                return
            except asyncio.CancelledError:
                # aiosqlite still runs the BEGIN on its thread; undo it or the next writer finds it open.
                await self._rollback()
                raise
            except sqlite3.Error as exc:
                waited = time.monotonic() - started
                if not is_busy(exc) or waited > BUSY_TIMEOUT_MS / 1000:
                    raise self._problem(exc, waited) from None
                await asyncio.sleep(_BACKOFF_S)

    async def _commit(self) -> None:
        started = time.monotonic()
        while True:
            try:
                await self.conn.execute("COMMIT")
                return
            except sqlite3.Error as exc:
                waited = time.monotonic() - started
                if is_busy(exc) and waited <= BUSY_TIMEOUT_MS / 1000 and self.conn.in_transaction:
                    await asyncio.sleep(_BACKOFF_S)  # a busy COMMIT leaves the transaction open: try again
                    continue
                await self._rollback()
                raise self._problem(exc, waited) from None

    async def _rollback(self) -> None:
        """Roll back if a transaction is open. SQLite rolls back by itself on some errors (a full disk,
        an I/O error): a ROLLBACK then would fail with "no transaction is active" and hide the cause."""
        if not self.conn.in_transaction:
            return
        try:
            await self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    async def data_version(self) -> int:
        """Changes when another connection commits: how the TUI notices a CLI change."""
        return (await self.rows("PRAGMA data_version"))[0][0]

    async def change_stamp(self) -> tuple[int, int]:
        """Changes whenever any connection has committed, this one included unless `write(cached=False)`."""
        return await self.data_version(), self.commits

    async def usage_stamp(self) -> tuple[int, int]:
        """Changes whenever any connection has committed, this one's usage rows included."""
        return await self.data_version(), self.all_commits

    # router_config ---------------------------------------------------------------------------

    async def read_router_config(self) -> RouterConfigRow:
        return _row_to_config(await self.row(CONFIG_ROW))

    async def update_router_config(self, change: Callable[[RouterConfigRow], None]) -> RouterConfigRow:
        """Read, change and write the singleton row in one write transaction. A change that changes
        nothing writes nothing (no new updated_at, nothing for another process to reload)."""
        async with self.write() as db:
            row = await (await db.execute(CONFIG_ROW)).fetchone()
            config = _row_to_config(row)
            before = _config_values(config)
            change(config)
            after = _config_values(config)
            if after != before:
                await db.execute(
                    "UPDATE router_config SET active_profile = ?, custom_routes = ?, task_overrides = ?, "
                    "updated_at = CURRENT_TIMESTAMP WHERE id = 1", after)
        return config

    async def reset_router_config(self) -> None:
        """Back to the defaults without reading the row, so it also repairs a corrupt one."""
        async with self.write() as db:
            await db.execute("INSERT OR IGNORE INTO router_config (id, active_profile) VALUES (1, 'balanced')")
            await db.execute(
                "UPDATE router_config SET active_profile = 'balanced', custom_routes = NULL, "
                "task_overrides = NULL, updated_at = CURRENT_TIMESTAMP WHERE id = 1"
            )

    # user models ----------------------------------------------------------------------------------

    async def list_user_models(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.rows(
            "SELECT provider, model_id, canonical, cost_tier, context_window, max_output, input_price, "
            "output_price, best_for, created_at, price_source, price_as_of, price_approx FROM user_models "
            "ORDER BY provider, model_id")]

    async def replace_user_models(self, models: list[dict[str, Any]], *, clear: bool = False) -> None:
        """Insert or replace user models (and with clear, drop every other one) in one transaction."""
        async with self.write() as db:
            if clear:
                await db.execute("DELETE FROM user_models")
            await self._upsert_user_models(db, models)

    @staticmethod
    async def _upsert_user_models(db: aiosqlite.Connection, models: list[dict[str, Any]]) -> None:
        await db.executemany(
            "INSERT OR REPLACE INTO user_models (provider, model_id, canonical, cost_tier, context_window, "
            "max_output, input_price, output_price, best_for, price_source, price_as_of, price_approx) VALUES "
            "(:provider, :model_id, :canonical, :cost_tier, :context_window, :max_output, :input_price, "
            ":output_price, :best_for, :price_source, :price_as_of, :price_approx)",
            [{"max_output": None, "best_for": "", "price_source": None, "price_as_of": None, "price_approx": 0, **m}
             for m in models],
        )

    async def change_user_model(self, provider: str, model_id: str,
                                change: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> dict[str, Any] | None:
        """Read one user model (None when there is none) and write the row `change` returns in its place
        (nothing when it returns None), in one write transaction; an exception from `change` writes
        nothing. Returns what was written."""
        async with self.write() as db:
            found = await (await db.execute(
                "SELECT provider, model_id, canonical, cost_tier, context_window, max_output, input_price, "
                "output_price, best_for, price_source, price_as_of, price_approx FROM user_models "
                "WHERE provider = ? AND model_id = ?", (provider, model_id))).fetchone()
            row = change(dict(found) if found else None)
            if row is not None:
                await self._upsert_user_models(db, [row])
            return row

    async def remove_user_model(self, provider: str, model_id: str) -> bool:
        async with self.write() as db:
            cursor = await db.execute(
                "DELETE FROM user_models WHERE provider = ? AND model_id = ?", (provider, model_id)
            )
            return cursor.rowcount > 0

    async def import_all(self, change: Callable[[RouterConfigRow], None], models: list[dict[str, Any]], *,
                         replace: bool) -> list[tuple[str, str]]:
        """An import, all or nothing: change the router settings as `change` says and add (or replace) the
        user models; with replace, every other user model is removed. Returns the removed ones."""
        async with self.write() as db:
            config = _row_to_config(await (await db.execute(CONFIG_ROW)).fetchone())
            change(config)
            await db.execute(
                "UPDATE router_config SET active_profile = ?, custom_routes = ?, task_overrides = ?, "
                "updated_at = CURRENT_TIMESTAMP WHERE id = 1",
                (config.active_profile, json.dumps(config.custom_routes, sort_keys=True),
                 json.dumps(config.task_overrides, sort_keys=True)),
            )
            removed: list[tuple[str, str]] = []
            if replace:
                kept = {(m["provider"], m["model_id"]) for m in models}
                existing = await (await db.execute("SELECT provider, model_id FROM user_models "
                                                   "ORDER BY provider, model_id")).fetchall()
                removed = [(r[0], r[1]) for r in existing if (r[0], r[1]) not in kept]
                await db.execute("DELETE FROM user_models")
            await self._upsert_user_models(db, models)
            return removed
