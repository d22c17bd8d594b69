"""Numbers as they are kept and handed out: pure, stdlib only."""

from __future__ import annotations

from typing import Any

SIGNIFICANT_DIGITS = 10


def significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """`value` to `digits` significant digits: a cost of 0.0016523500000000001 (float arithmetic's
    tail) is 0.00165235, and stays exact to far below a millionth of a cent."""
    return float(f"{value:.{digits}g}")


def rounded(value: Any) -> Any:
    """A JSON-ready value with every float in it to SIGNIFICANT_DIGITS significant digits (dicts,
    lists and tuples walked; anything else as it is)."""
    if isinstance(value, float):
        return significant(value)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value
