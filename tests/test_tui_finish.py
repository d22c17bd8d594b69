"""A reply the provider ended early (max tokens, a content filter) is complete but not a whole answer:
the chat's label says so while it is shown and after the conversation is opened again."""

from __future__ import annotations

import pytest

from mesoclaw_tui.tui.app import MesoclawApp
from tests.fakes.provider_server import Stream
from tests.tui_helpers import fake_providers, screen_text, settle, wait_for


@pytest.mark.parametrize("finish, note", [("length", "CUT OFF at the max tokens limit"),
                                          ("content_filter", "STOPPED by a content filter")])
async def test_the_label_says_why_an_answer_ended_early(monkeypatch, finish, note) -> None:
    with fake_providers(monkeypatch, "openai") as server:
        server.default(server.chat_path("openai"), Stream("openai", "The first half of", finish=finish))
        app = MesoclawApp()
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            app.screen.query_one("#prompt").text = "tell me everything about the weather"
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen._reply_worker is not None, what="the reply to start")
            await wait_for(pilot, lambda: not app.screen.streaming, timeout=10, what="the reply to finish")
            await pilot.pause()
            reply = list(app.screen.query("AssistantMessage"))[-1]
            assert reply.status == "complete"
            assert note in str(reply.query_one(".label").render())
        reopened = MesoclawApp()  # the last conversation opens from the database
        async with reopened.run_test(size=(100, 30)) as pilot:
            await settle(reopened, pilot)
            await wait_for(pilot, lambda: "The first half of" in screen_text(reopened), what="the stored reply")
            assert note in screen_text(reopened)
