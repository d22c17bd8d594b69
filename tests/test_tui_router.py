"""Router settings by keyboard: the profile radio set, task overrides from a picker, custom chains
validated by the service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mesoclaw_tui.core.types import RoutingProfile
from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from mesoclaw_tui.tui.screens.router import chain_text
from tests.fakes.provider_server import FakeProviderServer
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    with fake_providers(monkeypatch, "openai") as server:
        yield server


async def config():
    async with await RouterService.open(None) as service:
        return await service.get_router_config()


async def open_router(app: MesoclawApp, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("ctrl+o")
    await settle(app, pilot)
    assert app.screen.__class__.__name__ == "RouterScreen"


async def test_shows_the_profiles_with_the_seed_descriptions_and_the_task_table() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_router(app, pilot)
        text = screen_text(app)
        for profile in RoutingProfile:
            assert profile.description in text
        assert "Balanced (Recommended)" in text
        for task in ("code", "general", "fast", "creative", "analysis"):
            assert f"│{task}" in text.replace("│ ", "│")
        assert "claude-sonnet-5.5 ✗" in text  # the chain, with availability marks
        assert "not configured: set ANTHROPIC_API_KEY" in text  # why, in the detail of the selected task
        # each model once: balanced fast is gemini-3.5-flash-lite, gpt-6-luna, and the fallback gpt-6-luna
        assert chain_text(app.screen.views["fast"]).plain == "gemini-3.5-flash-lite ✗ → gpt-6-luna ✗"


async def test_the_radio_set_changes_the_profile_by_keyboard() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_router(app, pilot)
        await pilot.press("shift+tab")  # from the task table to the radio set
        assert app.focused.id == "profiles"
        await pilot.press("down", "enter")  # Balanced -> Eco
        await wait_for(pilot, lambda: app.profile == "eco", what="eco")
        assert (await config()).profile is RoutingProfile.ECO
        await pilot.press("down", "enter")  # -> Premium
        await wait_for(pilot, lambda: app.profile == "premium", what="premium")
        await pilot.press("ctrl+r")  # premium -> eco: the radio set follows
        await wait_for(pilot, lambda: app.screen.query_one("#profile-eco").value, what="the radio set")
        no_unexpected_errors(app)


async def test_set_and_clear_a_task_override_from_a_picker(openai_server) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_router(app, pilot)
        assert app.focused.id == "tasks"
        await pilot.press("down", "o")  # general
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ModelPicker", what="the picker")
        await pilot.press(*"gpt-6.1-terra", "enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RouterScreen", what="the table")
        await settle(app, pilot)
        assert (await config()).task_overrides == {"general": "gpt-6.1-terra"}
        general = next(line for line in screen_text(app).splitlines() if "│general" in line.replace("│ ", "│"))
        assert "gpt-6.1-terra (openai)" in general  # now the primary model
        await pilot.press("x")
        await settle(app, pilot)
        assert (await config()).task_overrides == {}
        no_unexpected_errors(app)


async def test_edit_a_custom_chain_with_the_service_validating_it() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_router(app, pilot)
        await pilot.press("e")  # code
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TextPrompt", what="the editor")
        assert app.screen.query_one("Input").value == "claude-sonnet-5.5, gpt-6.1-sol, gemini-3.5-flash-lite"
        app.screen.query_one("Input").value = "gpt-6.1-sol, not-a-model"
        await pilot.press("enter")
        await pilot.pause()
        assert "unknown model 'not-a-model'" in screen_text(app)  # inline, the dialog stays open
        assert app.screen.__class__.__name__ == "TextPrompt"
        app.screen.query_one("Input").value = "gpt-6-luna, gpt-6-astra"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RouterScreen", what="the table")
        await settle(app, pilot)
        assert (await config()).custom_routes["code"] == ("gpt-6-luna", "gpt-6-astra")
        assert "custom chain" in screen_text(app)
        await pilot.press("c")
        await settle(app, pilot)
        assert "code" not in (await config()).custom_routes
        no_unexpected_errors(app)


async def test_an_override_naming_a_retired_model_is_flagged_with_what_answers_instead(openai_server,
                                                                                     fixed_today) -> None:
    fixed_today("2026-12-01")
    async with await RouterService.open(None) as service:
        await service.set_task_model_override("general", "gpt-4o-mini")  # retires 2027-01-14
        await service.set_custom_route("code", ["o4-mini", "gpt-6.1-sol"])  # retired 2026-10-23
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_router(app, pilot)
        notes = str(app.screen.query_one("#router-notes").render())
        assert "code custom route: o4-mini retired 2026-10-23 -> gpt-6.1-terra answers in its place" in notes
        assert "general override" not in notes  # more than 30 days away: nothing to say yet
        text = screen_text(app)
        assert "⚠ code custom route: o4-mini retired" in text  # on screen at 80x24
        code = next(line for line in text.splitlines() if "│code" in line.replace("│ ", "│"))
        assert "gpt-6.1-terra (openai)" in code  # o4-mini is never routed to: its successor answers
        assert chain_text(app.screen.views["code"]).plain.startswith("gpt-6.1-terra ✓ → gpt-6.1-sol ✓")
        no_unexpected_errors(app)
    fixed_today("2026-12-20")  # three weeks later gpt-4o-mini retires within 30 days
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_router(app, pilot)
        notes = str(app.screen.query_one("#router-notes").render())
        assert "general override: gpt-4o-mini is deprecated, retires 2027-01-14; successor gpt-6-luna" in notes
