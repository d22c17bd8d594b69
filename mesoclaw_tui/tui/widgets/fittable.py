"""A DataTable whose columns fit the terminal's width: fixed columns keep their width, flexible
ones share what is left, and cells too long for their column end in "…" instead of pushing the
rest of the row off screen at 80 columns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from ..safe import safe_text

GAP = 1  # blank cells after every column (the table's own padding is off, it would take 2)


@dataclass(frozen=True)
class Col:
    label: str
    width: int = 0  # fixed width; 0 makes the column flexible
    flex: int = 1  # share of the remaining width among flexible columns
    min: int = 6


def _cell_len(cell: Any) -> int:
    return cell.cell_len if isinstance(cell, Text) else len(str(cell))


def _clip(cell: Any, width: int) -> Text:
    """A cell as it is drawn: its control characters made visible (every table's cells pass here,
    model ids and provider errors among them), cut with "…" to the column's width."""
    text = safe_text(cell if isinstance(cell, Text) else str(cell))
    if text.cell_len <= width:
        return text
    if text is cell:  # the caller's own Text: cut a copy
        text = text.copy()
    text.truncate(width, overflow="ellipsis")
    return text


class FitTable(DataTable):
    DEFAULT_CSS = """
    FitTable { scrollbar-size-vertical: 1; padding: 0 0 0 1; }
    """

    def __init__(self, columns: Sequence[Col], **kwargs: Any) -> None:
        super().__init__(cell_padding=0, **kwargs)
        self.cols = list(columns)
        self.rows_data: list[Sequence[Any]] = []
        self._widths: list[int] = []

    def _fit(self) -> list[int]:
        total = max(20, self.size.width - 1)  # one cell for the vertical scrollbar
        widths = [c.width for c in self.cols]
        flexible = [i for i, c in enumerate(self.cols) if not c.width]
        used = sum(widths) + GAP * len(self.cols)
        natural = {i: max([len(self.cols[i].label), *(_cell_len(r[i]) for r in self.rows_data)]) for i in flexible}
        for i in flexible:
            widths[i] = min(self.cols[i].min, natural[i])
        room = max(0, total - used - sum(widths[i] for i in flexible))
        # share the rest by weight, never beyond what the longest cell needs
        pending = [i for i in flexible if widths[i] < natural[i]]
        while pending and room > 0:
            weight = sum(self.cols[i].flex for i in pending)
            for i in pending:
                grant = min(max(1, room * self.cols[i].flex // weight), natural[i] - widths[i], room)
                widths[i] += grant
                room -= grant
            pending = [i for i in pending if widths[i] < natural[i]]
        return widths

    def _render_columns(self) -> None:
        self._widths = self._fit()
        self.clear(columns=True)
        for col, width in zip(self.cols, self._widths, strict=True):
            self.add_column(_clip(col.label, width), width=width + GAP)

    def _fitted(self, row: Sequence[Any]) -> list[Any]:
        return [_clip(cell, width) for cell, width in zip(row, self._widths, strict=True)]

    def set_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Replace every row, keeping the cursor's row number where it can."""
        cursor = self.cursor_row
        self.rows_data = list(rows)
        self._rerender()
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1), animate=False)

    def add_more(self, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        self.rows_data.extend(rows)
        if self._fit() != self._widths:
            cursor = self.cursor_row
            self._rerender()
            self.move_cursor(row=cursor, animate=False)
        else:
            self.add_rows(self._fitted(r) for r in rows)

    def _rerender(self) -> None:
        self._render_columns()
        self.add_rows(self._fitted(r) for r in self.rows_data)

    def on_resize(self, event: events.Resize) -> None:
        if self.rows_data and self._fit() != self._widths:
            cursor = self.cursor_row
            self._rerender()
            self.move_cursor(row=cursor, animate=False)
