"""The engine and the service with the fake provider: what is sent. The system prompt a conversation
keeps goes with every turn; a preset's settings too; an alternative is sent without the exchange it
replaces, and the history is the alternatives shown; a refused request replaces nothing; the budget
is checked before each request from recorded usage, cached until the database changes."""

from __future__ import annotations

import time

import pytest

from mesoclaw_tui.core.failures import FailureKind
from mesoclaw_tui.core.types import MesoclawError
from mesoclaw_tui.engine import Turn

from .fakes.provider_server import Stream


@pytest.fixture
def service_providers() -> tuple[str, ...]:
    return ("openai",)


def sent(provider_server) -> list[dict]:
    return [r.json for r in provider_server.requests_to(provider_server.chat_path("openai"))]


def system_of(request: dict) -> str | None:
    first = request["messages"][0]
    return first["content"] if first["role"] in ("system", "developer") else None


def texts(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] in ("user", "assistant")]


async def test_the_system_prompt_goes_with_every_turn_of_the_conversation(engine, service, provider_server) -> None:
    first = await engine.run(Turn("capital of Italy?", task="fast", system="Answer in French."))
    await engine.run(Turn("and of Spain?", conversation_id=first.conversation_id))
    await engine.run(Turn("and of Peru?", continue_last=True))
    assert [system_of(r) for r in sent(provider_server)] == ["Answer in French."] * 3
    conversation = await service.require_conversation(first.conversation_id)
    assert conversation.system_prompt == "Answer in French."


async def test_a_preset_is_kept_whole_and_a_later_system_prompt_replaces_only_the_prompt(
        engine, service, provider_server) -> None:
    preset, _ = await service.add_preset("terse", system="One sentence.", model="gpt-6.1-sol", max_tokens=300)
    first = await engine.run(Turn("why is the sky blue?", preset=preset))
    await engine.run(Turn("and the sea?", conversation_id=first.conversation_id, system="Two sentences."))
    one, two = sent(provider_server)
    assert (system_of(one), one["model"], one["max_completion_tokens"]) == ("One sentence.", "gpt-6.1-sol", 300)
    assert (system_of(two), two["model"], two["max_completion_tokens"]) == ("Two sentences.", "gpt-6.1-sol", 300)
    kept = (await service.require_conversation(first.conversation_id)).settings
    assert (kept.preset, kept.system, kept.model, kept.max_tokens) == ("terse", "Two sentences.", "gpt-6.1-sol", 300)


async def test_an_alternative_is_sent_without_the_exchange_it_replaces_and_history_is_what_is_shown(
        engine, service, provider_server) -> None:
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", "A1"), Stream("openai", "B1"),
                           Stream("openai", "B2"), Stream("openai", "C"))
    first = await engine.run(Turn("question A", task="fast"))
    cid = first.conversation_id
    await engine.run(Turn("question B", conversation_id=cid, task="fast"))
    exchange = await service.last_exchange(cid)
    assert exchange.prompt == "question B" and exchange.reply.content == "B1" and exchange.count == 1
    again = await engine.run(Turn(exchange.prompt, **exchange.again()))
    assert texts(sent(provider_server)[-1]) == ["question A", "A1", "question B"]
    assert again.text == "B2"
    after = await service.last_exchange(cid)
    assert (after.position, after.count, after.reply.content) == (2, 2, "B2")

    await service.step_alternative(cid, -1)
    await engine.run(Turn("question C", conversation_id=cid, task="fast"))
    assert texts(sent(provider_server)[-1]) == ["question A", "A1", "question B", "B1", "question C"]
    page = await service.transcript(cid, limit=10)
    assert [(e.content, e.alternative) for e in page.entries] == [
        ("question A", (0, 0)), ("A1", (0, 0)), ("question B", (1, 2)), ("B1", (1, 2)), ("question C", (0, 0)),
        ("C", (0, 0))]
    # only the last exchange can be replaced, or flipped
    with pytest.raises(MesoclawError, match="only the last reply"):
        await engine.run(Turn("question B", conversation_id=cid, alternative_of=exchange.prompt_id))
    with pytest.raises(MesoclawError, match="has no alternatives"):
        await service.step_alternative(cid, -1)


async def test_a_request_refused_before_it_is_sent_replaces_nothing(engine, service, provider_server,
                                                                    isolated_env) -> None:
    first = await engine.run(Turn("question A", task="fast"))
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text('[budget]\ndaily = 0\nover = "refuse"\n')
    exchange = await service.last_exchange(first.conversation_id)
    refused = await engine.run(Turn(exchange.prompt, **exchange.again()))
    assert refused.failure is FailureKind.BUDGET_EXCEEDED and len(sent(provider_server)) == 1
    after = await service.last_exchange(first.conversation_id)
    assert (after.prompt_id, after.count, after.reply.content) == (exchange.prompt_id, 1, provider_server.reply)


def count_spend_reads(service) -> list[tuple]:
    """The arguments of every spend query the service makes from now on (the query still runs)."""
    calls: list[tuple] = []
    original = service.store.spend_by_profile

    async def counting(*args):
        calls.append(args)
        return await original(*args)

    service.store.spend_by_profile = counting
    return calls


async def test_the_budget_check_reads_recorded_usage_and_is_cached_until_the_database_changes(
        engine, service, provider_server, isolated_env) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text("[budget]\ndaily = 1\n")
    from mesoclaw_tui.core.types import RoutingProfile

    calls = count_spend_reads(service)
    assert (await service.budget_check(RoutingProfile.BALANCED)).level.value == "ok"
    await service.budget_check(RoutingProfile.BALANCED)
    assert len(calls) == 1  # cached
    await service.store.record_reply({"created_at": time.time(), "source": "ask", "profile": "balanced",
                                      "provider": "openai", "model": "gpt-6.1-sol", "cost_usd": 0.9,
                                      "outcome": "ok"}, None)
    warned = await service.budget_check(RoutingProfile.BALANCED)
    assert len(calls) == 2 and warned.level.value == "warn"
    (isolated_env / "config.toml").write_text("[budget]\ndaily = 0.5\n")  # config.toml changed: read again
    over = await service.budget_check(RoutingProfile.BALANCED)
    assert over.downgraded and over.profile is RoutingProfile.ECO
    reply = await engine.run(Turn("hello", task="general"))
    assert reply.profile is RoutingProfile.ECO and sent(provider_server)[-1]["model"] == "gpt-6-luna"
    assert "routed with eco instead of balanced" in reply.budget.message()


async def test_without_a_budget_the_spend_is_never_read(service) -> None:
    """`router status` lists the budgets; with none set it reads no spend (a query on every status)."""
    calls = count_spend_reads(service)
    assert await service.budget_lines() == []
    assert (await service.budget_report())["limits"] == [] and calls == []
