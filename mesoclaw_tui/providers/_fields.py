"""Reading loosely typed numbers out of providers' JSON."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def count(value: Any) -> int | None:
    """A token count as sent, or None when absent or not an integer (never a guessed 0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def limit(value: Any) -> int | None:
    """A context or output limit: only positive integers mean something (Anthropic sends 0 for unknown)."""
    value = count(value)
    return value if value is not None and value > 0 else None


def per_million(value: Any) -> float | None:
    """USD per token (a decimal string such as "0.0000025") -> USD per 1M tokens (2.5).

    Decimal keeps the conversion exact; negative prices (OpenRouter's "-1" for routers whose
    price varies) mean unknown.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        price = Decimal(str(value)) * 1_000_000
    except InvalidOperation:
        return None
    return float(price) if price.is_finite() and price >= 0 else None
