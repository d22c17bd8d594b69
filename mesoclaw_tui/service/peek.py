"""What the app can show before the service is open: the active profile, read without aiosqlite."""

from __future__ import annotations

import os

from ..core.types import RoutingProfile
from ..settings import resolve_paths
from ..store.peek import peek_active_profile


def active_profile(db: str | os.PathLike[str] | None = None) -> RoutingProfile | None:
    """The profile the database names (None when it cannot tell at once: no file yet, a lock, a
    hand-edited value; the service says which once it is open)."""
    value = peek_active_profile(resolve_paths(db).db_path)
    try:
        return RoutingProfile(value) if value else None
    except ValueError:
        return None
