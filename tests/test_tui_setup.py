"""First-run setup in the app, config.toml followed live, [keys] rebinding, and what the app remembers
(theme, last screen, a conversation's pinned model). Driven through the real app against the fake
provider on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoclaw_tui.service import RouterService
from mesoclaw_tui.settings import update_config_file
from mesoclaw_tui.tui.app import MesoclawApp
from tests.fakes.provider_server import FakeProviderServer, Respond
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for

KEY = "sk-pasted-0123456789wxyz"


@pytest.fixture
def keyless(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    """The fake OpenAI's base URL in the environment, but no key: nothing is configured yet."""
    with FakeProviderServer() as server:
        for name, value in server.env("openai").items():
            if not name.endswith("_API_KEY"):
                monkeypatch.setenv(name, value)
        yield server


def write_config(home: Path, text: str) -> None:
    """config.toml changed by another process, as `mesoclaw providers set` or an editor does (a new file)."""
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / "config.toml.new"
    tmp.write_text(text)
    os.replace(tmp, home / "config.toml")


def notifications(app: MesoclawApp) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def test_with_no_provider_setup_opens_saves_a_key_checks_it_live_and_sets_the_profile(
        keyless: FakeProviderServer, isolated_env: Path) -> None:
    app = MesoclawApp(offer_setup=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SetupScreen", what="the setup screen")
        text = screen_text(app)
        assert "(mode 0600)" in text and "OpenAI" in text and "Setup" in text.splitlines()[0]
        await pilot.press("enter")  # OpenAI, the first provider
        assert app.screen.focused.id == "key"
        for part in ("sk-has space",):  # a key with a space is refused, nothing is written
            app.screen.query_one("#key").value = part
            await pilot.press("enter")
            await wait_for(pilot, lambda: "spaces" in screen_text(app), what="the refusal")
        assert not (isolated_env / "config.toml").exists()
        await pilot.press(*KEY)
        assert KEY not in screen_text(app)  # typed as dots
        await pilot.press("enter")
        await wait_for(pilot, lambda: "saved and checked" in screen_text(app), timeout=10, what="the check")
        text = screen_text(app)
        assert KEY not in text and "…wxyz" in text
        check = keyless.requests_to(keyless.models_path("openai"))[-1]
        assert check.headers["authorization"] == f"Bearer {KEY}"
        config = isolated_env / "config.toml"
        assert f'api_key = "{KEY}"' in config.read_text() and stat.S_IMODE(config.stat().st_mode) == 0o600
        app.screen.query_one("#profile").focus()
        await pilot.press("down", "enter")  # balanced -> premium
        await wait_for(pilot, lambda: "◉ premium" in screen_text(app), what="the mark")
        await wait_for(pilot, lambda: app.profile == "premium", what="the profile")
        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ChatScreen"
        assert not app.screen.query("#no-provider")
        no_unexpected_errors(app)
    async with await RouterService.open(None) as service:
        assert (await service.get_router_config()).profile.value == "premium"
        assert KEY not in "\n".join(str(v) for v in (await service.store.provider_states()).values())


async def test_a_key_the_provider_refuses_is_said_in_the_screen(keyless: FakeProviderServer) -> None:
    keyless.default(keyless.models_path("openai"), Respond(401, {"error": {"message": "Incorrect API key"}}))
    app = MesoclawApp(offer_setup=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SetupScreen", what="the setup screen")
        await pilot.press("enter", *KEY, "enter")
        await wait_for(pilot, lambda: "check failed" in screen_text(app), timeout=10, what="the failure")
        assert "the check failed: auth: Incorrect API" in screen_text(app)


async def test_setup_does_not_open_when_a_provider_is_configured(monkeypatch) -> None:
    with fake_providers(monkeypatch, "openai"):
        app = MesoclawApp(offer_setup=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.pause(0.2)
            assert type(app.screen).__name__ == "ChatScreen"


async def test_a_key_written_to_config_toml_elsewhere_is_used_within_a_second(keyless, isolated_env) -> None:
    app = MesoclawApp(poll_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        hint = screen_text(app)
        assert "no provider is configured" in hint and str(isolated_env / "config.toml")[:30] in hint
        write_config(isolated_env, f'[providers.openai]\napi_key = "{KEY}"\n')
        await wait_for(pilot, lambda: app.service.settings.configured() == {"openai"}, what="the reload")
        await wait_for(pilot, lambda: not app.screen.query("#no-provider"), what="the hint to go")
        write_config(isolated_env, "[providers.openai\n")  # a broken edit: said, the settings stay
        await wait_for(pilot, lambda: "not valid TOML" in notifications(app), what="the error")
        assert app.service.settings.configured() == {"openai"}
        no_unexpected_errors(app)


async def test_keys_from_config_toml_rebind_actions_and_show_in_the_footer(isolated_env) -> None:
    write_config(isolated_env, '[keys]\nprofile_cycle = "f11"\nconversations = "f12"\n')
    app = MesoclawApp(poll_interval=0.1)
    async with app.run_test(size=(100, 24)) as pilot:  # room in the footer for every key
        await settle(app, pilot)
        await wait_for(pilot, lambda: "f11 Profile" in screen_text(app).splitlines()[-1],
                       what="the footer")
        assert "f12 Chats" in screen_text(app).splitlines()[-1]
        assert " f11 " in screen_text(app).splitlines()[0]  # the top bar names the profile key too
        await pilot.press("ctrl+r")  # no longer the profile key
        await settle(app, pilot)
        assert app.profile == "balanced"
        await pilot.press("f11")
        await settle(app, pilot)
        assert app.profile == "premium"
        write_config(isolated_env, '[keys]\nprofile_cycle = "ctrl+m"\n')  # edited live, to a bad key
        await wait_for(pilot, lambda: "sends ctrl+m as enter" in notifications(app), what="the error")
        assert "^r Profile" in screen_text(app).splitlines()[-1]  # the defaults, all of them
        write_config(isolated_env, '[keys]\nprofile_cylce = "f11"\n')
        await wait_for(pilot, lambda: "unknown action 'profile_cylce' (choose one of: profile_cycle" in
                       notifications(app), what="the unknown action")
        no_unexpected_errors(app)


async def test_the_theme_and_the_last_screen_are_remembered() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f9", "ctrl+o")
        await settle(app, pilot)
        assert app.theme == "textual-light" and app.current_mode == "router"
    reopened = MesoclawApp()
    assert reopened.theme == "textual-light"  # before the first frame: no flash of the dark theme
    async with reopened.run_test(size=(80, 24)) as pilot:
        await settle(reopened, pilot)
        assert reopened.current_mode == "router" and "Router" in screen_text(reopened).splitlines()[0]
        await pilot.press("f9", "ctrl+t")
        await settle(reopened, pilot)
    third = MesoclawApp()
    async with third.run_test(size=(80, 24)) as pilot:
        await settle(third, pilot)
        assert third.theme == "textual-dark" and third.current_mode == "chat"


async def test_a_conversations_pinned_model_is_kept_across_restarts(monkeypatch) -> None:
    with fake_providers(monkeypatch, "openai"):
        async with await RouterService.open(None) as service:
            conversation_id = await service.create_conversation("pinned")
            await service.add_user_message(conversation_id, "hello")
        app = MesoclawApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await app.screen.apply_model_choice("gpt-6-luna", "conversation")
            await settle(app, pilot)
        reopened = MesoclawApp()
        async with reopened.run_test(size=(80, 24)) as pilot:
            await settle(reopened, pilot)
            assert reopened.screen.pinned == "gpt-6-luna"
            assert "gpt-6-luna pinned for this conversation" in screen_text(reopened)


async def test_setup_from_the_palette_when_a_provider_exists(monkeypatch) -> None:
    with fake_providers(monkeypatch, "openai"):
        app = MesoclawApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("ctrl+p", *"set up prov")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "SetupScreen", what="the setup screen")
            assert "✓ OpenAI" in screen_text(app)
            await pilot.press("escape")
            await settle(app, pilot)
            assert type(app.screen).__name__ == "ChatScreen"


def test_update_config_file_keeps_keys_and_ui_tables(isolated_env) -> None:
    """[keys] written by hand survives a provider set up through the service (one read-modify-write)."""
    write_config(isolated_env, '[keys]\nattach = "f12"\n')

    async def go() -> None:
        async with await RouterService.open(None) as service:
            await service.configure_provider("openai", api_key=KEY)

    asyncio.run(go())
    text = (isolated_env / "config.toml").read_text()
    assert 'attach = "f12"' in text and KEY in text
    update_config_file(isolated_env / "config.toml", lambda data: None)
