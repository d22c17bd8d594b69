"""Text from outside (replies, provider errors, model ids, titles, job output), made safe before a
widget shows it.

Textual and Rich strip only BEL, BS, VT, FF and CR from what they draw: ESC, the C1 controls and
bidi overrides would reach the terminal. Widgets that show such text pass it through here (see
core/text.py for what is replaced and by what); the stored text stays exact.
"""

from __future__ import annotations

from rich.text import Text

from ..core.text import is_safe, neutralise

__all__ = ["neutralise", "safe_text"]


def safe_text(text: str | Text, style: str = "") -> Text:
    """A Rich Text of `text`, its control characters made visible. A Text keeps its styles: each
    character is replaced by one, so its spans still cover the same text."""
    if isinstance(text, Text):
        if is_safe(text.plain):
            return text
        text = text.copy()
        text.plain = neutralise(text.plain)
        return text
    return Text(neutralise(text), style=style)
