"""The chat's daily tools, driving the real app against a real HTTP server on 127.0.0.1 (the fake
provider): the system prompt (f4) kept across turns, presets, regenerate (f5), escalate (f6), editing
the last message (up in an empty prompt), flipping alternatives (f7 / f8) and what is then sent as
history, and the budget: the badge and toast at 80%, the move to eco or the refusal at 100%."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoclaw_tui.core.registry import BUILTIN_MODELS
from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from mesoclaw_tui.tui.widgets.messages import AssistantMessage, StoredReply, UserMessage
from tests.fakes.provider_server import FakeProviderServer, Stream
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for

TIERS = {(m.provider, m.model_id): m.cost_tier.value for m in BUILTIN_MODELS}
RANK = {"low": 0, "medium": 1, "high": 2}


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    with fake_providers(monkeypatch, "openai") as server:
        yield server


def chat_requests(server: FakeProviderServer) -> list[dict]:
    return [r.json for r in server.requests_to(server.chat_path("openai"))]


def sent_text(request: dict) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in request["messages"]]


def system_of(request: dict) -> str | None:
    """The system prompt a request carries: Anthropic's `system`, or OpenAI's first message (today's
    models take it as the developer message)."""
    if "system" in request:
        return request["system"]
    first = request["messages"][0]
    return first["content"] if first["role"] in ("system", "developer") else None


def last_chat_request(server: FakeProviderServer) -> dict:
    return [r for r in server.requests if r.path.endswith(("/chat/completions", "/v1/messages"))][-1].json


async def reply_done(app: MesoclawApp, pilot) -> None:
    await wait_for(pilot, lambda: app.screen._reply_worker is not None, what="the reply to start")
    await wait_for(pilot, lambda: not app.screen.streaming, timeout=10, what="the reply to finish")
    await settle(app, pilot)


async def send(app: MesoclawApp, pilot, text: str) -> None:
    app.screen.query_one("#prompt").text = text
    await pilot.press("enter")
    await reply_done(app, pilot)


def shown_replies(app: MesoclawApp) -> list[str]:
    return [w.text for w in app.screen.transcript.messages if isinstance(w, StoredReply | AssistantMessage)]


def shown_prompts(app: MesoclawApp) -> list[str]:
    return [str(w.render()) for w in app.screen.transcript.messages if isinstance(w, UserMessage)]


async def stored(conversation_id: int | None = None) -> tuple[object, list]:
    async with await RouterService.open(None) as service:
        conversation_id = conversation_id or await service.last_conversation_id()
        return await service.conversation(conversation_id), await service.store.messages(conversation_id)


# the system prompt and presets ---------------------------------------------------------------------------


async def test_a_system_prompt_set_with_f4_is_sent_with_every_turn_and_kept(openai_server) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.screen.query("#editor"), what="the system prompt dialog")
        await pilot.press(*"Answer in French.", "enter")
        await settle(app, pilot)
        assert "system prompt (f4)" in screen_text(app)  # the route line says the new chat has one
        await send(app, pilot, "what is the capital of Italy?")
        await send(app, pilot, "and of Spain?")
        first, second = chat_requests(openai_server)[-2:]
        assert system_of(first) == "Answer in French."
        assert system_of(second) == "Answer in French."
        assert [m["role"] for m in second["messages"]][1:] == ["user", "assistant", "user"]
        no_unexpected_errors(app)
    conversation, _ = await stored()
    assert conversation.system_prompt == "Answer in French."

    # reopened, the conversation still sends it; f4 shows it and changes it for the turns after
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.screen.query("#editor"), what="the system prompt dialog")
        editor = app.screen.query_one("#editor")
        assert editor.text == "Answer in French."
        editor.text = "Answer in Italian."
        await pilot.press("enter")
        await settle(app, pilot)
        await send(app, pilot, "and of France?")
        assert system_of(chat_requests(openai_server)[-1]) == "Answer in Italian."
        no_unexpected_errors(app)


async def test_the_preset_picker_applies_a_preset_to_this_conversation_or_a_new_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_providers(monkeypatch, "openai", "anthropic") as server:
        await _preset_picker(server)


async def _preset_picker(openai_server: FakeProviderServer) -> None:
    async with await RouterService.open(None) as service:
        await service.add_preset("terse", system="One sentence at most.", model="claude-haiku-5.5", temperature=0.3,
                                 max_tokens=200)
        await service.add_preset("poet", system="Answer in verse.")
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await send(app, pilot, "hello there")
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.screen.query("#presets"), what="the preset list")
        app.screen.query_one("#presets").focus()
        await pilot.press("down", "down")  # past "None" and "poet" (sorted by name) to "terse"
        await pilot.press("enter")
        await settle(app, pilot)
        assert "preset terse (f4)" in screen_text(app)
        await send(app, pilot, "why is the sky blue?")
        request = openai_server.requests_to(openai_server.chat_path("anthropic"))[-1].json
        assert request["system"] == "One sentence at most." and request["model"].startswith("claude-haiku-5")
        assert request["temperature"] == 0.3 and request["max_tokens"] == 200
        first_id = app.screen.conversation_id

        # `n` on a preset: a new chat, whose first turn takes the preset
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.screen.query("#presets"), what="the preset list")
        app.screen.query_one("#presets").focus()
        await pilot.press("up", "n")  # the list opens on the conversation's preset (terse): up is poet
        await settle(app, pilot)
        assert app.screen.conversation_id is None and "preset poet (f4)" in screen_text(app)
        await send(app, pilot, "a line about rain")
        assert system_of(last_chat_request(openai_server)) == "Answer in verse."
        assert app.screen.conversation_id != first_id
        no_unexpected_errors(app)
    conversation, _ = await stored()
    assert conversation.preset == "poet" and conversation.system_prompt == "Answer in verse."


# regenerate, escalate, edit, alternatives -------------------------------------------------------------------


async def test_regenerate_keeps_the_earlier_reply_as_an_alternative_and_flipping_changes_the_history(
        openai_server) -> None:
    openai_server.script(openai_server.chat_path("openai"), Stream("openai", "First answer."),
                         Stream("openai", "Second answer."), Stream("openai", "Third answer."))
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await send(app, pilot, "name a colour")
        await pilot.press("f5")
        await reply_done(app, pilot)
        requests = chat_requests(openai_server)
        assert sent_text(requests[1]) == sent_text(requests[0]) == [("user", "name a colour")]
        assert shown_replies(app) == ["Second answer."] and shown_prompts(app) == ["name a colour"]
        assert "2/2" in screen_text(app)

        await pilot.press("f7")  # back to the first reply: it is what the next message follows
        await settle(app, pilot)
        assert shown_replies(app) == ["First answer."] and "1/2" in screen_text(app)
        await pilot.press("f7")  # already the first: said, nothing changes
        await settle(app, pilot)
        assert shown_replies(app) == ["First answer."]
        await send(app, pilot, "another one")
        assert sent_text(chat_requests(openai_server)[-1]) == [
            ("user", "name a colour"), ("assistant", "First answer."), ("user", "another one")]
        no_unexpected_errors(app)


async def test_escalate_reasks_a_model_of_a_higher_tier_and_is_recorded(openai_server) -> None:
    async with await RouterService.open(None) as service:
        await service.set_router_profile("eco")
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await send(app, pilot, "what is 2+2?")
        await pilot.press("f6")
        await reply_done(app, pilot)
        first, second = chat_requests(openai_server)[-2:]
        assert sent_text(second) == sent_text(first)  # the same question, without the replaced exchange
        assert RANK[TIERS[("openai", second["model"])]] > RANK[TIERS[("openai", first["model"])]]
        assert "2/2" in screen_text(app)
        no_unexpected_errors(app)
    async with await RouterService.open(None) as service:
        summary = await service.escalation_summary()
        rows = await service.store.escalation_rows()
    assert len(rows) == 1 and rows[0]["from_model"] == first["model"] and rows[0]["from_tier"] == "low"
    assert rows[0]["how"] == "next_tier" and rows[0]["from_profile"] == "eco"
    assert sum(task["escalated"] for task in summary.values()) == 1


async def test_up_in_an_empty_prompt_edits_the_last_message_and_resends_it(openai_server) -> None:
    openai_server.script(openai_server.chat_path("openai"), Stream("openai", "Paris."), Stream("openai", "Rome."))
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await send(app, pilot, "capital of France?")
        await pilot.press("up")
        await wait_for(pilot, lambda: app.screen.query("#editor"), what="the edit dialog")
        editor = app.screen.query_one("#editor")
        assert editor.text == "capital of France?"
        editor.text = "capital of Italy?"
        await pilot.press("enter")
        await reply_done(app, pilot)
        assert sent_text(chat_requests(openai_server)[-1]) == [("user", "capital of Italy?")]
        assert shown_prompts(app) == ["capital of Italy?"] and shown_replies(app) == ["Rome."]
        await pilot.press("f7")
        await settle(app, pilot)
        assert shown_prompts(app) == ["capital of France?"] and shown_replies(app) == ["Paris."]

        # with text in the prompt, up moves the cursor as always
        prompt = app.screen.query_one("#prompt")
        prompt.text = "line one\nline two"
        prompt.move_cursor((1, 3))
        await pilot.press("up")
        await settle(app, pilot)
        assert prompt.cursor_location[0] == 0 and not app.screen.query("#editor")
        no_unexpected_errors(app)
    _, messages = await stored()
    assert [m["content"] for m in messages] == ["capital of France?", "Paris."]  # what is shown is what is kept


# budgets --------------------------------------------------------------------------------------------------------


def write_budget(text: str) -> None:
    home = Path(os.environ["MESOCLAW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


async def spend_today(cost: float, profile: str = "balanced") -> None:
    async with await RouterService.open(None) as service:
        await service.store.record_reply({"created_at": time.time(), "source": "ask", "profile": profile,
                                          "provider": "openai", "model": "gpt-6.1-sol", "cost_usd": cost,
                                          "outcome": "ok"}, None)


async def test_at_80_percent_of_a_budget_the_header_and_a_toast_warn(openai_server) -> None:
    write_budget("[budget]\ndaily = 1.00\n")
    await spend_today(0.85)
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await wait_for(pilot, lambda: "⚠ $0.85/$1.00 today" in screen_text(app).splitlines()[0],
                       what="the budget badge")
        assert any(n.message == "$0.85 of $1.00 today (85%)" and n.title == "Budget" for n in app._notifications)
        no_unexpected_errors(app)


async def test_the_badge_follows_a_budget_changed_elsewhere_and_the_route_line_a_spent_one(openai_server) -> None:
    write_budget("[budget]\ndaily = 1.00\n")
    await spend_today(1.20)
    app = MesoclawApp(poll_interval=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.screen.query_one("#prompt").text = "write a python function that parses a csv file"
        # the budget is spent: the request will go with eco (gpt-6-luna for code, where balanced picks
        # gpt-6.1-sol), and the route line says so
        await wait_for(pilot, lambda: "route code → openai:gpt-6-luna" in screen_text(app),
                       what="eco's model on the route line")
        home = Path(os.environ["MESOCLAW_HOME"])
        (home / "config.new").write_text("[budget]\ndaily = 5.00\n")  # `mesoclaw budget set` in another shell
        os.replace(home / "config.new", home / "config.toml")
        await wait_for(pilot, lambda: "$1.20/$5.00 today" in screen_text(app).splitlines()[0],
                       what="the badge after the change")
        no_unexpected_errors(app)


async def test_at_100_percent_the_request_moves_down_to_eco_or_is_refused(openai_server) -> None:
    write_budget("[budget]\ndaily = 1.00\n")
    await spend_today(1.20)
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await send(app, pilot, "what is the capital of Peru?")
        request = chat_requests(openai_server)[-1]
        assert request["model"] == "gpt-6-luna"  # eco's choice, where balanced asks gpt-6.1-sol
        assert any("routed with eco instead of balanced" in n.message for n in app._notifications)
        assert "⚠ $1.20/$1.00 today" in screen_text(app).splitlines()[0]
        no_unexpected_errors(app)

    write_budget('[budget]\ndaily = 1.00\nover = "refuse"\n')
    before = len(chat_requests(openai_server))
    app = MesoclawApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await send(app, pilot, "and of Chile?")
        assert len(chat_requests(openai_server)) == before  # nothing was sent
        assert "No reply: budget: the daily budget of $1.00 is reached" in screen_text(app)
        no_unexpected_errors(app)
