"""A reply looks the same while it streams and when the conversation is opened again, and a code
line longer than the pane is wrapped, never cut off (issue 11, item 16)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mesoclaw_tui.tui.app import MesoclawApp
from tests.fakes.provider_server import FakeProviderServer, Stream
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for

LONG_LINE = "    print('a very long line of code that goes on and on well past the right edge of the pane', 'THE-END')"
REPLY = "\n".join([
    "# Title here", "", "Some **bold** and `code` text.", "",
    "## A section", "", "- one", "- two", "  continued", "", "1. first", "2. second", "",
    "```python", "def f():", LONG_LINE, "```", "",
    "| profile | model |", "|---|---|", "| eco | gpt-6-luna |", "| premium | claude-opus-5.5 |", "",
    "> a quote", "", "---", "",
    *[f"Paragraph {i} with a few words to wrap at some point or other, maybe." for i in range(12)],
    "", "### Small heading", "", "Last line.",
]) + "\n"


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    with fake_providers(monkeypatch, "openai") as server:
        yield server


def reply_lines(app: MesoclawApp, selector: str) -> list[str]:
    """The reply's lines as drawn on screen, its label (the last line) aside."""
    region = app.screen.query(selector).last().region
    lines = screen_text(app).splitlines()[region.y:region.y + region.height]
    return [line.rstrip() for line in lines[:-1]]


async def test_a_reply_looks_the_same_streamed_and_reopened(openai_server) -> None:
    # word-sized deltas, slowly enough that it is drawn many times and its first blocks are frozen
    openai_server.default("*/chat/completions", Stream("openai", REPLY, rate=400))
    app = MesoclawApp()
    async with app.run_test(size=(70, 150)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"explain", "enter")
        await wait_for(pilot, lambda: app.screen._reply_worker is not None, what="the reply to start")
        await wait_for(pilot, lambda: not app.screen.streaming, timeout=20, what="the reply to end")
        await pilot.pause(0.2)
        reply = app.screen.query("AssistantMessage").last()
        assert reply.text == REPLY
        streamed = reply_lines(app, "AssistantMessage")
        pieces = getattr(reply, "segments", 0)
        no_unexpected_errors(app)
    app = MesoclawApp()
    async with app.run_test(size=(70, 150)) as pilot:
        await settle(app, pilot)
        await pilot.pause(0.2)
        reopened = reply_lines(app, "StoredReply")
    assert streamed == reopened
    assert pieces >= 1  # it was drawn in pieces, and still reads as one
    text = "\n".join(streamed)
    assert "Title here" in text and "# Title here" not in text  # a heading, not its source
    assert "'THE-END')" in text  # the long code line wrapped: its end is on screen
    assert all(len(line) <= 70 for line in streamed)


async def test_a_long_code_line_is_wrapped_in_a_narrow_terminal(openai_server) -> None:
    openai_server.default("*/chat/completions", Stream("openai", f"```python\n{LONG_LINE}\n```\n"))
    app = MesoclawApp()
    async with app.run_test(size=(40, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"code", "enter")
        await wait_for(pilot, lambda: app.screen._reply_worker is not None, what="the reply to start")
        await wait_for(pilot, lambda: not app.screen.streaming, timeout=10, what="the reply to end")
        await pilot.pause(0.2)
        shown = "".join(line.strip(" ▊") for line in reply_lines(app, "AssistantMessage"))
        assert "THE-END" in shown and "the right edge" in shown  # the whole line, wrapped
