"""Printing for the CLI: JSON for scripts, Rich tables for people (plain when NO_COLOR or piped).

Everything a command prints goes through here, so text from outside (replies, provider errors,
model ids, job output, file contents) reaches the terminal safely by construction:

- `console()` prints text as it is: markup is off (a `[providers.openai]` in a message stays on the
  line), and every string, Text and segment it renders is neutralised (`core.text`: control
  characters and bidi overrides made visible). Style is asked for explicitly: `styled(text, style)`,
  or `markup(template, *values)`, whose template is Rich markup and whose values are literal.
- `table()`: a str cell is literal text; a Text cell keeps its style. Both are neutralised.
- `write()` / `echo()`: text to stdout or stderr, neutralised (a streamed reply, a job's output).
- `emit_json()`: the exact text; JSON escapes every control character, C1, DEL and bidi included.
  Every float is given to 10 significant digits (costs are sums of float products).
"""

from __future__ import annotations

import functools
import json
import os
import string
import sys
from typing import Any

from ..core.text import UNSAFE, is_safe, neutralise
from ..formatting import context as tokens  # noqa: F401  (re-exported for the commands)
from ..formatting import price, usd  # noqa: F401

TIER_STYLES = {"low": "green", "medium": "yellow", "high": "red"}


def json_text(value: Any) -> str:
    """`value` as indented JSON that is safe on a terminal and exact when parsed: json.dumps escapes
    C0 controls; DEL, C1 controls, bidi overrides and lone surrogates are escaped here as \\uXXXX
    (outside a JSON string there are only ASCII punctuation, digits, letters and whitespace)."""
    from ..core.numbers import rounded

    # Floats to 10 significant digits: a cost reads 0.00165235, not 0.0016523500000000001.
    text = json.dumps(rounded(value), indent=2, ensure_ascii=False, default=str)
    return escape_unsafe(text)


def escape_unsafe(text: str) -> str:
    """Every character `core.text.neutralise` would replace, written as a \\uXXXX escape instead:
    exact inside a JSON or TOML (basic) string, and nothing a terminal acts on."""
    if is_safe(text):
        return text
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def emit_json(value: Any) -> None:
    sys.stdout.write(json_text(value) + "\n")


def emit_json_line(value: Any) -> None:
    """One JSON value on one line (JSON lines: a long-running command's events, e.g. `mesoclaw agent --json`), flushed."""
    from ..core.numbers import rounded

    sys.stdout.write(escape_unsafe(json.dumps(rounded(value), ensure_ascii=False, default=str)) + "\n")
    sys.stdout.flush()


def write(text: str, *, err: bool = False) -> None:
    """Text from outside to stdout (or stderr), its control characters made visible; no newline added."""
    (sys.stderr if err else sys.stdout).write(neutralise(text))


def echo(line: str, *, err: bool = False) -> None:
    """One line to stdout (or stderr), neutralised, flushed."""
    stream = sys.stderr if err else sys.stdout
    stream.write(neutralise(line) + "\n")
    stream.flush()


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
    """A Rich console that prints text literally (no markup) and neutralises everything it renders."""
    plain = is_plain()
    width = None if sys.stdout.isatty() else piped_width()
    return _safe_console()(stderr=stderr, no_color=plain, highlight=False, width=width, markup=False,
                           color_system=None if plain else "auto", emoji=False)


@functools.cache
def _safe_console() -> type:
    from rich.console import Console
    from rich.segment import Segment
    from rich.text import Text

    class SafeConsole(Console):
        """Strings and Texts are neutralised before they are laid out (one stand-in character for one,
        so styles and widths hold); any segment a renderable makes on its own is checked on the way out."""

        def render_str(self, text: str, **kwargs: Any) -> Any:
            return super().render_str(neutralise(text), **kwargs)

        def render(self, renderable: Any, options: Any = None) -> Any:
            if isinstance(renderable, Text) and not is_safe(renderable.plain):
                renderable = renderable.copy()
                renderable.plain = neutralise(renderable.plain)
            for segment in super().render(renderable, options):
                if segment.control or is_safe(segment.text):
                    yield segment
                else:
                    yield Segment(neutralise(segment.text), segment.style)

    return SafeConsole


def table(*columns: str, title: str | None = None):
    """A table whose str cells are literal text (the console's markup is off); give a Text for style."""
    from rich import box
    from rich.table import Table

    t = Table(title=title, box=None if is_plain() else box.SIMPLE_HEAD, title_justify="left",
              pad_edge=False, show_edge=False)
    for column in columns:
        t.add_column(column, overflow="fold")
    return t


def keep_words_whole(t: Any, rows: list[tuple[Any, ...]], width: int, cap: int = 24) -> Any:
    """Fit `t` (made by `table()`, holding `rows`) to `width` columns so cells wrap between words,
    never inside a name: each column gets at least its longest word (up to `cap`; a longer one, a URL
    in an error say, may still fold), a column of single words its full width, and the room left goes
    to the wrapping columns in proportion to what they lack. Rich's own squeezing ignores words."""
    texts = [[str(column.header), *(str(getattr(row[i], "plain", row[i])) for row in rows)]
             for i, column in enumerate(t.columns)]
    natural = [max(len(line) for cell in cells for line in (cell.splitlines() or [""])) for cells in texts]
    single = [not any(" " in cell.strip() for cell in cells) for cells in texts]
    least = [n if one else min(cap, max((len(w) for c in cells for w in c.split()), default=0))
             for n, one, cells in zip(natural, single, texts, strict=True)]
    room = width - (3 if t.box else 2) * (len(natural) - 1)  # padding either side, and a box's divider
    spare = room - sum(least)
    if sum(natural) <= room or spare < 0:
        return t
    lack = [n - m for n, m in zip(natural, least, strict=True)]
    widths = [m + spare * gap // max(1, sum(lack)) for m, gap in zip(least, lack, strict=True)]
    for column, w in zip(t.columns, widths, strict=True):
        column.width = w
    return t


def styled(text: str, style: str) -> Any:
    """Literal text in a style (no style when plain)."""
    from rich.text import Text

    return Text(neutralise(text), style="" if is_plain() else style)


_FIELD = "\ue000"  # a private-use character holds each value's place while the template's markup is parsed


class _Fields(string.Formatter):
    """Formats each field as usual, keeps the result, and leaves _FIELD in its place."""

    def __init__(self) -> None:
        self.filled: list[str] = []

    def format_field(self, value: Any, format_spec: str) -> str:
        self.filled.append(neutralise(super().format_field(value, format_spec)))
        return _FIELD


def markup(template: str, *values: Any, **named: Any) -> Any:
    """A Text from Rich markup written in the code, with each {} field filled by a value shown
    literally (brackets, backslashes and all): `markup("[bold]{}[/] ({})", job.name, job.kind)`.
    The template is parsed with a placeholder for each value, so no value can open or close a tag."""
    from rich.text import Text

    fields = _Fields()
    parsed = Text.from_markup(fields.format(template, *values, **named), emoji=False)
    places = [i for i, char in enumerate(parsed.plain) if char == _FIELD]
    pieces = parsed.plain.split(_FIELD)
    plain = pieces[0] + "".join(value + piece for value, piece in zip(fields.filled, pieces[1:], strict=True))

    def moved(index: int) -> int:  # where a position of the parsed template is once the values are in
        return index + sum(len(value) - 1 for place, value in zip(places, fields.filled, strict=True)
                           if place < index)

    text = Text(plain, end=parsed.end)
    if not is_plain():
        for span in parsed.spans:
            text.stylize(span.style, moved(span.start), moved(span.end))
    return text


def tier(value: str) -> Any:
    return styled(value, TIER_STYLES.get(value, ""))


def mark(ok: bool) -> Any:
    from rich.text import Text

    if is_plain():
        return Text("yes" if ok else "no")
    return Text("✓", style="green") if ok else Text("✗", style="red")


def escape(text: str) -> str:
    """Text from outside for `console()` and `table()`: markup is off there, so this only makes control
    characters visible (which they do anyway); kept so a command can say which text is from outside."""
    return neutralise(text)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
