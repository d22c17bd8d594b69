"""One synchronous read of the active profile and the app's preferences, for the app's first frame
(stdlib sqlite3 only).

The app shows the profile in its top bar; reading it here, before the first frame, means the frame
the user first sees already says which profile routes, without waiting for aiosqlite and the
service to load. It never creates, migrates or waits: anything unusual returns None, and the
service (opened right after the first frame) reads the profile again and says what is wrong.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

PEEK_TIMEOUT_S = 0.05  # a writer holding the lock must not delay the first frame


def peek_connection(path: Path) -> sqlite3.Connection:
    """A read-only connection with a short busy timeout (set on the connection, like every one mesoclaw
    makes; short so that a writer holding the file cannot hold up the first frame)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=PEEK_TIMEOUT_S)
    conn.execute(f"PRAGMA busy_timeout = {int(PEEK_TIMEOUT_S * 1000)}")
    return conn


def peek_active_profile(path: Path) -> str | None:
    return peek_start(path)[0]


def peek_start(path: Path) -> tuple[str | None, dict[str, str]]:
    """The active profile and the app's remembered preferences (theme, last screen), in one read."""
    if not path.is_file():
        return None, {}
    try:
        conn = peek_connection(path)
        try:
            row = conn.execute("SELECT active_profile FROM router_config WHERE id = 1").fetchone()
            try:
                preferences = dict(conn.execute("SELECT name, value FROM preferences").fetchall())
            except sqlite3.OperationalError:  # a file from before schema 5: the service migrates it
                preferences = {}
        finally:
            conn.close()
    except sqlite3.Error:
        return None, {}
    value = row[0] if row else None
    # a hand-edited value is shown only if it looks like a profile name; the service corrects it
    profile = value if isinstance(value, str) and value.isalpha() and len(value) <= 16 else None
    return profile, {k: v for k, v in preferences.items() if isinstance(k, str) and isinstance(v, str)}
