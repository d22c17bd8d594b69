"""Opening the database file: looked at before anything is written to it, then WAL and the schema.

This runs with the standard library's sqlite3, in one worker thread, before aiosqlite takes the
connection over (Store.open): a file that cannot be used is refused here, with its connection
closed, so no aiosqlite thread is ever left running (a left thread kept the process alive for ever)
and nothing is written to a file that is not mesoclaw's (not even the switch to WAL).

Refused, each as one line naming the file and what to do: a path that is not a regular file, a file
that is not SQLite (its header), someone else's SQLite database (tables but no router_config, or
another application id), a database written by a newer mesoclaw, and every sqlite3 error (a full
disk, damage, permissions) through errors.describe. A 0-byte file is a new database (that is how
mesoclaw creates one), unless a -wal file beside it still holds a former database's changes.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import time
from pathlib import Path

from ..core.types import MesoclawError
from .errors import Problem, StoreError, describe, disk_full, is_busy

SCHEMA_VERSION = 5
BUSY_TIMEOUT_MS = 30_000
APPLICATION_ID = 0x6D65736F  # "meso": marks the file as mesoclaw's (PRAGMA application_id)
SQLITE_HEADER = b"SQLite format 3\x00"

# Steps that turn a database of version N-1 into version N without losing data; schema.sql (all
# IF NOT EXISTS) is re-applied afterwards to create whatever is new. An "ALTER TABLE t ADD COLUMN c"
# is skipped when t does not exist yet (schema.sql creates it whole) or already has c.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (),  # schema 2 only adds tables (provider health, conversations, usage): schema.sql creates them
    3: (),  # schema 3 only adds tables (jobs, job_runs, scheduler_lease): schema.sql creates them
    4: (  # schema 4: heartbeat counters on claims and the lease, so a clock jump cannot steal them
        "ALTER TABLE jobs ADD COLUMN claim_beat INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN claim_renew_s REAL",
        "ALTER TABLE scheduler_lease ADD COLUMN beat INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE scheduler_lease ADD COLUMN renew_s REAL",
        # and where a listed or user-added model's prices come from (issue 12)
        *(f"ALTER TABLE {table} ADD COLUMN {column}" for table in ("provider_models", "user_models")
          for column in ("price_source TEXT", "price_as_of TEXT", "price_approx INTEGER NOT NULL DEFAULT 0")),
    ),
    5: (  # schema 5: agent runs (issue 14): a step's number and tool calls on its message; agent jobs;
        # what a conversation keeps (system prompt, preset settings) and alternatives (issue 15): the
        # presets and escalations tables and the usage_spend index come from schema.sql
        "ALTER TABLE messages ADD COLUMN agent_step INTEGER",
        "ALTER TABLE messages ADD COLUMN tool_calls TEXT",
        "ALTER TABLE jobs ADD COLUMN agent TEXT",
        *(f"ALTER TABLE conversations ADD COLUMN {column}" for column in (
            "system_prompt TEXT", "preset TEXT", "profile TEXT", "temperature REAL", "max_tokens INTEGER")),
        "ALTER TABLE messages ADD COLUMN alt_group INTEGER",
        "ALTER TABLE messages ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0",
        # and the full-text index of the messages there are (schema.sql adds its triggers and the
        # preferences table); skipped, like every statement naming messages_fts, without FTS5
        "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content = 'messages', "
        "content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2')",
        "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
    ),
}
FTS_TABLE = "messages_fts"
_ADD_COLUMN = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", re.IGNORECASE)


def schema_text() -> str:
    """schema.sql: shipped inside the package; in a source checkout it is at the repository root."""
    from ..core.types import MesoclawFailure

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


def connect(path: Path, *, read_only: bool = False, timeout_s: float = BUSY_TIMEOUT_MS / 1000) -> sqlite3.Connection:
    """A stdlib connection with the busy timeout set (every connection mesoclaw makes goes through here)."""
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout_s,
                               isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
    return conn


def open_checked(path: Path, *, create_dirs: bool = True) -> sqlite3.Connection:
    """The database at `path`, checked, in WAL mode and at SCHEMA_VERSION; a StoreError (or a
    MesoclawError for a bad --db folder) otherwise, with nothing left open."""
    _prepare_file(path, create_dirs)
    try:
        conn = connect(path)
    except sqlite3.Error as exc:
        raise describe(exc, path) from None
    try:
        conn.row_factory = sqlite3.Row
        _setup(conn, path)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise describe(exc, path) from None
        raise
    return conn


def _prepare_file(path: Path, create_dirs: bool) -> None:
    """The folder and the file exist, and the file looks like SQLite (or is empty): checked with plain
    file reads, so a bad path is said before SQLite is involved."""
    if create_dirs:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder {path.parent} for the database: {exc.strerror}",
                             Problem.UNREADABLE) from None
    elif not path.parent.is_dir():
        raise MesoclawError(f"cannot create the database {path}: {path.parent} is not a directory")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        _create_private(path)
        return
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}", Problem.UNREADABLE) from None
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(f"{path} is not a regular file: give the database a file path with --db or "
                         "MESOCLAW_HOME", Problem.UNREADABLE)
    _check_header(path, info.st_size)


def _create_private(path: Path) -> None:
    # Conversations are private: the file (and SQLite's -wal/-shm, which copy its mode) is 0600.
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC
            raise disk_full(path) from None
        raise StoreError(f"cannot create the database {path}: {exc.strerror}", Problem.UNREADABLE) from None


def _check_header(path: Path, size: int) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}; it must be readable and writable by you "
                         f"(chmod 600 {path})", Problem.UNREADABLE) from None
    if size == 0:
        wal = path.with_name(path.name + "-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            raise StoreError(f"{path} is empty but {wal.name} beside it holds changes of the database that was "
                             "there: restore the file from a backup, or move both aside to start afresh",
                             Problem.DAMAGED)
        return
    if head != SQLITE_HEADER:
        raise StoreError(f"{path} is not a SQLite database: move it aside (mesoclaw then creates a new one) or "
                         "give another path with --db", Problem.FOREIGN)


def _setup(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse what is not ours, then WAL and the schema. Switching a new file to WAL can fail with
    "locked" without waiting for the busy handler while another process creates the same file, so
    the whole step is retried until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            version = _refuse_foreign_or_newer(conn, path)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            if version != SCHEMA_VERSION:
                _migrate(conn, path)
            return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _refuse_foreign_or_newer(conn: sqlite3.Connection, path: Path) -> int:
    """The file's schema version, after making sure it is mesoclaw's and not from a newer mesoclaw.
    Only reads: a foreign file is left exactly as it was."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = sorted(r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    ours = app_id == APPLICATION_ID or (app_id == 0 and version > 0 and "router_config" in tables)
    if app_id == 0 and version == 0 and not tables:
        return version  # a new, empty database
    if not ours:
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        raise StoreError(f"{path} is not a mesoclaw database (it holds {shown or 'no tables'}; application id "
                         f"{app_id}, version {version}): give mesoclaw its own file with --db or MESOCLAW_HOME; "
                         "nothing was written to it", Problem.FOREIGN)
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer mesoclaw (schema {version} > {SCHEMA_VERSION}): upgrade "
                         "mesoclaw, or give this one another database with --db", Problem.NEWER)
    return version


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _refuse_foreign_or_newer(conn, path)  # another process may have migrated meanwhile
        if version != SCHEMA_VERSION:
            fts = has_fts5(conn)
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS.get(step, ()):
                    # a fresh file gets the whole schema
                    if version > 0 and _needed(conn, statement) and (fts or FTS_TABLE not in statement):
                        conn.execute(statement)
            for statement in split_statements(schema_text()):
                if fts or FTS_TABLE not in statement:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def has_fts5(conn: sqlite3.Connection) -> bool:
    """Whether this SQLite can index text (FTS5 is built into the SQLite of python.org's and most
    distributions' Pythons, but a build may leave it out)."""
    try:
        return bool(conn.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0])
    except sqlite3.Error:
        return False


def _needed(conn: sqlite3.Connection, statement: str) -> bool:
    if FTS_TABLE in statement:  # indexing the messages there are: none before schema 2
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'").fetchone() \
            is not None
    match = _ADD_COLUMN.match(statement.strip())
    if match is None:
        return True
    table, column = match.groups()
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    return bool(columns) and column not in columns
