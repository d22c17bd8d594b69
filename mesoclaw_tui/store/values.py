"""Values as SQLite can store them.

A str holding a lone surrogate (a provider's JSON may carry "\\udc9b", which is valid JSON) cannot be
encoded as UTF-8: sqlite3 raises UnicodeEncodeError and the whole write is lost (a reply, a job's
result). Such text is stored with U+FFFD in place of the surrogate; everything else is stored exact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: Any) -> Any:
    if type(value) is not str or value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value


def storable_row(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: storable(value) for key, value in values.items()}


def storable_params(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(storable(value) for value in values)
