"""The form that adds a custom model; the service validates it and its errors show in the form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from ...core.provider_info import PROVIDERS
from ...core.types import MesoclawError
from ..errors import guarded
from ..widgets.fields import Field
from .dialogs import Dialog

if TYPE_CHECKING:
    from ...service import RouterService

SUFFIXES = {"k": 1_000, "m": 1_000_000}


def parse_context(value: str) -> int | str | None:
    """`128000`, `128k`, `1M` -> tokens; anything else goes to the service, which names the problem."""
    text = value.strip().lower().replace(",", "").replace("_", "")
    if not text:
        return None
    if text[-1:] in SUFFIXES and text[:-1].replace(".", "", 1).isdigit():
        return int(float(text[:-1]) * SUFFIXES[text[-1]])
    return int(text) if text.isdigit() else value


def parse_price(value: str) -> float | str | None:
    text = value.strip().lstrip("$")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return value


class AddModelForm(Dialog):
    DEFAULT_CSS = """
    AddModelForm Grid { grid-size: 2; grid-columns: 16 1fr; grid-rows: 1; grid-gutter: 0 1; height: auto; }
    AddModelForm Grid Label { color: $text-muted; }
    AddModelForm #buttons { height: 1; margin-top: 1; }
    AddModelForm Button { margin-right: 2; }
    """
    BINDINGS = [Binding("ctrl+n", "save", "Add", priority=True)]

    def __init__(self, service: RouterService, provider: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.provider = provider

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Add a model", classes="title")
            with Grid():
                yield Label("Provider")
                yield Select([(p.name, p.id) for p in PROVIDERS.values()], value=self.provider or "openai",
                             allow_blank=False, compact=True, id="provider")
                yield Label("Model ID")
                yield Field(placeholder="as the provider's API names it, e.g. gpt-4.1", compact=True, id="model")
                yield Label("Cost tier")
                yield Select([("low", "low"), ("medium", "medium"), ("high", "high")], value="medium",
                             allow_blank=False, compact=True, id="tier")
                yield Label("Context (tokens)")
                yield Field(placeholder="e.g. 128k (optional)", compact=True, id="context")
                yield Label("Input $/1M")
                yield Field(placeholder="e.g. 2.50 (blank: from the price data)", compact=True, id="price-in")
                yield Label("Output $/1M")
                yield Field(placeholder="e.g. 10.00", compact=True, id="price-out")
            yield Static(id="error", classes="error")
            with Horizontal(id="buttons"):
                yield Button("Add", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static("tab next field · enter or ctrl+n add · esc cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#error").display = False
        self.query_one("#model", Input).focus()

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#save")
    async def _save_pressed(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    @guarded
    async def action_save(self) -> None:
        def value(selector: str) -> str:
            return self.query_one(selector, Input).value

        try:
            if not value("#model").strip():
                raise MesoclawError("the model ID is required, e.g. gpt-4.1")
            added = await self.service.add_user_model(
                str(self.query_one("#provider", Select).value), value("#model"),
                str(self.query_one("#tier", Select).value),
                context_window=parse_context(value("#context")),
                input_price=parse_price(value("#price-in")),
                output_price=parse_price(value("#price-out")),
            )
        except MesoclawError as exc:
            self.show_error(str(exc))
            return
        self.dismiss(added)
