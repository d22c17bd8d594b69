"""The chat's daily tools, through the real app and the fake provider: files attached by path (text
and images, refused when they cannot be sent), one code block copied, the conversation's running
cost in the top bar, search in the conversation list, and jobs made and run from the app."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoclaw_tui.scheduler import add_job, list_jobs
from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from mesoclaw_tui.tui.widgets.attachments import AttachmentBar
from mesoclaw_tui.tui.widgets.messages import StoredReply
from tests.fakes.provider_server import FakeProviderServer, Stream
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
TWO_BLOCKS = "First:\n\n```python\nprint('one')\n```\n\nThen:\n\n```sh\nls -la | wc -l\n```\n"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    with fake_providers(monkeypatch, "openai") as fake:
        yield fake


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with a text file, an image and a binary file; the app runs from it."""
    folder = tmp_path / "work"
    (folder / "docs").mkdir(parents=True)
    (folder / "notes.md").write_text("the meeting is at noon\n")
    (folder / "docs" / "plan.txt").write_text("step one\n")
    (folder / "shot.png").write_bytes(PNG)
    (folder / "blob.bin").write_bytes(b"\x00\x01\x02" * 10)
    monkeypatch.chdir(folder)
    return folder


async def send(app: MesoclawApp, pilot, text: str) -> None:
    app.screen.query_one("#prompt").text = text
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen._reply_worker is not None, what="the reply to start")
    await wait_for(pilot, lambda: not app.screen.streaming, timeout=10, what="the reply to finish")
    await settle(app, pilot)


async def attach(app: MesoclawApp, pilot, *keys: str) -> None:
    await pilot.press("ctrl+u")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "AttachDialog", what="the attach dialog")
    await pilot.press(*keys)
    await settle(app, pilot)


def chips(app: MesoclawApp) -> list[str]:
    bars = app.screen.query(AttachmentBar)
    return [f.name for f in bars.first().files] if bars else []


async def test_files_attach_by_path_with_completion_and_go_with_the_message(server, files) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await attach(app, pilot, *"no", "tab")  # tab completes notes.md
        assert app.screen.query_one("Input").value == "notes.md"
        assert "5 MB" in screen_text(app) and "8 MB" in screen_text(app)  # the limits are stated
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ChatScreen" and chips(app) == ["notes.md"]
        await attach(app, pilot, *"do", "tab", "enter")  # a folder: enter goes into it
        assert app.screen.query_one("Input").value == "docs/"
        await pilot.press("down", "enter")  # the first match (plan.txt), attached
        await settle(app, pilot)
        assert chips(app) == ["notes.md", "plan.txt"]
        assert "notes.md" in screen_text(app) and "plan.txt" in screen_text(app)  # chips above the prompt
        bar = app.screen.query_one(AttachmentBar)
        bar.focus()
        await pilot.press("left", "delete")  # notes.md removed
        assert chips(app) == ["plan.txt"]
        await pilot.press("tab")  # back to the prompt
        assert app.screen.focused.id == "prompt"
        await send(app, pilot, "what is the first step?")
        request = server.requests_to(server.chat_path("openai"))[-1].json
        sent = request["messages"][-1]["content"]
        assert sent.startswith("what is the first step?") and '<file name="plan.txt">\nstep one\n</file>' in sent
        assert "noon" not in sent
        assert chips(app) == []  # they went with the message
        no_unexpected_errors(app)
    async with await RouterService.open(None) as service:
        conversation_id = await service.last_conversation_id()
        stored = await service.messages(conversation_id)
    assert '<file name="plan.txt">' in stored[0].content


async def test_an_image_goes_as_an_image_part_and_files_alone_can_be_sent(server, files) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await attach(app, pilot, *"shot.png", "enter")
        assert chips(app) == ["shot.png"]
        await send(app, pilot, "")
        content = server.requests_to(server.chat_path("openai"))[-1].json["messages"][-1]["content"]
        assert isinstance(content, list) and content[0]["type"] == "text" and "[attached image: shot.png]" in \
            content[0]["text"]
        assert content[1]["type"] == "image_url" and content[1]["image_url"]["url"].startswith("data:image/png;base64,")
        reply = app.screen.query("AssistantMessage").last()
        assert reply.status == "complete"


async def test_a_file_that_cannot_be_sent_is_refused_in_the_dialog(server, files, monkeypatch) -> None:
    from mesoclaw_tui.engine import attachments

    (files / "huge.txt").write_text("word " * 2000)
    monkeypatch.setattr(attachments, "MAX_TEXT_BYTES", 1_000_000)

    async def tiny_window(service):  # every model's context: 500 tokens
        return 500

    monkeypatch.setattr(attachments, "largest_window", tiny_window)
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await attach(app, pilot, *"blob.bin", "enter")
        await wait_for(pilot, lambda: "not a text file" in screen_text(app), what="the binary refused")
        app.screen.query_one("Input").value = "huge.txt"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "too big for every model" in screen_text(app), what="the size refused")
        app.screen.query_one("Input").value = "missing.txt"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "cannot read missing.txt" in screen_text(app), what="a missing file")
        await pilot.press("escape")
        await settle(app, pilot)
        assert chips(app) == [] and not server.requests_to(server.chat_path("openai"))


async def test_ctrl_y_cycles_the_code_blocks_of_the_last_reply_and_copies_one(server, monkeypatch) -> None:
    server.default("*/chat/completions", Stream("openai", TWO_BLOCKS))
    app = MesoclawApp()
    copied: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await settle(app, pilot)
        await pilot.press("ctrl+y")
        assert copied == [] and type(app.screen).__name__ == "ChatScreen"  # no reply yet
        await send(app, pilot, "show me two commands")
        await pilot.press("ctrl+y")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CodeBlockPicker", what="the picker")
        assert "▶ 1. python, 1 line" in screen_text(app)
        await pilot.press("ctrl+y")  # the same key: the next block, highlighted and shown
        await pilot.pause()
        assert "▶ 2. sh, 1 line" in screen_text(app) and "ls -la | wc -l" in screen_text(app)
        await pilot.press("enter")
        await settle(app, pilot)
        assert copied == ["ls -la | wc -l\n"]


async def test_the_top_bar_shows_the_conversations_running_cost(server) -> None:
    server.default("*/chat/completions", Stream("openai", "fine", usage=(1000, 500)))
    app = MesoclawApp()
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(app, pilot)
        await send(app, pilot, "hello there")
        bar = screen_text(app).splitlines()[0]
        assert "1.5k tok $" in bar
        first = app.screen.query_one("AppBar").meter
        await send(app, pilot, "and again")
        assert "3.0k tok" in screen_text(app).splitlines()[0] and app.screen.query_one("AppBar").meter != first
        conversation_id = app.screen.conversation_id
        async with await RouterService.open(None) as service:  # a reply whose price is unknown
            await service.store.record_reply({"created_at": 0.0, "source": "chat", "outcome": "ok", "input_tokens": 10,
                                              "output_tokens": 10, "cost_usd": None, "estimated": 0, "fallbacks": 0,
                                              "attempts": "[]", "conversation_id": conversation_id}, None)
        await app.screen.open_conversation(conversation_id)
        await settle(app, pilot)
        assert "+ 1 unpriced" in screen_text(app).splitlines()[0]
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        assert "tok" not in screen_text(app).splitlines()[0]  # a new chat has cost nothing yet


async def test_typing_in_the_conversation_list_searches_every_message(server) -> None:
    async with await RouterService.open(None) as service:
        lisbon = await service.create_conversation("Trip")
        await service.add_user_message(lisbon, "three things to eat in Lisbon: pastéis de nata")
        other = await service.create_conversation("Other")
        await service.add_user_message(other, "nothing about food")
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.screen.conversation_id == other
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConversationPicker", what="the list")
        await pilot.press("slash", *"pasteis")
        await wait_for(pilot, lambda: "1 match" in screen_text(app), what="the search")
        listed = str(app.screen.query_one("#options").get_option_at_index(0).prompt)
        assert app.screen.query_one("#options").option_count == 1
        assert "Trip" in listed and "pastéis" in listed
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen.conversation_id == lisbon
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConversationPicker", what="the list")
        await pilot.press("slash", *"zebra")
        await wait_for(pilot, lambda: "no conversation holds 'zebra'" in screen_text(app), what="no match")
        await pilot.press(*["backspace"] * 5, *"pasteis")  # r on a result renames that conversation
        await wait_for(pilot, lambda: "1 match" in screen_text(app), what="the search")
        await pilot.press("down", "r")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "TextPrompt", what="the rename dialog")
        await pilot.press(*["backspace"] * 4, *"Lisbon", "enter")
        await settle(app, pilot)
        async with await RouterService.open(None) as service:
            assert (await service.conversation(lisbon)).title == "Lisbon"
        no_unexpected_errors(app)


@pytest.mark.parametrize("position", [40, 290], ids=["far back", "among the newest"])
async def test_a_search_opens_the_conversation_at_its_match(server, position: int) -> None:
    """300 messages; the only one about a zebra is the 40th (far back) or the 290th (in the latest page,
    but not on screen at the end). Enter on the match shows it, marked."""
    async with await RouterService.open(None) as service:
        long = await service.create_conversation("Long")
        for i in range(300):
            text = "what about the zebra crossing?" if i == position else f"note number {i}"
            if i % 2:
                await service.store.add_message(long, "assistant", text)
            else:
                await service.add_user_message(long, text)
        await service.create_conversation("Newer")
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConversationPicker", what="the list")
        await pilot.press("slash", *"zebra")
        await wait_for(pilot, lambda: "1 match" in screen_text(app), what="the search")
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.pause()
        assert app.screen.conversation_id == long
        assert "zebra crossing" in screen_text(app)
        found = app.screen.transcript.query(".found")
        assert len(found) == 1 and "zebra" in str(found.first().render())
        # far back, the page ends with the match, and says so
        assert ("Newer messages are not shown" in screen_text(app)) == (position == 40)
        # sending goes back to the end first: the newest messages are there again, the reply after them
        app.screen.query_one("#prompt").text = "thanks"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.screen.streaming and app.screen._reply_worker is not None,
                       what="the reply")
        await settle(app, pilot)
        shown = [type(w).__name__ if isinstance(w, StoredReply) else str(w.render())
                 for w in app.screen.transcript.messages]
        assert shown[-4:-1] == ["note number 298", "StoredReply", "thanks"]  # the newest stored, then ours
        no_unexpected_errors(app)


async def test_jobs_are_made_edited_switched_run_and_deleted_from_the_app(server) -> None:
    server.default("*/chat/completions", Stream("openai", "Your three priorities: \x1b]0;evil\x07 sleep"))
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "JobsDialog", what="the jobs")
        await pilot.press("n")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "JobEditor", what="the form")
        await pilot.press(*"standup", "tab", "tab", *"daily 25:00", "enter")  # a bad time: said in the form
        await wait_for(pilot, lambda: "25:00" in screen_text(app) and type(app.screen).__name__ == "JobEditor",
                       what="the refusal")
        async with await RouterService.open(None) as service:
            assert await list_jobs(service) == []
        app.screen.query_one("#job-schedule").value = "daily 09:00"
        app.screen.query_one("#job-prompt").value = "plan my day"
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "JobsDialog", what="back to the list")
        await wait_for(pilot, lambda: "standup" in screen_text(app), what="the new job")
        await pilot.press("e")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "JobEditor", what="the form")
        app.screen.query_one("#job-schedule").value = "every 2h"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "every 2 hours" in screen_text(app) or "every 2h" in screen_text(app),
                       what="the new schedule")
        await pilot.press("space")
        await wait_for(pilot, lambda: "disabled" in screen_text(app), what="switched off")
        await pilot.press("r")  # run now: the same run as `mesoclaw schedule run`
        await wait_for(pilot, lambda: "Your three priorities" in screen_text(app), timeout=10, what="the run")
        async with await RouterService.open(None) as service:
            job = (await list_jobs(service))[0]
        assert (job.schedule, job.enabled, job.last_status) == ("every 2h", False, "ok")
        assert job.last_run.trigger == "manual"
        await pilot.press("enter")  # its runs, with the whole output, made safe
        await wait_for(pilot, lambda: type(app.screen).__name__ == "JobRuns", what="the runs")
        text = screen_text(app)
        assert "Your three priorities: ␛]0;evil" in text and "\x1b" not in text and "\x07" not in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "JobsDialog", what="the list")
        await pilot.press("d")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "Confirm", what="the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: "No scheduled jobs yet" in screen_text(app), what="deleted")
        no_unexpected_errors(app)
    async with await RouterService.open(None) as service:
        assert await list_jobs(service) == []


async def test_the_jobs_list_follows_runs_made_elsewhere(server) -> None:
    from mesoclaw_tui.scheduler import Scheduler

    async with await RouterService.open(None) as service:
        await add_job(service, "news", "every 1h", prompt="say hi")
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: "never run" in screen_text(app), what="the job")
        async with await RouterService.open(None) as service:
            scheduler = Scheduler(service, role="cli")
            try:
                await scheduler.run_now("news")
            finally:
                await scheduler.aclose()
        await wait_for(pilot, lambda: "never run" not in screen_text(app), timeout=5, what="the refresh")
