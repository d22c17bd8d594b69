"""Router settings: the profile (a RadioSet with the seed's descriptions) and the task table.

Keys on the task table: o override (a model picker), x clear the override, e edit the task's
custom chain (validated by the service; its error shows in the dialog), c clear the chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, RadioButton, RadioSet, Static

from ...core.types import RoutingProfile, TaskType
from .. import format as fmt
from ..errors import guarded
from ..safe import safe_text
from ..widgets.bars import AppBar, KeyBar
from ..widgets.fittable import Col, FitTable
from .base import LiveScreen

if TYPE_CHECKING:
    from ...service import RouterConfig

# The seed's UI lists Balanced first, as the recommended choice.
PROFILE_ORDER = (RoutingProfile.BALANCED, RoutingProfile.ECO, RoutingProfile.PREMIUM)
PROFILE_TITLES = {RoutingProfile.BALANCED: "Balanced (Recommended)", RoutingProfile.ECO: "Eco",
                  RoutingProfile.PREMIUM: "Premium"}
STAGE_NAMES = {"override": "override", "custom": "custom", "chain": "chain", "fallback": "fallback",
               "tier": "by tier", "pinned": "pinned"}


def chain_text(view: dict[str, Any]) -> Text:
    """The named entries of a task's chain with ✓/✗, each model once (the service's chain is
    deduplicated) and a retired one by its successor, e.g. `claude-sonnet-5.5 ✓ → gpt-6.1-sol ✗`."""
    text = Text()
    entries = [c for c in view["chain"] if c["stage"] in ("override", "custom", "chain", "fallback")]
    for i, entry in enumerate(entries):
        if i:
            text.append(" → ", style="dim")
        text.append(entry["resolves_to"] or entry["model"])
        glyph, style = fmt.mark(entry["available"])
        text.append(f" {glyph}", style=style)
    return text


class ProfileButton(RadioButton):
    """A profile's radio button whose state is a mark, not only a shade: with NO_COLOR (or a
    monochrome terminal) the chosen profile still reads as chosen."""

    @property
    def BUTTON_INNER(self) -> str:  # Textual reads the button's inside from this name
        return "●" if self.value else " "


class TaskTable(FitTable):
    BINDINGS = [
        Binding("o", "screen.set_override", "Override", id="router_override"),
        Binding("x", "screen.clear_override", "Clear override", show=False, id="router_clear_override"),
        Binding("e", "screen.edit_chain", "Edit chain", id="router_edit_chain"),
        Binding("c", "screen.clear_chain", "Clear chain", show=False, id="router_clear_chain"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__([Col("Task", 8), Col("Primary model", flex=2, min=16), Col("Chain", flex=3, min=20),
                          Col("Override", flex=1, min=14)], cursor_type="row", **kwargs)


class RouterScreen(LiveScreen):
    DEFAULT_CSS = """
    RouterScreen #router-body { height: 1fr; }
    RouterScreen RadioSet { width: 100%; margin: 0 1; border: round $primary 60%; padding: 0; }
    RouterScreen RadioSet:focus { border: round $accent; }
    RouterScreen TaskTable { height: auto; max-height: 9; margin: 0 1; border: round $primary 60%; }
    RouterScreen TaskTable:focus { border: round $accent; }
    RouterScreen #task-detail { margin: 0 2; height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    RouterScreen #router-notes { margin: 0 2; height: auto; display: none; }
    RouterScreen #router-notes.-shown { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[str, dict[str, Any]] = {}
        self.config: RouterConfig | None = None

    def compose(self) -> ComposeResult:
        yield AppBar("Router settings", id="bar")
        with VerticalScroll(id="router-body"):
            yield Static("Routing profile  [dim](↑/↓ then enter, or ctrl+r anywhere)[/]", classes="section")
            with RadioSet(id="profiles"):
                for profile in PROFILE_ORDER:
                    label = Text.assemble((f"{PROFILE_TITLES[profile]:<23}", "bold"), (profile.description, "dim"))
                    yield ProfileButton(label, id=f"profile-{profile.value}")
            yield Static("Task routing  [dim](o override · x clear · e edit chain · c clear chain)[/]",
                         classes="section")
            yield TaskTable(id="tasks")
            yield Static(id="router-notes")
            yield Static(id="task-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(TaskTable).focus()

    @guarded
    async def reload(self, *, config_only: bool = False) -> None:
        self.stale = False
        service = await self.host.ready()
        if service is None:
            self.query_one("#task-detail", Static).update(safe_text(self.host.open_error or ""))
            return
        self.config = config = await service.get_router_config()
        self._show_profile(config.profile)
        self.views = {t.value: await service.task_view(t, config) for t in TaskType}
        outdated = await service.outdated(config, profiles=(config.profile,))
        retired = {ref.name for ref in outdated if ref.status.value == "retired"}
        rows = []
        for task, view in self.views.items():
            primary = view["primary"]
            primary_text = (Text(f"{primary['canonical'] or primary['model']} ({primary['provider']})")
                            if primary else Text("none available", style=fmt.colour("red")))
            override = view["override"] or ("custom chain" if view["custom_route"] else "")
            if view["override"] in retired:
                override += " (retired)"
            rows.append((Text(task, style="bold"), primary_text, chain_text(view), Text(override, style=fmt.colour("yellow"))))
        self.query_one(TaskTable).set_rows(rows)
        self._show_notes(outdated)
        self._show_detail()

    def _show_notes(self, outdated: list[Any]) -> None:
        """Where a chain, the fallback, an override or a custom route names a retired model or one
        retiring within 30 days, and what answers instead: as `router status` says it."""
        from ...service.views import status_note

        box = self.query_one("#router-notes", Static)
        text = Text()
        for i, ref in enumerate(outdated):
            text.append("\n" if i else "")
            text.append("⚠ ", style=fmt.colour("yellow"))
            text.append(status_note(ref))
        box.update(text)
        box.set_class(bool(outdated), "-shown")

    def _show_profile(self, profile: RoutingProfile) -> None:
        button = self.query_one(f"#profile-{profile.value}", RadioButton)
        if not button.value:
            # Its Changed message is ignored (self.config already says so); the RadioSet moves its
            # keyboard cursor to the pressed button, so enter does not change the profile by accident.
            button.value = True

    @on(RadioSet.Changed, "#profiles")
    @guarded
    async def _profile_chosen(self, event: RadioSet.Changed) -> None:
        profile = PROFILE_ORDER[event.index]
        if self.config is not None and profile == self.config.profile:
            return
        await self.host.set_profile(profile.value)

    @on(DataTable.RowHighlighted, "#tasks")
    def _row_highlighted(self) -> None:
        self._show_detail()

    def selected_task(self) -> str | None:
        table = self.query_one(TaskTable)
        if not table.row_count:
            return None
        return list(self.views)[table.cursor_row] if self.views else None

    def _show_detail(self) -> None:
        task = self.selected_task()
        view = self.views.get(task or "")
        box = self.query_one("#task-detail", Static)
        if view is None:
            box.update("")
            return
        text = Text(no_wrap=True, overflow="ellipsis")  # one line per entry, cut with … at 80 columns
        text.append(f"{task}: ", style="bold")
        text.append(f"{' → '.join(view['profile_chain'])}, fallback {view['fallback']}", style="dim")
        if view["override"]:
            text.append(f" · override {view['override']}", style=fmt.colour("yellow"))
        if view["custom_route"]:
            text.append(f" · custom chain {', '.join(view['custom_route'])}", style=fmt.colour("yellow"))
        for entry in view["chain"][:8]:
            ok = entry["available"]
            line = Text("\n")
            glyph, style = fmt.mark(ok)
            line.append(f"{glyph} ", style=style)
            if entry["stage"] != "chain":  # the profile's chain is the usual case; say when it is not
                line.append(f"{STAGE_NAMES.get(entry['stage'], entry['stage'])} ", style="dim")
            line.append(entry["model"])
            if entry["resolves_to"]:
                line.append(f" → {entry['resolves_to']}")
            if entry["provider"]:
                line.append(f" ({entry['provider']})", style="dim")
            if not ok:
                line.append(f"  {entry['reason']}", style="dim")
            text.append_text(line)
        box.update(safe_text(text))

    # actions ------------------------------------------------------------------------------------

    @work(group="dialog", exclusive=True, exit_on_error=False)
    @guarded
    async def action_set_override(self) -> None:
        from .dialogs import ModelPicker, model_choices

        task = self.selected_task()
        service = await self.host.ready()
        if task is None or service is None:
            return
        choices = model_choices(await service.get_available_models_for_routing())
        picked = await self.app.push_screen_wait(ModelPicker(
            choices, title=f"Always try this model first for {task} tasks", current=self.views[task]["override"]))
        if picked is None or picked.model is None:
            return
        await self._change(lambda: service.set_task_model_override(task, picked.model),
                           f"{task}: {picked.model} first")

    @guarded
    async def action_clear_override(self) -> None:
        task = self.selected_task()
        service = self.host.service
        if task and service:
            await self._change(lambda: service.clear_task_override(task), f"{task}: override cleared",
                               f"{task} has no override: nothing to clear")

    @work(group="dialog", exclusive=True, exit_on_error=False)
    @guarded
    async def action_edit_chain(self) -> None:
        from .dialogs import TextPrompt

        task = self.selected_task()
        service = await self.host.ready()
        if task is None or service is None:
            return
        view = self.views[task]
        current = ", ".join(view["custom_route"] or view["profile_chain"])

        changes: list[Any] = []

        async def save(value: str) -> None:
            # The service decides: the same chain, or the profile's own, saves nothing (a custom route
            # equal to the profile's chain would stop the task following profile changes).
            changes.append(await service.set_custom_route(task, value.split(",")))

        saved = await self.app.push_screen_wait(TextPrompt(
            f"Custom chain for {task}: models to try, first to last", current,
            placeholder="e.g. gpt-4o, claude-sonnet-4.5", hint="comma-separated · enter save · esc cancel",
            submit=save))
        if saved is not None and changes:
            self.notify(changes[-1].summary, timeout=3)
            await self.reload()

    @guarded
    async def action_clear_chain(self) -> None:
        task = self.selected_task()
        service = self.host.service
        if task and service:
            await self._change(lambda: service.clear_custom_route(task), f"{task}: custom chain cleared",
                               f"{task} has no custom chain: nothing to clear")

    async def _change(self, call: Any, message: str, unchanged: str | None = None) -> None:
        """Make a change and say so; `unchanged` is said instead when the call reports it changed nothing."""
        try:
            changed = await call()
        except Exception as exc:
            self.host.report(exc)
            return
        self.notify(unchanged if unchanged is not None and changed is False else message, timeout=2)
        await self.reload()

    def commands(self) -> Iterable[SystemCommand]:
        task = self.selected_task() or "the selected task"
        yield SystemCommand(f"Override {task}", "Pick the model tried first for this task (o)", self.action_set_override)
        yield SystemCommand(f"Clear the override of {task}", "Back to the profile's chain (x)",
                            self.action_clear_override)
        yield SystemCommand(f"Edit the custom chain of {task}", "Comma-separated models (e)", self.action_edit_chain)
        yield SystemCommand(f"Clear the custom chain of {task}", "Back to the profile's chain (c)",
                            self.action_clear_chain)
