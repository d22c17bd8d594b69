"""Persistence: this package is the only place that writes SQL.

    database       Store (aiosqlite): reads, the write transaction (busy retried), router settings, user models
    opening        the file checked (not SQLite, foreign, newer, damaged), WAL, migrations: stdlib sqlite3
    errors         StoreError: every SQLite error as one line naming the file and what to do
    values         text as SQLite can store it (a lone surrogate becomes U+FFFD)
    conversations  conversations, messages, usage (part of Store)
    agent_steps    an agent run's steps and their tool calls (part of Store)
    chats          full-text search, a conversation's cost, export and import whole, preferences (part of Store)
    health         provider health, live checks, provider listings (part of Store)
    jobs           scheduled jobs, runs, the scheduler lease and claims (part of Store)
    alternatives   the alternatives of a conversation's last exchange: replaced, hidden, shown (part of Store)
    presets        presets, escalations, and the spend a budget is checked against (part of Store)
    peek           one synchronous read before the app's first frame (stdlib sqlite3, no aiosqlite)

Names are loaded on first use (PEP 562), so `peek` does not import aiosqlite.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {name: "database" for name in (
    "BUSY_TIMEOUT_MS", "CONFIG_ROW", "MIGRATIONS", "SCHEMA_VERSION", "RouterConfigRow", "Store", "schema_text",
    "split_statements")}
__all__ = ["BUSY_TIMEOUT_MS", "CONFIG_ROW", "MIGRATIONS", "SCHEMA_VERSION", "RouterConfigRow", "Store",
           "schema_text", "split_statements"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .database import (
        BUSY_TIMEOUT_MS,
        CONFIG_ROW,
        MIGRATIONS,
        SCHEMA_VERSION,
        RouterConfigRow,
        Store,
        schema_text,
        split_statements,
    )
