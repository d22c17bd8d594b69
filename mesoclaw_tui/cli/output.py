"""Printing for the CLI: JSON for scripts, Rich tables for people (plain when NO_COLOR or piped)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from ..formatting import context as tokens  # noqa: F401  (re-exported for the commands)
from ..formatting import price  # noqa: F401

TIER_STYLES = {"low": "green", "medium": "yellow", "high": "red"}


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def is_plain() -> bool:
    return bool(os.environ.get("NO_COLOR")) or not sys.stdout.isatty()


def piped_width() -> int:
    """Width for output going to a pipe: $COLUMNS, else the terminal the user sits at (stderr,
    e.g. `mesoclaw router status | less`), else wide enough not to fold IDs."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except OSError:
        return 160


def console(stderr: bool = False):
    from rich.console import Console

    plain = is_plain()
    width = None if sys.stdout.isatty() else piped_width()
    return Console(stderr=stderr, no_color=plain, highlight=False, width=width,
                   color_system=None if plain else "auto", emoji=False)


def table(*columns: str, title: str | None = None):
    from rich import box
    from rich.table import Table

    t = Table(title=title, box=None if is_plain() else box.SIMPLE_HEAD, title_justify="left",
              pad_edge=False, show_edge=False)
    for column in columns:
        t.add_column(column, overflow="fold")
    return t


def tier(value: str) -> str:
    style = TIER_STYLES.get(value)
    return f"[{style}]{value}[/]" if style and not is_plain() else value


def mark(ok: bool) -> str:
    if is_plain():
        return "yes" if ok else "no"
    return "[green]✓[/]" if ok else "[red]✗[/]"


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def usd(value: float | None) -> str:
    """Dollars with enough digits that a small cost does not round to $0."""
    if value is None:
        return "unknown"
    if value == 0:
        return "$0"
    if abs(value) >= 0.01:
        return f"${value:,.4f}"
    return f"${value:.2g}" if abs(value) < 1e-6 else f"${value:.6f}"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
