"""A keyboard list of thousands of rows that filters in milliseconds.

Each row is rendered to a Strip once per column layout and cached; drawing the screen only picks
the visible rows. (A DataTable re-renders every visible cell through Rich after any change, which
with a search box on top costs ~30 ms a keystroke.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .fittable import GAP, Col, _cell_len, _clip


def fit_widths(cols: Sequence[Col], natural: Sequence[int], total: int) -> list[int]:
    """Fixed columns keep their width; flexible ones get their minimum, then share the rest by weight
    up to what their longest cell needs."""
    widths = [c.width for c in cols]
    flexible = [i for i, c in enumerate(cols) if not c.width]
    for i in flexible:
        widths[i] = min(cols[i].min, natural[i])
    room = max(0, total - sum(widths) - GAP * len(cols))
    pending = [i for i in flexible if widths[i] < natural[i]]
    while pending and room > 0:
        weight = sum(cols[i].flex for i in pending)
        for i in pending:
            grant = min(max(1, room * cols[i].flex // weight), natural[i] - widths[i], room)
            widths[i] += grant
            room -= grant
        pending = [i for i in pending if widths[i] < natural[i]]
    return widths


class RowList(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    RowList { scrollbar-size-vertical: 1; overflow-x: hidden; }
    RowList > .rowlist--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    RowList:focus > .rowlist--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"rowlist--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "move(-1_000_000_000)", "First", show=False),
        Binding("end", "move(1_000_000_000)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        def __init__(self, row_list: RowList, index: int) -> None:
            super().__init__()
            self.row_list = row_list
            self.index = index

        @property
        def control(self) -> RowList:
            return self.row_list

    class ColumnsChanged(Message):
        """The column widths changed (the terminal was resized): redraw the header."""

        def __init__(self, row_list: RowList) -> None:
            super().__init__()
            self.row_list = row_list

    def __init__(self, columns: Sequence[Col], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cols = list(columns)
        self.rows: Sequence[Sequence[Any]] = []
        self.widths: list[int] = [c.width or c.min for c in self.cols]
        self._natural = [len(c.label) for c in self.cols]
        self._strips: dict[int, Strip] = {}  # id(row) -> rendered row, for the current widths

    # data ---------------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[Sequence[Any]], *, natural: Sequence[int] | None = None) -> None:
        """Show these rows. `natural` (the longest cell of each column across all rows that may be
        shown) keeps the columns from jumping as a filter narrows the rows."""
        self.rows = rows
        if natural is not None and list(natural) != self._natural:
            self._natural = list(natural)
            self._layout_columns()
        self.virtual_size = Size(self._row_width(), len(rows))
        self.cursor = min(self.cursor, max(0, len(rows) - 1))
        self.refresh()

    @staticmethod
    def natural_widths(cols: Sequence[Col], rows: Sequence[Sequence[Any]]) -> list[int]:
        natural = [len(c.label) for c in cols]
        for row in rows:
            for i, cell in enumerate(row):
                natural[i] = max(natural[i], _cell_len(cell))
        return natural

    def _layout_columns(self) -> None:
        # the vertical scrollbar's column is always kept free, so a scrollbar appearing never re-lays out
        widths = fit_widths(self.cols, self._natural, max(20, self.size.width - 1))
        if widths != self.widths:
            self.widths = widths
            self._strips.clear()
            self.refresh()
            self.post_message(self.ColumnsChanged(self))

    def _row_width(self) -> int:
        return min(sum(self.widths) + GAP * len(self.widths), max(1, self.size.width - 1))

    def header(self) -> Text:
        """The column titles, laid out like the rows (for a header widget above the list)."""
        return self._assemble([Text(c.label, style="bold") for c in self.cols])

    def _assemble(self, cells: Sequence[Any]) -> Text:
        line = Text(no_wrap=True, end="")
        for cell, width in zip(cells, self.widths, strict=True):
            piece = _clip(cell, width)  # neutralised: a model id can hold anything a provider listed
            line.append_text(piece)
            line.append(" " * (width - piece.cell_len + GAP))
        return line

    def on_resize(self, event: events.Resize) -> None:
        self._layout_columns()
        self.virtual_size = Size(self._row_width(), len(self.rows))

    # drawing ------------------------------------------------------------------------------------

    def _row_strip(self, row: Sequence[Any]) -> Strip:
        key = id(row)
        strip = self._strips.get(key)
        if strip is None:
            segments = list(self._assemble(row).render(self.app.console))
            strip = self._strips[key] = Strip(segments)
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self.rows):
            return Strip.blank(width, base)
        strip = self._row_strip(self.rows[index])
        if index == self.cursor:
            strip = strip.apply_style(base + self.get_component_rich_style("rowlist--cursor"))
        else:
            strip = strip.apply_style(base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    # keys ---------------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        if self.rows:
            self._refresh_row(old)
            self._refresh_row(new)
            self.scroll_to_region(Region(0, new, 1, 1), animate=False, immediate=True)
        self.post_message(self.Highlighted(self, new))

    def _refresh_row(self, index: int) -> None:
        self.refresh(Region(0, index - self.scroll_offset.y, self.size.width, 1))

    def action_move(self, delta: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 1))
