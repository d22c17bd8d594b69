"""What the app can show before the service is open: the active profile, read without aiosqlite.

Only the standard library is loaded on this path (paths.py, store/peek.py): the first frame waits for
nothing else. The value is the database's as it stands; the service, opened right after the first
frame, reads it again and corrects what a hand edit may have broken.
"""

from __future__ import annotations

import os

from ..paths import resolve_paths
from ..store.peek import peek_active_profile, peek_start


def active_profile(db: str | os.PathLike[str] | None = None) -> str | None:
    """The profile the database names, or None when it cannot tell at once (no file yet, a lock)."""
    return peek_active_profile(resolve_paths(db).db_path)


def first_frame(db: str | os.PathLike[str] | None = None) -> tuple[str | None, dict[str, str]]:
    """The profile and the app's preferences (theme, last screen) as the database has them now."""
    return peek_start(resolve_paths(db).db_path)
