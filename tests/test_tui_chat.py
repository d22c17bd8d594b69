"""The chat, streaming from a real HTTP server on 127.0.0.1 (the fake provider), through the real
engine and service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from mesoclaw_tui.tui.widgets.messages import AssistantMessage, UserMessage
from tests.fakes.provider_server import FakeProviderServer, Respond, Stream
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for

MARKDOWN = "# Title\n\nSome **bold** text.\n\n- one\n- two\n\n```python\nprint('hi')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"

@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    with fake_providers(monkeypatch, "openai") as server:
        yield server


def replies(app: MesoclawApp) -> list[AssistantMessage]:
    return list(app.screen.query(AssistantMessage))


async def send(app: MesoclawApp, pilot, text: str) -> AssistantMessage:
    prompt = app.screen.query_one("#prompt")
    prompt.text = text
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen._reply_worker is not None, what="the reply to start")
    await wait_for(pilot, lambda: not app.screen.streaming, timeout=10, what="the reply to finish")
    await pilot.pause()
    return replies(app)[-1]


async def stored_messages() -> list[dict]:
    async with await RouterService.open(None) as service:
        conversation_id = await service.store.last_conversation_id()
        return await service.store.messages(conversation_id) if conversation_id else []


async def test_enter_sends_and_the_reply_streams_as_markdown_with_its_label(
        openai_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from mesoclaw_tui.tui.widgets import reply_markdown

    drawn: list[list[str]] = []  # the blocks of each draw of the reply's growing end
    original = reply_markdown.ReplyMarkdown.__init__

    def counting(self, blocks, cache=None):
        drawn.append(list(blocks))
        original(self, blocks, cache)

    monkeypatch.setattr(reply_markdown.ReplyMarkdown, "__init__", counting)
    stream = Stream("openai", MARKDOWN, usage=(12, 34))
    openai_server.default("*/chat/completions", stream)
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        reply = await send(app, pilot, "write a python function that adds two numbers")
        assert reply.status == "complete"
        assert reply.text == stream.expected_text
        label = str(reply.query_one(".label").render())
        assert label.startswith("openai:gpt-6.1-sol") and " · code · " in label
        assert "12 in / 34 out" in label and "$" in label and "~" not in label
        assert len(drawn) >= 2 and drawn[-1][-1].source.startswith("| a | b |")  # drawn as it grew, as Markdown
        text = screen_text(app)
        assert "Title" in text and "# Title" not in text and "print('hi')" in text and "```" not in text
        assert app.screen.query_one("#prompt").text == ""
        request = openai_server.requests_to(openai_server.chat_path("openai"))[-1].json
        assert request["messages"][-1]["content"] == "write a python function that adds two numbers"
        assert "write a python function" in screen_text(app).splitlines()[0]  # the conversation's title
        no_unexpected_errors(app)
    rows = await stored_messages()
    assert [r["role"] for r in rows] == ["user", "assistant"] and rows[1]["status"] == "complete"


async def test_shift_enter_and_ctrl_j_insert_a_newline_instead_of_sending(openai_server) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("a", "shift+enter", "b", "ctrl+j", "c")
        assert app.screen.query_one("#prompt").text == "a\nb\nc"
        assert not replies(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: replies(app) and not app.screen.streaming, what="the reply")
        assert app.screen.query(UserMessage).last().render().plain == "a\nb\nc"


async def test_typing_previews_the_task_and_the_model_that_would_answer(openai_server) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"debug this python function")
        await wait_for(pilot, lambda: "code → openai:" in screen_text(app), what="the preview")
        for _ in range(len("debug this python function")):
            await pilot.press("backspace")
        await pilot.press(*"write a short story about a cat")
        await wait_for(pilot, lambda: "creative → openai:" in screen_text(app), what="creative")
        await pilot.press("ctrl+r")  # balanced -> premium changes the model that would answer
        await settle(app, pilot)
        await wait_for(pilot, lambda: "creative → openai:gpt-6.1-sol" in screen_text(app), what="premium")


async def test_escape_cancels_a_reply_and_keeps_the_partial_text(openai_server) -> None:
    openai_server.default("*/chat/completions", Stream("openai", "one two three four five six", stall_after=3))
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"tell me something", "enter")
        await wait_for(pilot, lambda: replies(app) and replies(app)[-1].text.startswith("one two three"),
                       what="the first deltas")
        assert "esc Cancel reply" in screen_text(app).splitlines()[-1]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.screen.streaming, what="the cancel")
        await settle(app, pilot)
        reply = replies(app)[-1]
        assert reply.status == "cancelled" and reply.has_class("-cancelled")
        assert reply.text == "one two three"
        assert "CANCELLED" in str(reply.query_one(".label").render())
        assert "esc Cancel reply" not in screen_text(app).splitlines()[-1]
        no_unexpected_errors(app)
    rows = await stored_messages()
    assert rows[-1]["status"] == "cancelled" and rows[-1]["content"] == "one two three"


async def test_estimated_tokens_are_marked_and_an_unknown_price_says_so(openai_server) -> None:
    openai_server.default("*/chat/completions", Stream("openai", "short answer", usage=None))
    async with await RouterService.open(None) as service:
        await service.add_user_model("openai", "mystery-1", "medium")  # no price: cost unknown
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        reply = await send(app, pilot, "hello there, how are you today?")
        label = str(reply.query_one(".label").render())
        assert "~" in label and " in / ~" in label and "~$" in label  # estimated tokens and cost
        await app.screen.apply_model_choice("openai:mystery-1", "next")
        reply = await send(app, pilot, "and again")
        label = str(reply.query_one(".label").render())
        assert label.startswith("openai:mystery-1") and "cost unknown" in label


async def open_model_picker(app: MesoclawApp, pilot) -> None:
    await pilot.press("ctrl+k")
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ModelPicker", what="the picker")


async def test_the_model_picker_overrides_the_next_message(openai_server) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_model_picker(app, pilot)
        await pilot.press(*"gpt-6.1-terra")
        await pilot.pause()
        assert "gpt-6.1-terra" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChatScreen", what="the chat")
        assert app.screen.next_model == "gpt-6.1-terra"
        assert "gpt-6.1-terra for the next message" in screen_text(app)
        await send(app, pilot, "hello")
        await send(app, pilot, "hello again")
        models = [r.json["model"] for r in openai_server.requests_to(openai_server.chat_path("openai"))]
        assert models[0] == "gpt-6.1-terra" and models[1] != "gpt-6.1-terra"


async def test_the_model_picker_says_when_a_model_retires(openai_server) -> None:
    """gpt-4o is deprecated with a retirement day announced (the registry's data): whoever picks it sees
    the day; a model with none announced says nothing."""
    from mesoclaw_tui.core.registry import BUILTIN_MODELS

    gpt_4o = next(m for m in BUILTIN_MODELS if (m.provider, m.model_id) == ("openai", "gpt-4o"))
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_model_picker(app, pilot)
        await pilot.press(*"gpt-4o")
        await pilot.pause()
        lines = screen_text(app).splitlines()
        row = next(i for i, line in enumerate(lines) if "✓ gpt-4o " in line)
        assert f"retires {gpt_4o.retires} → {gpt_4o.successor}" in lines[row + 1]  # under it: at 80 columns it has a line
        await pilot.press(*["backspace"] * 6, *"gpt-6.1-terra")
        await pilot.pause()
        lines = screen_text(app).splitlines()
        row = next(i for i, line in enumerate(lines) if "✓ gpt-6.1-terra" in line)
        assert "retires" not in lines[row] + lines[row + 1]
        no_unexpected_errors(app)


async def test_the_model_picker_pins_a_model_for_the_whole_conversation(openai_server) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await send(app, pilot, "hello")
        await open_model_picker(app, pilot)
        await pilot.press("ctrl+k", *"gpt-6-astra", "enter")  # ctrl+k in the picker: the whole conversation
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChatScreen", what="the chat")
        assert app.screen.pinned == "gpt-6-astra"
        await send(app, pilot, "one")
        await send(app, pilot, "two")
        models = [r.json["model"] for r in openai_server.requests_to(openai_server.chat_path("openai"))]
        assert models[-2:] == ["gpt-6-astra", "gpt-6-astra"]
        conversation_id = app.screen.conversation_id
    async with await RouterService.open(None) as service:
        assert (await service.store.conversation(conversation_id))["model_override"] == "gpt-6-astra"


async def test_conversations_new_switch_rename_and_delete(openai_server) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await send(app, pilot, "first conversation")
        first = app.screen.conversation_id
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        assert app.screen.conversation_id is None and not replies(app)
        await send(app, pilot, "second conversation")
        second = app.screen.conversation_id
        assert second != first

        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConversationPicker", what="the list")
        assert "first conversation" in screen_text(app) and "second conversation" in screen_text(app)
        await pilot.press("down", "enter")  # newest first: the second is highlighted, down is the first
        await settle(app, pilot)
        assert app.screen.conversation_id == first
        assert app.screen.query(UserMessage).first().render().plain == "first conversation"

        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConversationPicker", what="the list")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TextPrompt", what="the rename")
        app.screen.query_one("Input").value = ""
        await pilot.press("enter")  # an empty title is refused inline
        await pilot.pause()
        assert "cannot be empty" in screen_text(app)
        await pilot.press(*"Renamed", "enter")
        await settle(app, pilot)
        assert "Renamed" in screen_text(app).splitlines()[0]

        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConversationPicker", what="the list")
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "Confirm", what="the confirmation")
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen.conversation_id is None
        no_unexpected_errors(app)
    async with await RouterService.open(None) as service:
        conversations = await service.store.list_conversations()
    assert [c["id"] for c in conversations] == [second]


async def test_ctrl_g_copies_the_last_reply_with_osc52(openai_server, monkeypatch) -> None:
    openai_server.default("*/chat/completions", Stream("openai", "copy **me**"))
    app = MesoclawApp()
    copied: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        assert copied == []
        await send(app, pilot, "hi")
        await pilot.press("ctrl+g")
        assert copied == ["copy **me**"]


async def test_without_a_provider_the_chat_says_which_variables_to_set() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "OPENAI_API_KEY" in text and "ANTHROPIC_API_KEY" in text
        reply = await send(app, pilot, "hello")
        assert reply.status == "failed"
        assert "no provider is configured" in str(reply.query_one(".error").render())
        no_unexpected_errors(app)


async def test_when_every_candidate_fails_each_attempt_is_listed(monkeypatch) -> None:
    with fake_providers(monkeypatch, "openai", "anthropic") as server:
        server.default(server.chat_path("anthropic"), Respond(401, {"error": {"message": "bad key"}}))
        server.default(server.chat_path("openai"), Respond(500, {"error": {"message": "boom"}}))
        app = MesoclawApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            reply = await send(app, pilot, "write a python function")
            assert reply.status == "failed" and reply.has_class("-failed")
            error = str(reply.query_one(".error").render())
            assert "every candidate failed" in error
            assert "1. anthropic:claude-sonnet-5-5 auth" in error
            assert "2. openai:gpt-6.1-sol server" in error
            no_unexpected_errors(app)


async def test_a_fallback_is_named_in_the_label(monkeypatch) -> None:
    with fake_providers(monkeypatch, "openai", "anthropic") as server:
        server.default(server.chat_path("anthropic"), Respond(529, {"error": {"message": "overloaded"}}))
        app = MesoclawApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            reply = await send(app, pilot, "write a python function")
            label = str(reply.query_one(".label").render())
            assert reply.status == "complete"
            assert label.startswith("openai:gpt-6.1-sol · code · fell back from anthropic:claude-sonnet-5-5")


async def test_a_long_conversation_opens_at_its_end_and_loads_older_messages_on_the_way_up(openai_server) -> None:
    from mesoclaw_tui.tui.widgets.transcript import MAX_MOUNTED, PAGE

    async with await RouterService.open(None) as service:
        conversation_id = await service.store.create_conversation("long")
        for i in range(400):
            await service.store.add_message(conversation_id, "user" if i % 2 == 0 else "assistant", f"message {i}")
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        transcript = app.screen.transcript
        assert len(transcript.messages) == PAGE
        assert "message 399" in screen_text(app)
        assert transcript.scroll_y == transcript.max_scroll_y  # at the end
        transcript.focus()
        for _ in range(12):
            await pilot.press("home")
            await settle(app, pilot)
        assert PAGE < len(transcript.messages) <= MAX_MOUNTED
        first = transcript.messages[0].render().plain
        assert first != "message 370"  # older pages were mounted above
        no_unexpected_errors(app)


async def test_quitting_while_a_reply_streams_saves_it_as_cancelled(openai_server) -> None:
    openai_server.default("*/chat/completions", Stream("openai", "alpha beta gamma delta", stall_after=2))
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"hello", "enter")
        await wait_for(pilot, lambda: replies(app) and replies(app)[-1].text == "alpha beta", what="deltas")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    no_unexpected_errors(app)
    rows = await stored_messages()
    assert rows[-1]["status"] == "cancelled" and rows[-1]["content"] == "alpha beta"


async def test_messages_sent_in_the_app_carry_their_stored_ids(openai_server) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await send(app, pilot, "first")
        await send(app, pilot, "second")
        shown = [w.message_id for w in app.screen.transcript.messages]
    rows = await stored_messages()
    assert shown == [r["id"] for r in rows]  # so paging up after pruning loads from the right place
