"""Text from outside (provider replies and errors, model ids, files, tool output) made safe to show
in a terminal. Pure; it runs on every streamed delta, so clean text costs one C-level check.

A terminal acts on control characters: ESC starts sequences that set the window title (OSC 0),
write the clipboard (OSC 52), clear the screen or move the cursor (CSI); C1 controls such as
U+009B are CSI on their own; CR and BS overwrite what was shown. Bidi override and isolate
characters reorder what is shown, so text can read differently from what it is. `neutralise`
replaces each such character by a visible stand-in of the same length (one character for one),
so the spans of styled text stay where they were:

- C0 controls other than newline and tab, and DEL: their Unicode Control Picture (ESC shows as
  ␛, BEL as ␇, CR as ␍, DEL as ␡);
- C1 controls (U+0080-U+009F), bidi embeddings, overrides and isolates (U+202A-U+202E,
  U+2066-U+2069) and lone surrogates (bytes that were not UTF-8): U+FFFD, the replacement
  character (�).

An escape sequence split across two deltas is neutralised too: each character is replaced on its
own, so no state is carried from one piece of text to the next.
"""

from __future__ import annotations

import re

_NEWLINE, _TAB, _DEL = 0x0A, 0x09, 0x7F
REPLACEMENT = "\ufffd"

# Every character neutralise replaces; all of them are non-printable for str.isprintable.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _stand_in(code: int) -> str:
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: U+2400 NUL ... U+241F US
    if code == _DEL:
        return "\u2421"
    return REPLACEMENT


_UNSAFE_CODES = [c for c in (*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F),
                             *range(0x2066, 0x206A), *range(0xD800, 0xE000)) if c not in (_NEWLINE, _TAB)]
_TABLE = {code: _stand_in(code) for code in _UNSAFE_CODES}


def neutralise(text: str) -> str:
    """`text` with every character a terminal would act on (or that reorders text) made visible;
    the same string object when there is none. Newlines and tabs are kept."""
    if text.isprintable() or UNSAFE.search(text) is None:  # isprintable: no newline, no control at all
        return text
    return text.translate(_TABLE)


def is_safe(text: str) -> bool:
    """Whether `neutralise` would leave `text` as it is."""
    return text.isprintable() or UNSAFE.search(text) is None
