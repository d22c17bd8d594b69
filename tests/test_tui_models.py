"""The model browser: every model with tier, context, prices, availability and status; provider
filter, search as you type, a validated form to add a model, and use a model for a task."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mesoclaw_tui.core.registry import BUILTIN_MODELS
from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from tests.fakes.provider_server import FakeProviderServer
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    with fake_providers(monkeypatch, "openai") as server:
        yield server


async def open_models(app: MesoclawApp, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("ctrl+f")
    await settle(app, pilot)
    assert app.screen.__class__.__name__ == "ModelsScreen"


def row_of(app: MesoclawApp, model_id: str) -> str:
    return next(line for line in screen_text(app).splitlines() if f" {model_id} " in line)


async def test_lists_every_model_with_tier_context_prices_availability_and_status(openai_server,
                                                                                  fixed_today) -> None:
    fixed_today("2026-12-01")
    app = MesoclawApp()
    async with app.run_test(size=(200, 60)) as pilot:
        await open_models(app, pilot)
        screen = app.screen
        assert len(screen.matches) == len(screen.entries) > 30
        row = row_of(app, "gpt-4o-mini")
        assert "openai" in row and "low" in row and "128K" in row and "$0.15" in row and "$0.60" in row
        assert "✓" in row  # OPENAI_API_KEY is set
        assert "✗" in row_of(app, "claude-opus-4-5-20251101")
        # the status is the lifecycle on the day: retired, retiring (with the date), legacy, current
        assert "deprecated, retires 2027-01-14" in row
        assert "retired 2026-06-01" in row_of(app, "gemini-2.0-flash")
        assert "retired 2026-11-30" in row_of(app, "claude-sonnet-4-5-20250929")
        assert "legacy" in row_of(app, "claude-haiku-4-5-20251001")
        assert "retire" not in row_of(app, "gpt-6.1-sol") and "legacy" not in row_of(app, "gpt-6.1-sol")
        # the tier is coloured: low green, medium yellow, high red
        table = screen.query_one("#models")
        tiers = {str(r[2]): r[2].style for r in table.rows}
        assert tiers == {"low": "green", "medium": "yellow", "high": "red"}


async def test_search_as_you_type_and_the_provider_filter() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_models(app, pilot)
        screen = app.screen
        assert app.focused.id == "search"
        await pilot.press(*"sonnet")
        assert screen.matches and all("sonnet" in e.haystack for e in screen.matches)
        assert "claude-sonnet" in screen_text(app)
        count = len(screen.matches)
        await pilot.press(*" 4-5")  # every word must match
        assert 0 < len(screen.matches) < count and all("4-5" in e.haystack for e in screen.matches)
        for _ in range(len("sonnet 4-5")):
            await pilot.press("backspace")
        await pilot.press("down")  # to the table
        assert app.focused.id == "models"
        await pilot.press("p")  # provider filter: openai
        assert {e.model.provider for e in screen.matches} == {"openai"}
        assert str(screen.query_one("#provider").value) == "openai"
        await pilot.press("p")
        assert {e.model.provider for e in screen.matches} == {"anthropic"}
        await pilot.press("slash", "x", "x", "x", "q")
        assert screen.matches == [] and "0 of" in screen_text(app)
        no_unexpected_errors(app)


async def test_unknown_prices_say_unknown() -> None:
    async with await RouterService.open(None) as service:
        await service.add_user_model("openai", "mystery-2", "high")
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_models(app, pilot)
        await pilot.press(*"mystery")
        row = row_of(app, "mystery-2")
        assert row.count("unknown") == 2 and "high" in row


async def test_add_a_model_through_the_validated_form() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_models(app, pilot)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "AddModelForm", what="the form")
        form = app.screen
        assert app.focused.id == "model"
        await pilot.press("enter")
        await pilot.pause()
        assert "model ID is required" in screen_text(app)
        await pilot.press(*"my-model", "tab", "tab", *"12x")  # a bad context window
        await pilot.press("enter")
        await pilot.pause()
        assert "context_window must be a number" in screen_text(app)
        form.query_one("#context").value = "128k"
        form.query_one("#price-in").value = "1.5"
        await pilot.press("enter")
        await pilot.pause()
        assert "give both" in screen_text(app)  # one price without the other
        form.query_one("#price-out").value = "$6"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ModelsScreen", what="the browser")
        await settle(app, pilot)
        row = row_of(app, "my-model")
        assert "openai" in row and "128K" in row and "$1.50" in row and "$6.00" in row
        no_unexpected_errors(app)
    async with await RouterService.open(None) as service:
        models = await service.store.list_user_models()
    assert models[0]["model_id"] == "my-model" and models[0]["context_window"] == 128_000


async def test_use_the_selected_model_as_a_task_override() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_models(app, pilot)
        await pilot.press(*"o3", "enter")  # enter: from the search to the table
        assert app.focused.id == "models"
        assert app.screen.selected().model.model_id == "o3"
        await pilot.press("o")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TaskPicker", what="the task picker")
        await pilot.press("down", "down", "down", "down", "enter")  # analysis
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ModelsScreen", what="the browser")
        await settle(app, pilot)
        no_unexpected_errors(app)
    async with await RouterService.open(None) as service:
        assert (await service.get_router_config()).task_overrides == {"analysis": "openai:o3"}


async def test_thousands_of_models_are_all_reachable_by_keyboard() -> None:
    from mesoclaw_tui.service import validate_user_model

    rows = [validate_user_model({"provider": "openrouter", "model_id": f"vendor/model-{i:04d}", "cost_tier": "low",
                                 "context_window": None, "input_price": None, "output_price": None})
            for i in range(2000)]
    async with await RouterService.open(None) as service:
        await service.store.replace_user_models(rows)
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_models(app, pilot)
        await pilot.press(*"model-1", "enter")
        assert len(app.screen.matches) == 1000
        await pilot.press("end")
        assert app.screen.selected().model.model_id == "vendor/model-1999"
        assert "vendor/model-1999" in screen_text(app)
        await pilot.press("pageup")
        assert app.screen.selected().model.model_id < "vendor/model-1999"
        assert f"1000 of {2000 + len(BUILTIN_MODELS)} models" in screen_text(app)
