"""The app says what happened, and keeps what you type visible (issue 11, "confusing output"): a bad
config.toml is named with its line, clearing nothing says so, a cancel before any text does not
promise a kept reply, the profile's radio button has a mark that survives NO_COLOR, toasts cover
neither the prompt nor the route line, and Enter while a reply streams queues the message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mesoclaw_tui.tui.app import MesoclawApp
from tests.fakes.provider_server import FakeProviderServer, Stream
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    with fake_providers(monkeypatch, "openai") as server:
        yield server


def toasts(app: MesoclawApp) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)


async def test_a_bad_config_toml_is_named_with_its_line(isolated_env) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    config = isolated_env / "config.toml"
    config.write_text('[providers.openai]\napi_key = "sk-test"\nbase_url = "api.example.com"\n')
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        said = toasts(app)
        assert f"{config}, line 3: [providers.openai] base_url must start with http:// or https://" in said
        assert "database" not in said.lower()
        assert app.open_error is not None and "config.toml" in app.open_error
    config.write_text('[providers.openai]\nbase_url = \n')
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert f"{config} is not valid TOML: Invalid value (at line 2, column 12)" in toasts(app)
        assert "Cannot open mesoclaw's database" not in toasts(app)


async def test_clearing_an_override_or_chain_that_is_not_there_says_so() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        await pilot.press("x")
        await settle(app, pilot)
        assert "code has no override: nothing to clear" in toasts(app)
        assert "override cleared" not in toasts(app)
        await pilot.press("c")
        await settle(app, pilot)
        assert "code has no custom chain: nothing to clear" in toasts(app)
        no_unexpected_errors(app)


async def test_a_cancel_before_the_first_token_does_not_promise_a_partial_reply(openai_server) -> None:
    openai_server.default("*/chat/completions", Stream("openai", ["late"], first_delay=30))
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: app.screen.streaming, what="the reply to start")
        await wait_for(pilot, lambda: openai_server.requests_to(openai_server.chat_path("openai")),
                       what="the request")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.screen.streaming, what="the cancel")
        await pilot.pause()
        label = str(app.screen.query("AssistantMessage").last().query_one(".label").render())
        assert "CANCELLED: before any text arrived" in label and "partial reply" not in label
        no_unexpected_errors(app)


async def test_the_chosen_profile_has_a_mark_without_colour(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        lines = {line.split("▌")[1].split()[0]: line for line in screen_text(app).splitlines()
                 if "▐" in line and "▌" in line and line.split("▌")[1].split()}
        assert "●" in lines["Balanced"].split("▌")[0] and "●" not in lines["Eco"].split("▌")[0]
        await pilot.press("ctrl+r")  # balanced -> premium: the mark moves
        await settle(app, pilot)
        marked = [line.split("▌")[1].split()[0] for line in screen_text(app).splitlines()
                  if "▐●▌" in line]
        assert marked == ["Premium"]


async def test_toasts_cover_neither_the_prompt_nor_the_route_line() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(app, pilot)
        await wait_for(pilot, lambda: app.screen.query_one("#prompt").can_focus, what="the prompt")
        await pilot.press(*"what I am typing")
        app.notify("a long notification that would have covered the bottom right of the screen", title="Note")
        await pilot.pause(0.2)
        toast = app.screen.query("Toast").last().region
        for name in ("#route", "#prompt"):
            assert not toast.overlaps(app.screen.query_one(name).region), name
        assert "what I am typing" in screen_text(app)
        await pilot.press("ctrl+f")
        await settle(app, pilot)
        app.notify("and in the model browser, where the search field is at the top", title="Note")
        await pilot.pause(0.2)
        for toast in app.screen.query("Toast"):
            assert not toast.region.overlaps(app.screen.query_one("#search").region)


async def test_enter_while_a_reply_streams_queues_the_message(openai_server) -> None:
    openai_server.script(openai_server.chat_path("openai"), Stream("openai", n=90, rate=30))  # 3 s
    app = MesoclawApp()
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"first question", "enter")
        await wait_for(pilot, lambda: app.screen.streaming, what="the reply to start")
        app.screen.query_one("#prompt").text = "second question"
        await pilot.press("enter")
        await pilot.pause()
        assert "second question" in screen_text(app) and "queued: sent when the reply ends" in screen_text(app)
        assert "still streaming" not in toasts(app)
        assert app.screen.query_one("#prompt").text == ""
        await wait_for(pilot, lambda: len(openai_server.requests_to(openai_server.chat_path("openai"))) == 2,
                       timeout=10, what="the queued message to be sent")
        await wait_for(pilot, lambda: not app.screen.streaming, timeout=10, what="the second reply")
        sent = openai_server.requests_to(openai_server.chat_path("openai"))[1].json["messages"]
        assert sent[-1]["content"] == "second question"
        assert [m["content"] for m in sent if m["role"] == "user"] == ["first question", "second question"]
        assert "queued:" not in screen_text(app)
        no_unexpected_errors(app)


async def test_esc_takes_a_queued_message_back_before_it_cancels_the_reply(openai_server) -> None:
    openai_server.default("*/chat/completions", Stream("openai", n=400, rate=40))
    app = MesoclawApp()
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"first question", "enter")
        await wait_for(pilot, lambda: app.screen.streaming, what="the reply to start")
        app.screen.query_one("#prompt").text = "never mind"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("escape")  # takes it back; the reply goes on
        await pilot.pause()
        assert app.screen.streaming and app.screen.query_one("#prompt").text == "never mind"
        assert "queued:" not in screen_text(app)
        await pilot.press("escape")  # now it cancels the reply
        await wait_for(pilot, lambda: not app.screen.streaming, what="the cancel")
        await pilot.pause(0.3)
        assert len(openai_server.requests_to(openai_server.chat_path("openai"))) == 1
        assert app.screen.query_one("#prompt").text == "never mind"
        no_unexpected_errors(app)
