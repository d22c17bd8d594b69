"""Reading loosely typed numbers out of providers' JSON."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


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


def loads(data: str | bytes) -> Any:
    """``json.loads``, with every lone surrogate escape (``"\\udc9b"``, valid JSON that no UTF-8
    encoder accepts) replaced by U+FFFD, so provider text can be printed, stored and re-sent.

    A string can only hold a surrogate if its JSON spelled one as an escape (decoding the bytes
    already replaced invalid UTF-8), so the usual cost is one substring search for ``\\u``.
    """
    value = json.loads(data)
    if type(data) is str:
        if "\\u" in data and _SURROGATE_ESCAPE.search(data):
            value = _scrub(value)
    elif b"\\u" in data and _SURROGATE_ESCAPE_BYTES.search(data):
        value = _scrub(value)
    return value


def has_surrogate_escape(data: str | bytes) -> bool:
    """Whether JSON text escapes a surrogate; call it only when ``\\u`` is in ``data`` (the
    parsers test that inline, as it is almost never so)."""
    if type(data) is str:
        return _SURROGATE_ESCAPE.search(data) is not None
    return _SURROGATE_ESCAPE_BYTES.search(data) is not None


def scrub(value: Any) -> Any:
    """Every lone surrogate in a parsed JSON value replaced by U+FFFD."""
    return _scrub(value)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        # A valid pair was already joined by json.loads, so what is left of a surrogate is lone.
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value
