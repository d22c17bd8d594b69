"""The app shell: screens and their keys, ctrl+r from everywhere, palette, theme, NO_COLOR, live
sync with the CLI, and errors that become notifications instead of tracebacks."""

from __future__ import annotations

import asyncio

import pytest

from mesoclaw_tui.core.types import MesoclawFailure
from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from mesoclaw_tui.tui.launch import raise_if_failed
from tests.tui_helpers import no_unexpected_errors, screen_text, settle, wait_for


async def profile_in_db() -> str:
    async with await RouterService.open(None) as service:
        return (await service.get_router_config()).profile.value


@pytest.mark.parametrize("key, mode", [("ctrl+o", "router"), ("ctrl+f", "models"), ("f2", "router"),
                                       ("f3", "models")])
async def test_keys_switch_screens_and_back(key: str, mode: str) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.current_mode == "chat"
        await pilot.press(key)
        await settle(app, pilot)
        assert app.current_mode == mode
        await pilot.press("ctrl+t")
        assert app.current_mode == "chat"
        no_unexpected_errors(app)


async def test_the_footer_shows_the_screen_keys_at_80_columns() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        footer = screen_text(app).splitlines()[-1]
        for key in ("^r Profile", "^o Router", "^f Models", "^k Model", "^p palette"):
            assert key in footer, footer
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        footer = screen_text(app).splitlines()[-1]
        assert "^t Chat" in footer and "^f Models" in footer and "^o Router" not in footer


async def test_ctrl_r_cycles_the_profile_from_every_screen_and_saves_it_at_once() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.profile == "balanced"
        assert "BALANCED" in screen_text(app).splitlines()[0]
        seen = []
        for screen_key in ("ctrl+t", "ctrl+o", "ctrl+f"):
            await pilot.press(screen_key)
            await settle(app, pilot)
            await pilot.press("ctrl+r")
            await settle(app, pilot)
            seen.append(app.profile)
            assert await profile_in_db() == app.profile  # saved, visible to `mesoclaw router profile`
            assert app.profile.upper() in screen_text(app).splitlines()[0]
        assert seen == ["premium", "eco", "balanced"]
        no_unexpected_errors(app)


async def test_what_is_typed_before_the_prompt_appears_lands_in_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first frame draws the prompt's slot; the TextArea replaces it a moment later. Here that moment
    # is long enough for the keys to surely come first.
    from mesoclaw_tui.tui.screens import chat

    monkeypatch.setattr(chat, "PROMPT_AFTER_FIRST_FRAME_S", 2.0)
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("h", "i", "space", "t", "h", "e", "r", "e")
        assert not app.screen.query("PromptInput")  # still the slot
        await settle(app, pilot)
        prompt = app.screen.query_one("#prompt")
        assert prompt.text == "hi there"
        assert prompt.has_focus
        await pilot.press("!")
        assert prompt.text == "hi there!"  # the cursor is after what was typed
        no_unexpected_errors(app)


async def test_ctrl_r_works_while_typing_in_the_prompt() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("h", "i", "ctrl+r")
        await settle(app, pilot)
        assert app.profile == "premium"
        assert app.screen.query_one("#prompt").text == "hi"


async def test_a_change_from_the_cli_appears_within_a_second() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        async with await RouterService.open(None) as other:  # another connection, like a CLI call
            await other.set_router_profile("eco")
            await other.set_task_model_override("code", "gpt-6-luna")
        await wait_for(pilot, lambda: app.profile == "eco", timeout=1.0, what="the profile to sync")
        await wait_for(pilot, lambda: app.screen.query_one("#profile-eco").value, timeout=1.0,
                       what="the radio set")
        await wait_for(pilot, lambda: (app.screen.views.get("code") or {}).get("override") == "gpt-6-luna",
                       timeout=1.0, what="the override")
        assert "ECO" in screen_text(app).splitlines()[0]
        code_row = next(line for line in screen_text(app).splitlines() if line.lstrip("│ ").startswith("code"))
        assert code_row.split("│")[1].rstrip().endswith("gpt-6-luna")  # the Override column


def highlighted_command(app: MesoclawApp) -> str:
    """The command the palette would run on enter ("" while it has found none)."""
    from textual.command import CommandList

    found = app.screen.query(CommandList)
    if not found or found.first().highlighted is None:
        return ""
    command_list = found.first()
    prompt = command_list.get_option_at_index(command_list.highlighted).prompt
    return getattr(prompt, "plain", str(prompt))


async def test_command_palette_offers_every_action() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title in ("Chat", "Router settings", "Model browser", "Cycle routing profile", "Profile: eco",
                      "Toggle light/dark theme", "Choose the model", "New conversation", "Conversations",
                      "Copy the last reply", "Quit"):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"model browser")
        await wait_for(pilot, lambda: "Model browser" in highlighted_command(app), what="the palette's best match")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_mode == "models", what="the palette to switch screens")


async def test_theme_toggles_between_light_and_dark() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.theme == "textual-dark"
        await pilot.press("f9")
        assert app.theme == "textual-light"
        await app.run_action("toggle_theme")
        await pilot.pause()
        assert app.theme == "textual-dark"


async def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.filter import Monochrome, NoColor

    monkeypatch.setenv("NO_COLOR", "1")
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.no_color
        assert any(isinstance(f, Monochrome | NoColor) for f in app._filters)
        # grey levels would make red marks and tiers near-invisible: they keep the text's own contrast
        await pilot.press("ctrl+f")
        await settle(app, pilot)
        rows = app.screen.query_one("#models").rows
        assert {str(r[6]) for r in rows} <= {"✓", "✗"} and all(not r[2].style and not r[6].style for r in rows)


async def test_an_error_in_an_action_becomes_a_notification_and_the_app_keeps_running(
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)

        async def broken(*args, **kwargs):
            raise RuntimeError("kaboom")

        monkeypatch.setattr(app.service.store, "list_conversations", broken)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: app.unexpected_errors, what="the error")
        assert any("kaboom" in str(n.message) for n in app._notifications)
        assert "kaboom" in (app.service.settings.paths.data_dir / "tui-errors.log").read_text()
        app.unexpected_errors.clear()
        await pilot.press("ctrl+r")  # still alive and responsive
        await settle(app, pilot)
        assert app.profile == "premium"


async def test_an_uncaught_error_ends_the_app_without_a_traceback_on_screen() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)

        def boom() -> None:
            raise RuntimeError("kaboom")

        app.call_later(boom)
        deadline = asyncio.get_running_loop().time() + 30
        while app.is_running:  # the app ends on its own (pilot.pause would wait on a closed app)
            assert asyncio.get_running_loop().time() < deadline, "the app kept running after the error"
            await asyncio.sleep(0.02)
    assert app.return_code == 1
    assert [str(e) for e in app.unexpected_errors] == ["kaboom"]
    assert app._exit_renderables == []  # Textual would print a traceback here
    assert app.crash_log is not None and "kaboom" in app.crash_log.read_text()


async def test_an_uncaught_error_in_a_widget_ends_the_app_as_one_line(monkeypatch) -> None:
    """A bug in a widget's own handler (not guarded) still ends as launch()'s one line, no traceback."""
    from textual.widgets import Static

    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)

        def broken_render(self) -> str:
            raise ValueError("render broke")

        monkeypatch.setattr(Static, "render", broken_render)
        app.screen.query_one("#route", Static).refresh()
        deadline = asyncio.get_running_loop().time() + 30
        while app.is_running:
            assert asyncio.get_running_loop().time() < deadline, "the app kept running after the error"
            await asyncio.sleep(0.02)
    assert app.return_code == 1 and app._exit_renderables == []
    with pytest.raises(MesoclawFailure, match="unexpected error: ValueError: render broke") as raised:
        raise_if_failed(app)
    assert "\n" not in str(raised.value) and "Traceback" not in str(raised.value)


async def test_a_screen_out_of_view_reloads_when_shown_again_after_a_cli_change() -> None:
    """The model browser is stale while the chat is in front; it shows the CLI's new model on return."""
    app = MesoclawApp()
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+f")
        await settle(app, pilot)
        models = app.screen
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        async with await RouterService.open(None) as other:  # another connection, like a CLI call
            await other.add_user_model("groq", "my-new-model", "low")
        await wait_for(pilot, lambda: models.stale, what="the model browser to be marked stale")
        assert "my-new-model" not in {e.model.model_id for e in models.entries}
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: "my-new-model" in {e.model.model_id for e in models.entries},
                       what="the new model")
        assert not models.stale
        await pilot.press(*"my-new")  # the search field has focus: the new row on screen
        await wait_for(pilot, lambda: "my-new-model" in screen_text(app), what="the new row")
        no_unexpected_errors(app)


async def test_the_chat_follows_a_rename_and_a_pinned_model_made_elsewhere() -> None:
    async with await RouterService.open(None) as other:
        conversation_id = await other.create_conversation("before")
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.screen.conversation_id == conversation_id
        async with await RouterService.open(None) as other:
            await other.rename_conversation(conversation_id, "after")
            await other.pin_model(conversation_id, "o3")
        await wait_for(pilot, lambda: "after" in screen_text(app).splitlines()[0], what="the title")
        await wait_for(pilot, lambda: app.screen.pinned == "o3", what="the pinned model")
        no_unexpected_errors(app)
