"""Token estimates without a tokenizer, good enough to tell whether a context window can hold a request."""

from __future__ import annotations

import re

# CJK ideographs, kana, hangul and fullwidth forms take about one token a character.
_WIDE_PATTERN = r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]"
_wide: re.Pattern[str] | None = None  # compiled on first non-ASCII text: most start-ups never need it


def estimate_tokens(text: str) -> int:
    """About 4 characters a token for Latin script and 1 a character for CJK."""
    if text.isascii():
        return (len(text) + 3) // 4
    global _wide
    if _wide is None:
        _wide = re.compile(_WIDE_PATTERN)
    wide = len(_wide.findall(text))
    return wide + (len(text) - wide + 3) // 4
