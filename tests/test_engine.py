"""The engine against real local HTTP servers: fallback rules, cooldowns, partial replies, usage and cost."""

from __future__ import annotations

import email.utils
import json
import time

import httpx
import pytest

from mesoclaw_tui.core.failures import FailureKind
from mesoclaw_tui.engine import Engine, FellBack, Retrying, Turn
from mesoclaw_tui.service import RouterService

from .fakes.provider_server import Drop, Hang, Respond, Stream

OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


@pytest.fixture
def service_providers() -> tuple[str, ...]:
    return ("openai", "anthropic", "google")


@pytest.fixture
def engine_read_timeout() -> float:
    return 1.0


def code_turn(prompt="fix this python function: def f(: pass", **kw):
    return Turn(prompt, task="code", **kw)


async def test_success_streams_and_records_usage_and_cost(engine, service, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"),
                           Stream("anthropic", ["Use ", "`def f():`"], usage=(100, 20)))
    deltas = []
    reply = await engine.run(code_turn(), on_event=lambda e: deltas.append(getattr(e, "text", None)))
    assert reply.status == "complete" and reply.text == "Use `def f():`"
    assert [d for d in deltas if d] == ["Use ", "`def f():`"]
    assert (reply.provider, reply.model) == ("anthropic", "claude-sonnet-5-5")
    assert (reply.input_tokens, reply.output_tokens, reply.estimated) == (100, 20, False)
    assert reply.cost_usd == pytest.approx((100 * 2 + 20 * 10) / 1e6)
    row = (await service.store.usage_rows())[-1]
    assert row["source"] == "ask" and row["outcome"] == "ok" and row["cost_usd"] == pytest.approx(reply.cost_usd)
    assert row["baseline_cost_usd"] == pytest.approx((100 * 4 + 20 * 20) / 1e6)  # claude-opus-5.5
    msgs = await service.store.messages(reply.conversation_id)
    assert [m["role"] for m in msgs] == ["user", "assistant"]
    assert msgs[1]["provider"] == "anthropic" and msgs[1]["task"] == "code" and msgs[1]["status"] == "complete"


async def test_529_falls_back_and_cools_down_across_restarts(engine, service, provider_server):
    anth = provider_server.chat_path("anthropic")
    provider_server.script(anth, Respond(529, OVERLOADED))
    reply = await engine.run(code_turn())
    assert reply.status == "complete" and reply.provider == "openai"
    assert [(a.provider, a.outcome) for a in reply.attempts] == [("anthropic", "overloaded"), ("openai", "ok")]
    # a fresh service (a restart) still skips the cooling provider
    fresh = await RouterService.open()
    try:
        reply2 = await Engine(fresh, engine.client).run(code_turn())
    finally:
        await fresh.close()
    assert reply2.provider == "openai" and len(provider_server.requests_to(anth)) == 1
    cooling = [e for e in reply2.decision.trace if e.provider == "anthropic"][0]
    assert cooling.outcome.value == "cooling down"


async def test_401_marks_provider_unusable_and_moves_on(engine, service, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"),
                           Respond(401, {"type": "error", "error": {"type": "authentication_error",
                                                                    "message": "invalid x-api-key"}}))
    reply = await engine.run(code_turn())
    assert reply.attempts[0].outcome == "auth" and reply.provider == "openai"
    assert "anthropic" in (await service.live_availability()).unavailable_providers


async def test_429_short_retry_after_waits_and_retries_once(engine, sleeps, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"),
                           Respond(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
                                   headers={"Retry-After": "2"}))
    reply = await engine.run(code_turn())
    assert sleeps == [2.0]
    assert reply.provider == "anthropic" and reply.status == "complete"
    assert [a.outcome for a in reply.attempts] == ["rate_limit", "ok"]


async def test_429_long_retry_after_as_http_date_cools_down(engine, service, sleeps, provider_server):
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    provider_server.script(provider_server.chat_path("anthropic"),
                           Respond(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
                                   headers={"Retry-After": later}))
    reply = await engine.run(code_turn())
    assert sleeps == [] and reply.provider == "openai"
    report = {p["provider"]: p for p in await service.provider_report()}
    assert 100 < report["anthropic"]["cooldown_s"] <= 121


async def test_500_timeout_refused_and_dropped_all_move_on(engine, service, provider_server, closed_port,
                                                           monkeypatch):
    provider_server.script(provider_server.chat_path("anthropic"), Respond(500, {"error": {"message": "boom"}}))
    provider_server.script(provider_server.chat_path("openai"), Hang())
    service.settings.providers["google"] = service.settings.providers["google"].__class__(
        **{**service.settings.providers["google"].__dict__, "base_url": f"http://127.0.0.1:{closed_port}/v1"})
    reply = await engine.run(code_turn())
    outcomes = [(a.provider, a.outcome) for a in reply.attempts]
    assert outcomes == [("anthropic", "server"), ("openai", "timeout"), ("google", "connect")]
    assert reply.status == "failed" and "every candidate failed" in reply.error
    assert reply.failure is FailureKind.ALL_FAILED


async def test_mid_stream_error_keeps_partial_text_marked_incomplete(engine, service, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"),
                           Stream("anthropic", ["one ", "two ", "three"], error_after=2))
    reply = await engine.run(code_turn())
    assert reply.status == "incomplete" and reply.text == "one two "
    assert reply.failure is FailureKind.INCOMPLETE
    assert len(reply.attempts) == 1  # no fallback after the first token
    msg = (await service.store.messages(reply.conversation_id))[-1]
    assert msg["status"] == "incomplete" and msg["content"] == "one two " and msg["error"]


async def test_truncated_stream_is_an_error_not_a_reply(engine, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"),
                           Stream("anthropic", ["a", "b", "c", "d"], truncate_after=2))
    reply = await engine.run(code_turn())
    assert reply.status == "incomplete" and reply.text == "ab"


async def test_404_model_marks_it_unavailable(engine, service, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"),
                           Respond(404, {"type": "error", "error": {"type": "not_found_error",
                                                                    "message": "model: claude-sonnet-5-5"}}))
    reply = await engine.run(code_turn())
    assert reply.attempts[0].outcome == "model_not_found" and reply.provider == "openai"
    assert ("anthropic", "claude-sonnet-5-5") in (await service.live_availability()).unavailable_models


async def test_context_length_moves_to_a_larger_window(engine, service, provider_server):
    # Today's models hold a million tokens; a small-window model the user pinned first shows the rule.
    await service.add_user_model("openai", "ft:small-window:acme", "medium", context_window=8_000)
    await service.add_user_model("openai", "ft:also-small:acme", "medium", context_window=8_000)
    await service.set_custom_route("general", ["openai:ft:small-window:acme", "openai:ft:also-small:acme"])
    provider_server.script(provider_server.chat_path("openai"), Respond(400, {"error": {
        "message": "This model's maximum context length is 8000 tokens.", "type": "invalid_request_error",
        "param": "messages", "code": "context_length_exceeded"}}))
    reply = await engine.run(Turn("summarize the trade-offs of remote work", task="general"))
    # 8K fails on length -> the other 8K model is skipped -> the chain's larger window answers
    assert [(a.model, a.outcome) for a in reply.attempts] == [("ft:small-window:acme", "context_length"),
                                                              ("gpt-6.1-sol", "ok")]
    assert reply.status == "complete"


async def test_other_400_stops_with_the_providers_message(engine, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"), Respond(400, {"type": "error", "error": {
        "type": "invalid_request_error", "message": "temperature: must be <= 1"}}))
    reply = await engine.run(code_turn())
    assert reply.status == "failed" and "temperature: must be <= 1" in reply.error
    assert reply.failure is FailureKind.BAD_REQUEST
    assert len(reply.attempts) == 1


async def test_model_flag_skips_routing(engine, provider_server):
    reply = await engine.run(Turn("hello there", model="gpt-4o-mini"))
    assert reply.model == "gpt-4o-mini" and [c.model for c in reply.decision.candidates] == ["gpt-4o-mini"]


async def test_continue_sends_history_and_system(engine, service, provider_server):
    first = await engine.run(code_turn("write a sort function", system="be terse"))
    second = await engine.run(code_turn("now in rust", continue_last=True, system="be terse"))
    assert second.conversation_id == first.conversation_id
    body = provider_server.last_request.json
    assert body["system"] == "be terse"
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


async def test_missing_usage_is_estimated_and_marked(engine, service, provider_server):
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", ["abcd" * 10], usage_style="none"))
    reply = await engine.run(Turn("hello", model="gpt-4o"))
    assert reply.estimated and reply.output_tokens == 10
    assert (await service.store.usage_rows())[-1]["estimated"] == 1


async def test_unknown_price_is_unknown_not_zero(engine, service, provider_server):
    await service.add_user_model("openai", "ft:gpt-4o:acme", "medium")
    reply = await engine.run(Turn("hello", model="openai:ft:gpt-4o:acme"))
    assert reply.status == "complete" and reply.cost_usd is None
    report = await service.usage_report()
    assert report["total"]["unknown_cost"] == 1


async def test_no_provider_configured(monkeypatch):
    svc = await RouterService.open()
    try:
        reply = await Engine(svc, httpx.AsyncClient()).run(Turn("hi", task="fast"))
    finally:
        await svc.close()
    assert reply.status == "failed" and "OPENAI_API_KEY" in reply.error and "ANTHROPIC_API_KEY" in reply.error
    assert reply.failure is FailureKind.NO_PROVIDER


async def test_cancel_keeps_the_partial_reply(engine, service, provider_server):
    import asyncio

    provider_server.script(provider_server.chat_path("anthropic"), Stream("anthropic", ["part ", "more"],
                                                                          stall_after=1))
    seen = asyncio.Event()

    async def consume():
        async for event in engine.stream(code_turn()):
            if getattr(event, "text", None):
                seen.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(seen.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rows = await service.store.usage_rows()
    assert rows[-1]["outcome"] == "cancelled"
    conv = rows[-1]["conversation_id"]
    msg = (await service.store.messages(conv))[-1]
    assert msg["status"] == "cancelled" and msg["content"] == "part "
    assert engine.interrupted_reply.failure is FailureKind.CANCELLED
    assert [a.outcome for a in engine.interrupted_reply.attempts] == ["cancelled"]


async def test_dropped_connection_before_answer_moves_on(engine, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"), Drop())
    reply = await engine.run(code_turn())
    assert reply.attempts[0].provider == "anthropic" and reply.attempts[0].outcome in ("connect", "server",
                                                                                       "truncated")
    assert reply.status == "complete"


async def test_attempts_are_bounded(service, provider_server, monkeypatch):
    provider_server.default("*", Respond(503, {"error": {"message": "down"}}))
    client = httpx.AsyncClient()
    reply = await Engine(service, client, max_attempts=2).run(code_turn())
    await client.aclose()
    assert len(reply.attempts) == 2 and reply.status == "failed"
    assert json.dumps(reply.as_dict())  # serialisable for --json


async def test_continue_skips_failed_turns_and_conversations(engine, service, provider_server):
    first = await engine.run(code_turn("remember the number 42"))
    provider_server.default("*", Respond(500, {"error": {"message": "down"}}))
    failed = await engine.run(code_turn("tell me a joke"))
    assert failed.status == "failed"
    provider_server.reset()
    await service.store.record_provider_success("anthropic")
    await service.store.record_provider_success("openai")
    service.invalidate()
    third = await engine.run(code_turn("what number did I tell you?", continue_last=True))
    assert third.conversation_id == first.conversation_id
    users = [m["content"] for m in provider_server.last_request.json["messages"] if m["role"] == "user"]
    assert users == ["remember the number 42", "what number did I tell you?"]
    # the failed prompt is still stored, marked by its failed reply
    failed_rows = await service.store.messages(failed.conversation_id)
    assert [r["role"] for r in failed_rows] == ["user", "assistant"] and failed_rows[1]["status"] == "failed"


async def test_a_429_retry_is_its_own_numbered_attempt_and_not_a_fallback(engine, sleeps, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"),
                           Respond(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
                                   headers={"Retry-After": "1"}))
    events = []
    reply = await engine.run(Turn("fix this python function", model="claude-sonnet-4.5"), events.append)
    assert sleeps == [1.0] and reply.status == "complete" and reply.failure is None
    assert [(a.number, a.outcome, a.retried) for a in reply.attempts] == [(1, "rate_limit", True), (2, "ok", False)]
    assert reply.attempts[0].error == "slow (retrying after 1s)"
    assert reply.fallbacks == []
    assert [(type(e), e.attempt.number) for e in events if isinstance(e, Retrying | FellBack)] == [(Retrying, 1)]


async def test_a_pinned_model_on_a_cooling_provider_is_tried_when_nothing_else_is_left(engine, service,
                                                                                       provider_server):
    openai = provider_server.chat_path("openai")
    provider_server.script(openai, Respond(500, {"error": {"message": "boom"}}))
    first = await engine.run(Turn("hello there", model="openai:gpt-4o"))
    assert first.failure is FailureKind.ALL_FAILED
    assert "openai" in (await service.live_availability()).cooling
    second = await engine.run(Turn("hello again", model="openai:gpt-4o"))
    assert second.status == "complete" and second.provider == "openai"
    assert len(provider_server.requests_to(openai)) == 2
    # a conversation's pinned model takes the same way in
    provider_server.script(openai, Respond(500, {"error": {"message": "boom"}}))
    await engine.run(Turn("hello there", model="openai:gpt-4o"))
    assert "openai" in (await service.live_availability()).cooling
    conversation_id = await service.store.create_conversation("pinned")
    await service.store.update_conversation(conversation_id, model_override="openai:gpt-4o")
    pinned = await engine.run(Turn("and in a pinned chat", conversation_id=conversation_id))
    assert (pinned.status, pinned.provider, pinned.model) == ("complete", "openai", "gpt-4o")


async def test_a_named_model_served_elsewhere_leaves_the_cooling_provider_alone(monkeypatch, provider_server):
    for key, value in provider_server.env("openai", "openrouter", api_key="sk-test-key-0001").items():
        monkeypatch.setenv(key, value)
    openai = provider_server.chat_path("openai")
    provider_server.script(openai, Respond(500, {"error": {"message": "boom"}}))
    async with await RouterService.open() as service:
        engine = Engine(service, httpx.AsyncClient())
        first = await engine.run(Turn("hello there", model="gpt-4o"))
        second = await engine.run(Turn("hello again", model="gpt-4o"))
        await engine.client.aclose()
    assert [(a.provider, a.outcome) for a in first.attempts] == [("openai", "server"), ("openrouter", "ok")]
    assert [(a.provider, a.outcome) for a in second.attempts] == [("openrouter", "ok")]
    assert len(provider_server.requests_to(openai)) == 1


async def test_a_request_larger_than_every_window_is_refused_without_a_request(engine, service, provider_server):
    reply = await engine.run(Turn("word " * 900_000, task="analysis"))  # ~1.1M tokens: above every window
    assert reply.failure is FailureKind.CONTEXT_TOO_LARGE and reply.attempts == []
    assert "too large for the context window of every available model" in reply.error
    assert not [r for r in provider_server.requests if r.method == "POST"]


async def test_every_model_saying_too_long_is_a_context_failure(engine, provider_server):
    provider_server.default("*", Respond(400, {"error": {
        "message": "This model's maximum context length is 128000 tokens.", "type": "invalid_request_error",
        "param": "messages", "code": "context_length_exceeded"}}))
    reply = await engine.run(Turn("summarize the trade-offs of remote work", task="general", model="gpt-4o"))
    assert reply.failure is FailureKind.CONTEXT_TOO_LARGE and [a.outcome for a in reply.attempts] == [
        "context_length"]
    assert reply.error.startswith("the request is too long for the context window of every model tried")
