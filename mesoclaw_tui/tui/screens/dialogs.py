"""Keyboard dialogs: pick a model (type to filter), enter a line, confirm (the conversation list is
conversations.py).

Each is a ModalScreen: escape closes it, enter accepts, and errors a service raises are shown
inside the dialog instead of closing it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from .. import format as fmt
from ..safe import neutralise, safe_text
from ..widgets.fields import Field

AUTO = "__auto__"


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker: a canonical name and the providers that serve it."""

    name: str
    tier: str
    providers: tuple[tuple[str, bool], ...]  # (provider, available)
    names: tuple[str, ...] = ()  # what it answers to, lower-cased (canonical, aliases, provider:id, id)
    retires: str = ""  # the day a provider retires it, where announced (a retired one is not offered)
    successor: str = ""  # what the provider says to use instead

    @property
    def available(self) -> bool:
        return any(ok for _, ok in self.providers)

    @property
    def haystack(self) -> str:
        return " ".join([self.name, self.tier, *(p for p, _ in self.providers), *self.names]).lower()

    def prompt(self) -> Text:
        glyph, style = fmt.mark(self.available)
        mark = (f"{glyph} ", style)
        return safe_text(Text.assemble(
            mark, (f"{self.name:<24}", "bold" if self.available else ""), " ",
            (f"{self.tier:<7}", fmt.tier_style(self.tier)), " ",
            (", ".join(p + ("" if ok else "✗") for p, ok in self.providers), "dim"),
            # a line of its own: at 80 columns the first has no room left for it
            (f"\n  retires {self.retires}" if self.retires else "", fmt.colour("yellow")),
            (f" → {self.successor}" if self.retires and self.successor else "", "dim"),
        ))


def model_choices(rows: Sequence[Any]) -> list[ModelChoice]:
    """Group the service's model rows by canonical name; available ones first, cheaper tiers first."""
    from ..model_match import model_names

    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        model = row.model
        if model.retired:
            continue
        entry = grouped.setdefault(model.canonical, {"tier": model.cost_tier.value, "providers": {},
                                                     "aliases": set(), "ids": [], "retires": set()})
        entry["providers"][model.provider] = entry["providers"].get(model.provider, False) or row.available
        entry["aliases"].update(model.aliases)
        entry["ids"].append((model.provider, model.model_id))
        if model.retires:
            entry["retires"].add((model.retires, model.successor or ""))
    choices = [ModelChoice(name, e["tier"], tuple(e["providers"].items()),
                           model_names(name, sorted(e["aliases"]), e["ids"]), *min(e["retires"], default=("", "")))
               for name, e in grouped.items()]
    order = {"low": 0, "medium": 1, "high": 2}
    # within a tier, a model on its way out comes after those that stay
    return sorted(choices, key=lambda c: (not c.available, order.get(c.tier, 3), bool(c.retires), c.name))


@dataclass(frozen=True)
class Picked:
    model: str | None  # None: let the router choose
    scope: str  # "next" (the next message) or "conversation"


class Dialog(ModalScreen[Any]):
    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > #dialog {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    Dialog .title { text-style: bold; color: $text-accent; }
    Dialog .hint { color: $text-muted; }
    Dialog .error { color: $text-error; height: auto; }
    Dialog OptionList, Dialog OptionList:focus { height: auto; max-height: 16; border: none; padding: 0;
                                                background: $surface; }
    Dialog #filter, Dialog #value { margin: 0 0 1 0; background: $boost; }
    """
    BINDINGS = [Binding("escape", "dismiss_none", "Close")]

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def show_error(self, message: str) -> None:
        box = self.query_one("#error", Static)
        box.update(safe_text(message))
        box.display = bool(message)


class ModelPicker(Dialog):
    """Type to filter, ↑/↓ to move, enter to pick; with a scope, ctrl+k switches it."""

    BINDINGS = [
        Binding("down", "move(1)", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
        Binding("pagedown", "move(10)", show=False, priority=True),
        Binding("pageup", "move(-10)", show=False, priority=True),
        Binding("ctrl+k", "toggle_scope", "Scope", priority=True),
    ]

    def __init__(self, choices: Sequence[ModelChoice], *, title: str, scope: str | None = None,
                 auto_label: str | None = None, current: str | None = None) -> None:
        super().__init__()
        self.choices = list(choices)
        self.title_text = title
        self.scope = scope
        self.auto_label = auto_label
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(safe_text(self.title_text), classes="title", markup=False)
            yield Static(id="scope")
            yield Field(placeholder="type to filter models…", id="filter", compact=True)
            yield OptionList(id="options")
            yield Static(id="error", classes="error")
            hint = "enter pick · esc cancel" + (" · ctrl+k next message / whole conversation" if self.scope else "")
            yield Static(hint, classes="hint")

    def on_mount(self) -> None:
        self.query_one("#error").display = False
        self._render_scope()
        self._filter("")
        self.query_one(Input).focus()

    def _render_scope(self) -> None:
        box = self.query_one("#scope", Static)
        box.display = self.scope is not None
        if self.scope:
            next_msg, whole = ("◉", "○") if self.scope == "next" else ("○", "◉")
            box.update(Text.assemble("Applies to: ", (f"{next_msg} next message", "bold" if self.scope == "next"
                                                      else "dim"),
                                     "   ", (f"{whole} whole conversation",
                                             "bold" if self.scope == "conversation" else "dim")))

    @on(Input.Changed, "#filter")
    def _on_filter(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def _filter(self, query: str) -> None:
        from ..model_match import ranked

        words = query.lower().split()
        options: list[Option] = []
        if self.auto_label and not words:
            options.append(Option(Text(self.auto_label, style="italic"), id=AUTO))
        # An exact name first, then a prefix, then every word, then the characters in order.
        for choice in ranked(self.choices, query, lambda c: c.names or (c.name.lower(),), lambda c: c.haystack):
            options.append(Option(choice.prompt(), id=choice.name))
        option_list = self.query_one(OptionList)
        option_list.set_options(options)
        if options:
            index = 0
            if self.current and not words:
                index = next((i for i, o in enumerate(options) if o.id == self.current), 0)
            option_list.highlighted = index

    def action_move(self, delta: int) -> None:
        option_list = self.query_one(OptionList)
        if option_list.option_count:
            current = option_list.highlighted or 0
            option_list.highlighted = max(0, min(option_list.option_count - 1, current + delta))

    def action_toggle_scope(self) -> None:
        if self.scope is not None:
            self.scope = "conversation" if self.scope == "next" else "next"
            self._render_scope()

    @on(Input.Submitted, "#filter")
    def _on_submit(self) -> None:
        option_list = self.query_one(OptionList)
        if option_list.highlighted is None:
            self.show_error("nothing matches; change the filter or press esc")
            return
        self._pick(option_list.get_option_at_index(option_list.highlighted).id)

    @on(OptionList.OptionSelected)
    def _on_selected(self, event: OptionList.OptionSelected) -> None:
        self._pick(event.option.id)

    def _pick(self, option_id: str | None) -> None:
        self.dismiss(Picked(None if option_id == AUTO else option_id, self.scope or "next"))


class TextPrompt(Dialog):
    """One line of text; `submit` (if given) validates it and its error is shown inline."""

    def __init__(self, title: str, value: str = "", *, placeholder: str = "", hint: str = "enter save · esc cancel",
                 submit: Callable[[str], Awaitable[Any]] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.hint = hint
        self.submit = submit

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(safe_text(self.title_text), classes="title", markup=False)
            # A value from outside (a conversation's title) is shown, and so edited, without its controls.
            yield Field(neutralise(self.value), placeholder=self.placeholder, id="value", compact=True)
            yield Static(id="error", classes="error")
            yield Static(self.hint, classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#error").display = False
        self.query_one(Input).focus()

    @on(Input.Submitted)
    async def _on_submit(self, event: Input.Submitted) -> None:
        from ...core.types import MesoclawError, MesoclawFailure

        value = event.value
        if self.submit is not None:
            try:
                await self.submit(value)
            except (MesoclawError, MesoclawFailure) as exc:
                self.show_error(str(exc))
                return
        self.dismiss(value)


class Confirm(Dialog):
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(safe_text(self.question), classes="title", markup=False)
            yield Static("y yes · n / esc no", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TaskPicker(Dialog):
    """Which task a model becomes the override of."""

    def __init__(self, model: str, overrides: dict[Any, str]) -> None:
        super().__init__()
        self.model = model
        self.overrides = {str(k): v for k, v in overrides.items()}

    def compose(self) -> ComposeResult:
        from ...core.types import TaskType

        with Vertical(id="dialog"):
            yield Static(safe_text(f"Try {self.model} first for which task?"), classes="title", markup=False)
            yield OptionList(*[
                Option(safe_text(Text.assemble((f"{t.value:<10}", "bold"),
                                               (f"now: {self.overrides[t.value]}" if t.value in self.overrides
                                                else "no override", "dim"))), id=t.value)
                for t in TaskType
            ])
            yield Static("enter choose · esc cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _on_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
