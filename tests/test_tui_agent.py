"""The app's agent mode, driven through the real app with the pilot: the toggle (f10 and the palette),
tool calls as collapsible blocks under each step's reply, the approval dialog (approve, always,
deny, edit), esc stopping a run after its tool, and the steps shown again when the chat reopens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from mesoclaw_tui.tui.screens.approval import ApprovalDialog
from mesoclaw_tui.tui.widgets.messages import AssistantMessage
from mesoclaw_tui.tui.widgets.tool_blocks import StoredStep, ToolBlock
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.tool_streams import Call, ToolCallReply
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for

ESC = "\x1b"


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    with fake_providers(monkeypatch, "openai") as server:
        yield server


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    (root / "notes.txt").write_text("hello\n")
    monkeypatch.chdir(root)  # the app's agent works where mesoclaw was started
    return root


def script(server: FakeProviderServer, *replies: ToolCallReply) -> None:
    server.script(server.chat_path("openai"), *replies)


def told(server: FakeProviderServer, request: int) -> list[str]:
    body = server.requests_to(server.chat_path("openai"))[request].json
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def running(app: MesoclawApp) -> bool:
    return bool(app.screen.streaming) if not isinstance(app.screen, ApprovalDialog) else True


async def start(app: MesoclawApp, pilot, goal: str) -> None:
    await pilot.press("f10")
    await wait_for(pilot, lambda: " agent " in screen_text(app), what="agent mode on the route line")
    app.screen.query_one("#prompt").text = goal
    await pilot.press("enter")


async def finished(app: MesoclawApp, pilot) -> None:
    await wait_for(pilot, lambda: not running(app), timeout=15, what="the run to end")
    await settle(app, pilot)


async def dialog(app: MesoclawApp, pilot) -> ApprovalDialog:
    return await wait_for(pilot, lambda: app.screen if isinstance(app.screen, ApprovalDialog) else None,
                          timeout=10, what="the approval dialog")


async def test_agent_mode_runs_tools_and_shows_each_call_under_its_step(openai_server, work) -> None:
    script(openai_server,
           ToolCallReply("openai", [Call("read_file", {"path": "notes.txt"}), Call("list_dir", {"path": "."})],
                         text=f"Reading.{ESC}]0;pwned\a"),
           ToolCallReply("openai", text="notes.txt says hello."))
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await start(app, pilot, "what do my notes say")
        await finished(app, pilot)
        steps = list(app.screen.query(AssistantMessage))
        assert len(steps) == 2
        first_label = str(steps[0].query_one(".label").render())
        assert first_label.startswith("step 1 · openai:") and "step 2 · openai:" in str(
            steps[1].query_one(".label").render())
        blocks = list(steps[0].query(ToolBlock))
        assert [b.collapsed for b in blocks] == [True, True]
        assert str(blocks[0].title).startswith("read_file notes.txt · ran")
        shown = screen_text(app)
        assert "read_file notes.txt · ran" in shown and "list_dir . · ran" in shown
        assert ESC not in shown and "␛]0;pwned" in shown
        blocks[0].query_one("CollapsibleTitle").focus()
        await pilot.press("enter")  # opened from the keyboard
        await pilot.pause()
        assert not blocks[0].collapsed and "1\thello" in str(blocks[0].query_one(".body").render())
        # f10 again: back to plain chat in this conversation
        await pilot.press("f10")
        assert " agent " not in screen_text(app).splitlines()[-3]
        no_unexpected_errors(app)
    assert "1\thello" in told(openai_server, 1)[0]


async def test_the_palette_toggles_agent_mode(openai_server, work) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        commands = [c.title for c in app.screen.commands()]
        assert "Agent mode: on/off" in commands
        next(c for c in app.screen.commands() if c.title == "Agent mode: on/off").callback()
        await pilot.pause()
        assert app.screen._agent.is_on(None)


async def test_approve_in_the_dialog_runs_the_command(openai_server, work) -> None:
    script(openai_server, ToolCallReply("openai", [Call("run_command", {"command": f"touch ok{ESC}[2J"})]),
           ToolCallReply("openai", text="done"))
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await start(app, pilot, "make the file")
        shown = await dialog(app, pilot)
        assert "run_command needs your approval" in screen_text(app)
        assert "$ touch ok␛[2J" in screen_text(app) and ESC not in screen_text(app)
        assert shown.request.tool.display_name == "run_command"
        await pilot.press("a")
        await finished(app, pilot)
        no_unexpected_errors(app)
    assert (work / f"ok{ESC}[2J").exists()


async def test_always_approves_the_same_command_for_the_rest_of_the_run(openai_server, work) -> None:
    same = Call("run_command", {"argv": ["touch", "again"]})
    script(openai_server, ToolCallReply("openai", [same]), ToolCallReply("openai", [same]),
           ToolCallReply("openai", text="done"))
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await start(app, pilot, "touch it twice")
        await dialog(app, pilot)
        await pilot.press("l")
        await finished(app, pilot)
        blocks = list(app.screen.query(ToolBlock))
        assert [str(b.title) for b in blocks] == ["$ touch again · ran: exit code 0"] * 2
        no_unexpected_errors(app)
    assert len(openai_server.requests_to(openai_server.chat_path("openai"))) == 3


async def test_deny_in_the_dialog_runs_nothing_and_tells_the_model_why(openai_server, work) -> None:
    script(openai_server, ToolCallReply("openai", [Call("write_file", {"path": "notes.txt", "content": "gone\n"})]),
           ToolCallReply("openai", text="ok"))
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await start(app, pilot, "clear my notes")
        await dialog(app, pilot)
        assert "-hello" in screen_text(app) and "+gone" in screen_text(app)  # the diff
        await pilot.press("d")
        await pilot.press(*"keep them", "enter")
        await finished(app, pilot)
        assert "write_file notes.txt · denied by you" in screen_text(app)
        no_unexpected_errors(app)
    assert (work / "notes.txt").read_text() == "hello\n"
    assert "They said: keep them" in told(openai_server, 1)[0]


async def test_esc_in_the_dialog_denies(openai_server, work) -> None:
    script(openai_server, ToolCallReply("openai", [Call("run_command", {"argv": ["touch", "no"]})]),
           ToolCallReply("openai", text="ok"))
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await start(app, pilot, "touch no")
        await dialog(app, pilot)
        await pilot.press("escape")
        await finished(app, pilot)
    assert not (work / "no").exists() and "the user denied" in told(openai_server, 1)[0]


async def test_edit_in_the_dialog_runs_the_edited_call(openai_server, work) -> None:
    script(openai_server,
           ToolCallReply("openai", [Call("run_command", {"argv": ["touch", "original"]})]),
           ToolCallReply("openai", [Call("write_file", {"path": "out.txt", "content": "model text\n"})]),
           ToolCallReply("openai", text="ok"))
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await start(app, pilot, "make files")
        await dialog(app, pilot)
        await pilot.press("e")
        app.screen.query_one("#command").value = "touch edited"
        await pilot.press("enter")
        await dialog(app, pilot)
        await pilot.press("e")
        app.screen.query_one("#editor").text = "my text\n"
        await pilot.press("ctrl+s")
        await finished(app, pilot)
        assert "$ touch original · ran (edited): exit code 0" in screen_text(app)
        no_unexpected_errors(app)
    assert (work / "edited").exists() and not (work / "original").exists()
    assert (work / "out.txt").read_text() == "my text\n"
    assert told(openai_server, 1)[0].startswith('(The user edited the arguments before it ran: {"command": "touch edited"')


async def test_esc_stops_the_run_after_the_running_tool_and_the_chat_reopens_with_the_steps(openai_server,
                                                                                           work) -> None:
    script(openai_server,
           ToolCallReply("openai", [Call("run_command", {"argv": ["sleep", "0.5"]}),
                                    Call("run_command", {"argv": ["touch", "later"]})]),
           ToolCallReply("openai", text="never asked"))
    (work.parent / "home").mkdir(exist_ok=True)
    Path(str(work.parent / "home" / "config.toml")).write_text('[agent]\nallow_commands = ["sleep", "touch"]\n')
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await start(app, pilot, "sleep then touch")
        await wait_for(pilot, lambda: "running…" in screen_text(app), what="the first command to start")
        await pilot.press("escape")
        await finished(app, pilot)
        shown = screen_text(app)
        assert "$ sleep 0.5 · ran: exit code 0" in shown and "Not run: the user stopped the run" in shown
        assert "Stopped by you (esc)" in shown
        no_unexpected_errors(app)
    assert not (work / "later").exists()
    assert len(openai_server.requests_to(openai_server.chat_path("openai"))) == 1
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        (step,) = list(app.screen.query(StoredStep))
        assert [str(b.title) for b in step.query(ToolBlock)] == [
            "$ sleep 0.5 · ran: exit code 0", "$ touch later · Not run: the user stopped the run."]
        assert "step 1 · openai:" in screen_text(app) and "CANCELLED" in screen_text(app)
    async with await RouterService.open(None) as service:
        (conversation,) = await service.list_conversations()
        stored = await service.messages(conversation.id)
    assert [m.role for m in stored] == ["user", "assistant"] and stored[1].status == "cancelled"
    assert json.loads(json.dumps([c.status for c in stored[1].tool_calls])) == ["ran", "skipped"]


@pytest.mark.parametrize(("keys", "key"), [("", "f10"), ('[keys]\ntoggle_agent = "f12"\n', "f12")])
async def test_the_agent_toast_names_the_key_that_turns_it_off(openai_server, work, isolated_env, keys, key) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(keys)
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press(key)
        said = await wait_for(pilot, lambda: "\n".join(str(n.message) for n in app._notifications),
                              what="the toast")
        assert f"{key} turns it off" in said and "f4" not in said
