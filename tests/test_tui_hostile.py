"""A hostile provider cannot drive the terminal through the app: replies (streamed and stored), errors,
titles, toasts, job output and model ids are drawn with their control characters made visible, while
the database keeps the exact text. The screen is checked as the compositor hands it to the terminal."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoclaw_tui.scheduler import Scheduler, add_job
from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from mesoclaw_tui.tui.widgets.messages import AssistantMessage, StoredReply
from tests.fakes import hostile
from tests.fakes.hostile import HOSTILE_ERROR, HOSTILE_TEXT, OSC0_TITLE, forbidden_in
from tests.fakes.provider_server import FakeProviderServer
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for

VISIBLE_TITLE = "␛]0;pwned-title␇"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    with fake_providers(monkeypatch, "openai") as fake:
        hostile.hostile_mode(fake)
        yield fake


def assert_screen_safe(app: MesoclawApp) -> str:
    text = screen_text(app)
    assert forbidden_in(text) == [], text
    return text


async def send(app: MesoclawApp, pilot, text: str) -> AssistantMessage:
    app.screen.query_one("#prompt").text = text
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen._reply_worker is not None, what="the reply to start")
    await wait_for(pilot, lambda: not app.screen.streaming, timeout=10, what="the reply to finish")
    await pilot.pause()
    return list(app.screen.query(AssistantMessage))[-1]


def stored(home: Path, role: str) -> list[str]:
    with sqlite3.connect(home / "mesoclaw.db") as conn:
        return [r[0] for r in conn.execute("SELECT content FROM messages WHERE role = ? ORDER BY id", (role,))]


async def test_a_streamed_and_a_stored_hostile_reply_are_drawn_safe(server, isolated_env) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        reply = await send(app, pilot, f"hello {OSC0_TITLE} there")  # the prompt (and title) too
        assert reply.status == "complete" and reply.text == HOSTILE_TEXT  # kept exact for copying
        text = assert_screen_safe(app)
        assert VISIBLE_TITLE in text and "hello ␛]0;" in text
        no_unexpected_errors(app)
    assert stored(isolated_env, "assistant") == [HOSTILE_TEXT]
    assert stored(isolated_env, "user") == [f"hello {OSC0_TITLE} there"]

    app = MesoclawApp()  # reopened: the reply comes from the database
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await wait_for(pilot, lambda: app.screen.query(StoredReply), what="the stored reply")
        await pilot.pause()
        assert VISIBLE_TITLE in assert_screen_safe(app)
        await pilot.press("ctrl+l")  # the conversation list shows the hostile title
        await wait_for(pilot, lambda: "Conversations" in screen_text(app), what="the conversation list")
        assert "hello ␛]0;" in assert_screen_safe(app)
        no_unexpected_errors(app)


async def test_a_hostile_provider_error_is_drawn_safe(server) -> None:
    server.default(server.chat_path("openai"), hostile.error_response(500))
    app = MesoclawApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        reply = await send(app, pilot, "hi")
        assert reply.status == "failed"
        assert VISIBLE_TITLE in assert_screen_safe(app)
        no_unexpected_errors(app)


async def test_toasts_show_outside_text_literally_and_safe(server) -> None:
    """A toast's text may be a provider's error: no control characters, and no markup to break it."""
    app = MesoclawApp()
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        await settle(app, pilot)
        app.notify(f"[/] {HOSTILE_ERROR} [bold]", title=f"job {OSC0_TITLE}")
        await wait_for(pilot, lambda: "model overloaded" in screen_text(app), what="the toast")
        text = assert_screen_safe(app)
        assert "[/] model overloaded" in text and "[bold]" in text and f"job {VISIBLE_TITLE}" in text
        no_unexpected_errors(app)


async def test_the_jobs_dialog_shows_a_hostile_job_output_safe(server) -> None:
    async with await RouterService.open(None) as service:
        await add_job(service, "news", "every 1h", prompt="say hi", task="general")
        scheduler = Scheduler(service, role="cli")
        try:
            assert (await scheduler.run_now("news")).status == "ok"
        finally:
            await scheduler.aclose()
    app = MesoclawApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: "Scheduled jobs" in screen_text(app), what="the jobs dialog")
        assert "Here is your answer. ␛]52;c;" in assert_screen_safe(app)
        no_unexpected_errors(app)


async def test_the_model_browser_shows_an_id_from_the_database_safe(server, isolated_env) -> None:
    """Ids are checked when they are listed; one already in the database still cannot reach the terminal."""
    async with await RouterService.open(None) as service:
        assert (await service.refresh_models(["openai"]))[0]["ok"]
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        conn.execute("INSERT INTO provider_models (provider, model_id, listed_at) VALUES (?, ?, ?)",
                     ("openai", f"aaa{OSC0_TITLE}\u202eid", time.time()))
    app = MesoclawApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: "Model browser" in screen_text(app), what="the model browser")
        app.screen.query_one("#search").value = "aaa"
        await wait_for(pilot, lambda: " 1 of " in screen_text(app), what="the filtered list")
        text = assert_screen_safe(app)
        assert f"aaa{VISIBLE_TITLE}" in text  # in the table and in the detail line
        no_unexpected_errors(app)


async def test_the_router_screen_shows_an_override_to_such_an_id_safe(server, isolated_env) -> None:
    async with await RouterService.open(None) as service:
        assert (await service.refresh_models(["openai"]))[0]["ok"]
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        conn.execute("INSERT INTO provider_models (provider, model_id, listed_at) VALUES (?, ?, ?)",
                     ("openai", f"aaa{OSC0_TITLE}id", time.time()))
    async with await RouterService.open(None) as service:
        await service.set_task_model_override("code", f"openai:aaa{OSC0_TITLE}id")
    app = MesoclawApp()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: "Task routing" in screen_text(app), what="the router screen")
        await settle(app, pilot)
        # the task table's primary, chain and override, and the detail lines (Rich drops the BEL itself)
        assert "aaa␛]0;pwned-title" in assert_screen_safe(app)
        no_unexpected_errors(app)
