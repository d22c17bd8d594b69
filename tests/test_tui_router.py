"""Router settings by keyboard: the profile radio set, task overrides from a picker, custom chains
validated by the service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mesoclaw_tui.core.types import RoutingProfile
from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
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
        assert "claude-sonnet-4.5 ✗" in text  # the chain, with availability marks
        assert "not configured: set ANTHROPIC_API_KEY" in text  # why, in the detail of the selected task


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
        await pilot.press(*"o4-mini", "enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RouterScreen", what="the table")
        await settle(app, pilot)
        assert (await config()).task_overrides == {"general": "o4-mini"}
        general = next(line for line in screen_text(app).splitlines() if "│general" in line.replace("│ ", "│"))
        assert "o4-mini (openai)" in general  # now the primary model
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
        assert app.screen.query_one("Input").value == "claude-sonnet-4.5, gpt-4o, gemini-2.0-flash"
        app.screen.query_one("Input").value = "gpt-4o, not-a-model"
        await pilot.press("enter")
        await pilot.pause()
        assert "unknown model 'not-a-model'" in screen_text(app)  # inline, the dialog stays open
        assert app.screen.__class__.__name__ == "TextPrompt"
        app.screen.query_one("Input").value = "gpt-4o-mini, o3"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RouterScreen", what="the table")
        await settle(app, pilot)
        assert (await config()).custom_routes["code"] == ("gpt-4o-mini", "o3")
        assert "custom chain" in screen_text(app)
        await pilot.press("c")
        await settle(app, pilot)
        assert "code" not in (await config()).custom_routes
        no_unexpected_errors(app)
