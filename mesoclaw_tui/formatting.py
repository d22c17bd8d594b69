"""Numbers as people read them, shared by the CLI and the app: prices, costs and context sizes."""

from __future__ import annotations

import math


def price(value: float | None) -> str:
    """USD per 1M tokens; None is unknown, never $0."""
    if value is None:
        return "unknown"
    if value == 0:
        return "$0"
    return f"${value:,.3f}" if value < 0.1 else f"${value:,.2f}"


def usd(value: float | None) -> str:
    """A cost in dollars, with enough digits that a small one never reads $0.000: four decimals from a
    cent up ($1.2346, $0.0500), three significant digits below ($0.00165, $0.000133); None is
    "unknown", never $0."""
    if value is None:
        return "unknown"
    if value == 0:
        return "$0"
    if abs(value) >= 0.01:
        return f"${value:,.4f}"
    decimals = min(12, 2 - math.floor(math.log10(abs(value))))
    return f"${value:.{decimals}f}"


def context(value: int | None) -> str:
    """A token count such as a context window: 128K, 1M."""
    if not value:
        return "?"
    if value >= 1_000_000 and value % 1_048_576 == 0:
        return f"{value // 1_048_576}M"
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    return f"{round(value / 1000)}K" if value >= 1000 else str(value)
