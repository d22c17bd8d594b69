"""The database: opening, migrating, the write transaction, router settings and user models.

WAL and a busy timeout let the TUI, CLI calls, the scheduler and the server share one file. Every
read-modify-write runs inside one BEGIN IMMEDIATE transaction, so two processes never lose each
other's changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from ..core.types import MesoclawError, MesoclawFailure
from .conversations import ConversationMixin
from .health import ProviderStateMixin
from .jobs import JobsMixin

CONFIG_ROW = ("SELECT active_profile, custom_routes, task_overrides, created_at, updated_at "
              "FROM router_config WHERE id = 1")
SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 30_000
PRICE_COLUMNS = ("price_source TEXT", "price_as_of TEXT", "price_approx INTEGER NOT NULL DEFAULT 0")

# Steps that turn a database of version N-1 into version N without losing data; schema.sql (all
# IF NOT EXISTS) is re-applied afterwards to create whatever is new. An `ALTER TABLE t ADD COLUMN`
# is skipped when t does not exist yet (schema.sql then creates it whole) or already has the column.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (),  # schema 2 only adds tables (provider health, conversations, usage): schema.sql creates them
    3: (),  # schema 3 only adds tables (jobs, job_runs, scheduler_lease): schema.sql creates them
    # schema 4: where a listed or user-added model's prices come from (issue 12)
    4: tuple(f"ALTER TABLE {table} ADD COLUMN {column}"
             for table in ("provider_models", "user_models") for column in PRICE_COLUMNS),
}
_ADD_COLUMN = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (\w+)")


def schema_text() -> str:
    """schema.sql: shipped inside the package; in a source checkout it is at the repository root."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "schema.sql", package.parent / "schema.sql"):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise MesoclawFailure("schema.sql is missing from the installation; reinstall mesoclaw")


def split_statements(script: str) -> list[str]:
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s and not all(ln.strip().startswith("--") for ln in s.splitlines())]


async def _migration_step(db: aiosqlite.Connection, statement: str) -> None:
    added = _ADD_COLUMN.match(statement)
    if added:
        columns = {row[1] for row in await db.execute_fetchall(f"PRAGMA table_info({added[1]})")}
        if not columns or added[2] in columns:  # schema.sql creates the table whole; or done already
            return
    await db.execute(statement)


@dataclass
class RouterConfigRow:
    active_profile: str
    custom_routes: dict[str, list[str]] = field(default_factory=dict)
    task_overrides: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""


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


class Store(ProviderStateMixin, ConversationMixin, JobsMixin):
    def __init__(self, conn: aiosqlite.Connection, path: Path):
        self.conn = conn
        self.path = path
        # Commits through this connection; with PRAGMA data_version (which counts only other
        # connections' commits) it tells a cache whether anything changed since it was filled.
        self.commits = 0

    @classmethod
    async def open(cls, path: Path, *, create_dirs: bool = True) -> Store:
        if create_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.parent.is_dir():
            raise MesoclawError(f"cannot create the database {path}: {path.parent} is not a directory")
        if not path.exists():
            # Conversations are private: the file (and SQLite's -wal/-shm, which copy its mode) is 0600.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise MesoclawFailure(f"cannot open the database {path}: {exc}") from None
        conn.row_factory = aiosqlite.Row
        store = cls(conn, path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await store._setup()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise MesoclawFailure(f"{path} is not a usable mesoclaw database: {exc}") from None
        except BaseException:  # a newer schema, say: aiosqlite's thread would keep the process alive
            await conn.close()
            raise
        return store

    async def _setup(self) -> None:
        """WAL and the schema. Switching a new file to WAL can fail with "locked" without waiting for the
        busy handler while another process creates the same file, so that step retries."""
        deadline = asyncio.get_running_loop().time() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = (await (await self.conn.execute("PRAGMA journal_mode")).fetchone())[0]
                if mode.lower() != "wal":
                    await self.conn.execute("PRAGMA journal_mode = WAL")
                version = (await (await self.conn.execute("PRAGMA user_version")).fetchone())[0]
                if version != SCHEMA_VERSION:
                    await self._migrate()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.02)

    async def close(self) -> None:
        await self.conn.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, taken before the first read so the read-modify-write is atomic.

        The lock serialises this process's coroutines: they share one connection, and a second BEGIN
        on it while a transaction is open fails ("cannot start a transaction within a transaction").
        It is created lazily so it belongs to the loop that uses the store.
        """
        lock: asyncio.Lock | None = getattr(self, "_write_lock", None)
        if lock is None:
            lock = self._write_lock = asyncio.Lock()
        async with lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                # aiosqlite still runs the BEGIN on its thread; undo it or the next writer finds it open.
                try:
                    await self.conn.execute("ROLLBACK")
                except sqlite3.Error:  # the BEGIN itself had failed: nothing to undo
                    pass
                raise
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")
                self.commits += 1

    async def _migrate(self) -> None:
        async with self.write() as db:
            version = (await (await db.execute("PRAGMA user_version")).fetchone())[0]
            if version > SCHEMA_VERSION:
                raise MesoclawFailure(
                    f"{self.path} was written by a newer mesoclaw (schema {version} > {SCHEMA_VERSION}); "
                    "upgrade mesoclaw"
                )
            if version == SCHEMA_VERSION:
                return
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS.get(step, ()):
                    if version > 0:  # a fresh file gets the whole schema below instead
                        await _migration_step(db, statement)
            for statement in split_statements(schema_text()):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    async def data_version(self) -> int:
        """Changes when another connection commits: how the TUI notices a CLI change."""
        return (await self.conn.execute_fetchall("PRAGMA data_version"))[0][0]  # one thread hop, not two

    async def change_stamp(self) -> tuple[int, int]:
        """Changes whenever any connection, this one included, has committed."""
        return await self.data_version(), self.commits

    # router_config ---------------------------------------------------------------------------

    async def read_router_config(self) -> RouterConfigRow:
        cursor = await self.conn.execute(CONFIG_ROW)
        return _row_to_config(await cursor.fetchone())

    async def update_router_config(self, change: Callable[[RouterConfigRow], None]) -> RouterConfigRow:
        """Read, change and write the singleton row in one write transaction."""
        async with self.write() as db:
            row = await (await db.execute(CONFIG_ROW)).fetchone()
            config = _row_to_config(row)
            change(config)
            await db.execute(
                "UPDATE router_config SET active_profile = ?, custom_routes = ?, task_overrides = ?, "
                "updated_at = CURRENT_TIMESTAMP WHERE id = 1",
                (config.active_profile, json.dumps(config.custom_routes, sort_keys=True),
                 json.dumps(config.task_overrides, sort_keys=True)),
            )
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
        cursor = await self.conn.execute(
            "SELECT provider, model_id, canonical, cost_tier, context_window, max_output, input_price, "
            "output_price, best_for, created_at, price_source, price_as_of, price_approx FROM user_models "
            "ORDER BY provider, model_id"
        )
        return [dict(r) for r in await cursor.fetchall()]

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

    async def remove_user_model(self, provider: str, model_id: str) -> bool:
        async with self.write() as db:
            cursor = await db.execute(
                "DELETE FROM user_models WHERE provider = ? AND model_id = ?", (provider, model_id)
            )
            return cursor.rowcount > 0

    async def import_all(self, config: RouterConfigRow, models: list[dict[str, Any]]) -> None:
        """Replace the router settings and the user models at once: all or nothing."""
        async with self.write() as db:
            await db.execute(
                "UPDATE router_config SET active_profile = ?, custom_routes = ?, task_overrides = ?, "
                "updated_at = CURRENT_TIMESTAMP WHERE id = 1",
                (config.active_profile, json.dumps(config.custom_routes, sort_keys=True),
                 json.dumps(config.task_overrides, sort_keys=True)),
            )
            await db.execute("DELETE FROM user_models")
            await self._upsert_user_models(db, models)
