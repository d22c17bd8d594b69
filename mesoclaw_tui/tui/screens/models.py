"""The model browser: every model (built-in, refreshed, user-added) with tier, context and price.

Rows are drawn by a RowList, which renders each row once and only picks the visible ones, so
search as you type stays within a frame with thousands of models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Select, Static

from ...core.provider_info import PROVIDERS
from ...core.types import real_today
from .. import format as fmt
from ..errors import guarded
from ..safe import safe_text
from ..widgets.bars import AppBar, KeyBar
from ..widgets.fields import Field
from ..widgets.fittable import Col
from ..widgets.rowlist import RowList
from .base import LiveScreen

ALL = "all"
COLUMNS = [Col("Provider", 10), Col("Model", flex=3, min=16), Col("Tier", 6), Col("Context", 7),
           Col("In $/M", 7), Col("Out $/M", 7), Col("OK", 2), Col("Status", flex=1, min=8)]


@dataclass(frozen=True, slots=True)
class Entry:
    model: Any  # RoutableModel
    available: bool
    haystack: str
    cells: tuple[Any, ...]
    status: str = ""  # the lifecycle on the day the list was made, in full (the column may cut it)
    names: tuple[str, ...] = ()  # what it answers to, lower-cased: canonical, aliases, id, provider:id


def _cells(m: Any, available: bool, status: str) -> tuple[Any, ...]:
    tier = m.cost_tier.value
    return (
        m.provider,
        m.model_id,
        Text(tier, style=fmt.tier_style(tier)),
        fmt.context(m.context_window),
        fmt.price(m.input_price),
        fmt.price(m.output_price),
        Text(*fmt.mark(available)),
        Text(status, style=fmt.colour("yellow") if status else ""),
    )


def entries_from(rows: Iterable[Any], today: str) -> list[Entry]:
    """The browser's rows; the status column is each model's lifecycle on `today` ("retired
    2026-11-30", "deprecated, retires 2027-01-14", "legacy", "not listed by provider", "local")."""
    from ...core.lifecycle import status_label
    from ..model_match import model_names

    out = []
    for row in rows:
        m = row.model
        status = status_label(m, today) or ("local" if m.status == "local" else "")
        haystack = " ".join((m.provider, m.model_id, m.canonical, m.cost_tier.value, status, m.best_for,
                             *m.aliases)).lower()
        out.append(Entry(m, row.available, haystack, _cells(m, row.available, status), status,
                         model_names(m.canonical, m.aliases, [(m.provider, m.model_id)])))
    return out


class ModelTable(RowList):
    BINDINGS = [
        Binding("o", "screen.use_for_task", "Override", id="models_override"),
        Binding("p", "screen.cycle_provider", "Provider", id="models_provider"),
        Binding("slash", "screen.focus_search", "Search", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(COLUMNS, **kwargs)


class ModelsScreen(LiveScreen):
    DEFAULT_CSS = """
    ModelsScreen #filters { height: 1; margin: 1 1 0 1; }
    ModelsScreen #provider { width: 24; margin-right: 1; }
    ModelsScreen #search { width: 1fr; }
    ModelsScreen #header { height: 1; margin: 1 1 0 1; padding: 0 0 0 1; background: $panel; }
    ModelsScreen ModelTable { height: 1fr; margin: 0 1; padding: 0 0 0 1; }
    ModelsScreen #model-detail { height: 2; margin: 0 2; color: $text-muted; }
    """
    BINDINGS = [
        Binding("ctrl+n", "add_model", "Add", priority=True, id="models_add"),
        Binding("down", "to_table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Entry] = []
        self._natural: list[int] = []
        self.matches: list[Entry] = []
        self.provider = ALL

    def compose(self) -> ComposeResult:
        yield AppBar("Model browser", id="bar")
        with Horizontal(id="filters"):
            options = [(p.name, p.id) for p in PROVIDERS.values()]
            yield Select(options, prompt="All providers", id="provider", compact=True, allow_blank=True)
            yield Field(placeholder="type to search models · ↓ to the table", id="search", compact=True)
        yield Static(id="header")
        yield ModelTable(id="models")
        yield Static(id="model-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#search", Input).focus()

    @guarded
    async def reload(self, *, config_only: bool = False) -> None:
        self.stale = False
        if config_only:
            return  # a profile change does not change the models
        service = await self.host.ready()
        if service is None:
            return
        self.entries = entries_from(await service.get_available_models_for_routing(), real_today())
        self._natural = RowList.natural_widths(COLUMNS, [e.cells for e in self.entries])
        self.apply_filter()

    # filtering ----------------------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        self.apply_filter()

    @on(Select.Changed, "#provider")
    def _provider_changed(self, event: Select.Changed) -> None:
        self.provider = ALL if event.value is Select.BLANK else str(event.value)
        self.apply_filter()

    def apply_filter(self) -> None:
        """Show the entries that match the search, ranked as every model list ranks them (an exact
        name first); reads the field, never writes it."""
        from ..model_match import ranked

        provider = self.provider
        entries = self.entries if provider == ALL else [e for e in self.entries if e.model.provider == provider]
        self.matches = ranked(entries, self.query_one("#search", Input).value, lambda e: e.names,
                              lambda e: e.haystack)
        self.query_one(ModelTable).set_rows([e.cells for e in self.matches], natural=self._natural)
        self._show_header()
        self._show_detail()

    def _show_header(self) -> None:
        self.query_one("#header", Static).update(self.query_one(ModelTable).header())

    @on(RowList.ColumnsChanged)
    def _columns_changed(self) -> None:
        self._show_header()

    @on(RowList.Highlighted, "#models")
    def _row_highlighted(self) -> None:
        self._show_detail()

    def selected(self) -> Entry | None:
        cursor = self.query_one(ModelTable).cursor
        return self.matches[cursor] if cursor < len(self.matches) else None

    def _show_detail(self) -> None:
        box = self.query_one("#model-detail", Static)
        entry = self.selected()
        count = Text(f"{len(self.matches)} of {len(self.entries)} models", style="bold")
        if entry is None:
            box.update(count)
            return
        m = entry.model
        # The status first: at 80 columns the Status column cuts "deprecated, retires 2027-01-14" short.
        status = f"{entry.status}" + (f" → {m.successor}" if entry.status and m.successor else "")
        prices = (m.price_source or "").split(" (")[0]  # "genai-prices 0.2.3", "user", "provider listing" …
        detail = Text.assemble(count, "  ", (f"{m.provider}:{m.model_id}", "bold"), f" ({m.canonical})"
                               if m.canonical != m.model_id else "",
                               (f" · {status}", fmt.colour("yellow")) if status else "", f" · {m.best_for or '—'}",
                               f" · max out {fmt.context(m.max_output)}" if m.max_output else "",
                               f" · {m.source}", f" · prices: {prices}" if prices else "",
                               f" {m.as_of}" if m.as_of else "", " · approx." if m.approx else "")
        box.update(safe_text(detail))

    # actions ------------------------------------------------------------------------------------

    def action_to_table(self) -> None:
        if self.focused is self.query_one("#search"):
            self.query_one(ModelTable).focus()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self.query_one(ModelTable).focus()

    def action_cycle_provider(self) -> None:
        order = [ALL, *PROVIDERS]
        self.provider = order[(order.index(self.provider) + 1) % len(order)]
        select = self.query_one("#provider", Select)
        with select.prevent(Select.Changed):
            if self.provider == ALL:
                select.clear()
            else:
                select.value = self.provider
        self.apply_filter()

    @work(group="dialog", exclusive=True, exit_on_error=False)
    @guarded
    async def action_use_for_task(self) -> None:
        from .dialogs import TaskPicker

        entry = self.selected()
        service = await self.host.ready()
        if entry is None or service is None:
            return
        name = f"{entry.model.provider}:{entry.model.model_id}"
        config = await service.get_router_config()
        task = await self.app.push_screen_wait(TaskPicker(name, config.task_overrides))
        if task is None:
            return
        try:
            stored = await service.set_task_model_override(task, name)
        except Exception as exc:
            self.host.report(exc)
            return
        self.notify(f"{task} tasks now try {stored} first.", timeout=3)
        await self.host.refresh_screens()

    @work(group="dialog", exclusive=True, exit_on_error=False)
    @guarded
    async def action_add_model(self) -> None:
        from .add_model import AddModelForm

        service = await self.host.ready()
        if service is None:
            return
        provider = self.provider if self.provider != ALL else None
        added = await self.app.push_screen_wait(AddModelForm(service, provider))
        if added is None:
            return
        source = added.price_source.split(" (")[0]
        priced = ("price unknown" if not added.price_known() else
                  f"priced from {source} {added.as_of}" if source not in ("user", "") else "your prices")
        self.notify(f"Added {added.provider}:{added.model_id} ({added.cost_tier.value}; {priced}).", timeout=3)
        await self.reload()
        for index, entry in enumerate(self.matches):
            if (entry.model.provider, entry.model.model_id) == (added.provider, added.model_id):
                self.query_one(ModelTable).cursor = index
                self.query_one(ModelTable).focus()
                break

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Add a model", "A custom model: provider, ID, tier, context, prices (ctrl+n)",
                            self.action_add_model)
        yield SystemCommand("Use the selected model for a task", "Set it as a task's override (o)",
                            self.action_use_for_task)
        yield SystemCommand("Next provider filter", "Cycle the provider filter (p)", self.action_cycle_provider)
