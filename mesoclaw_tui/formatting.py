"""Numbers as people read them, shared by the CLI and the app: prices and context sizes."""

from __future__ import annotations


def price(value: float | None) -> str:
    """USD per 1M tokens; None is unknown, never $0."""
    if value is None:
        return "unknown"
    if value == 0:
        return "$0"
    return f"${value:,.3f}" if value < 0.1 else f"${value:,.2f}"


def context(value: int | None) -> str:
    """A token count such as a context window: 128K, 1M."""
    if not value:
        return "?"
    if value >= 1_000_000 and value % 1_048_576 == 0:
        return f"{value // 1_048_576}M"
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    return f"{round(value / 1000)}K" if value >= 1000 else str(value)
