"""RouterService's methods for conversations, usage, jobs, the scheduler lease and provider health:
what the faces and the engine call instead of reaching into the store. Each returns dataclasses."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from mesoclaw_tui.core.types import MesoclawError
from mesoclaw_tui.scheduler import Scheduler, add_job
from mesoclaw_tui.service import (
    Busy,
    Claim,
    Conversation,
    Job,
    Message,
    ReplyMessage,
    RouterService,
    RunResult,
    TranscriptEntry,
    UsageRecord,
)


async def a_turn(service: RouterService, conversation_id: int, prompt: str, reply: str, *,
                 status: str = "complete") -> int | None:
    await service.add_user_message(conversation_id, prompt, task="code")
    usage = UsageRecord("chat", time.time(), "ok" if status == "complete" else status, task="code",
                        profile="balanced", provider="openai" if reply else None, model="gpt-4o" if reply else None,
                        input_tokens=10, output_tokens=5, cost_usd=0.0001, baseline_cost_usd=0.001,
                        attempts=({"provider": "openai", "model": "gpt-4o", "outcome": "ok", "error": None, "ms": 9},),
                        conversation_id=conversation_id)
    recorded = await service.record_reply(usage, ReplyMessage(conversation_id, reply, status, "openai", "gpt-4o",
                                                              "code", None if status == "complete" else "boom"))
    return recorded.message_id


async def test_conversations_are_created_listed_renamed_pinned_and_deleted(service: RouterService) -> None:
    first = await service.create_conversation("first")
    second = await service.create_conversation("second")
    await a_turn(service, first, "hello", "hi there")
    listed = await service.list_conversations()
    assert all(isinstance(c, Conversation) for c in listed)
    assert {c.id: c.message_count for c in listed} == {first: 2, second: 0}
    assert await service.rename_conversation(second, "  renamed  ") == "renamed"
    with pytest.raises(MesoclawError, match="cannot be empty"):
        await service.rename_conversation(second, "   ")
    await service.pin_model(second, "o3")
    conversation = await service.conversation(second)
    assert conversation is not None and (conversation.title, conversation.model_override) == ("renamed", "o3")
    assert (await service.conversation(first)).previous_task is not None  # the reply's task is kept
    await service.delete_conversation(second)
    assert await service.conversation(second) is None
    with pytest.raises(MesoclawError, match=f"no conversation {second}"):
        await service.require_conversation(second)


async def test_a_reply_is_stored_with_its_usage_and_shown_in_the_transcript(service: RouterService) -> None:
    conversation_id = await service.create_conversation("t")
    message_id = await a_turn(service, conversation_id, "question", "answer")
    page = await service.transcript(conversation_id, limit=10)
    assert not page.has_older and all(isinstance(e, TranscriptEntry) for e in page.entries)
    user, reply = page.entries
    assert (user.role, user.content, reply.id) == ("user", "question", message_id)
    assert (reply.provider, reply.input_tokens, reply.output_tokens, reply.cost_usd) == ("openai", 10, 5, 0.0001)
    assert reply.attempts[0]["outcome"] == "ok"
    assert (await service.transcript(conversation_id, limit=1)).has_older
    records = await service.usage_records()
    assert [(r.source, r.conversation_id, r.attempts[0]["ms"]) for r in records] == [("chat", conversation_id, 9)]
    messages = await service.messages(conversation_id, limit=1, before_id=message_id)
    assert [type(m) for m in messages] == [Message] and messages[0].content == "question"


async def test_the_history_sent_as_context_leaves_out_unanswered_prompts(service: RouterService) -> None:
    conversation_id = await service.create_conversation("t")
    await a_turn(service, conversation_id, "first", "one")
    await a_turn(service, conversation_id, "failed prompt", "", status="failed")
    await a_turn(service, conversation_id, "third", "partial", status="incomplete")
    history = await service.answered_history(conversation_id)
    assert [(m.role, m.content) for m in history] == [("user", "first"), ("assistant", "one"),
                                                      ("user", "third"), ("assistant", "partial")]


async def test_continue_picks_the_newest_conversation_with_an_answer(service: RouterService) -> None:
    assert await service.last_answered_conversation() is None
    answered = await service.create_conversation("answered")
    await a_turn(service, answered, "q", "a")
    unanswered = await service.create_conversation("failed ask")
    await a_turn(service, unanswered, "q", "", status="failed")
    assert await service.last_answered_conversation() == answered
    assert await service.last_conversation_id() == unanswered


async def test_usage_summary_is_the_report_of_the_stored_records(service: RouterService) -> None:
    conversation_id = await service.create_conversation("t")
    await a_turn(service, conversation_id, "q", "a")
    summary = await service.usage_summary()
    assert summary.total.requests == 1 and summary.groups["model"]["openai:gpt-4o"].cost_usd == 0.0001
    assert (await service.usage_report())["total"]["requests"] == 1


async def test_provider_health_feeds_availability(service: RouterService, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    service.settings = (await RouterService.open()).settings  # re-read the environment
    failure = await service.record_provider_failure("openai", "HTTP 500")
    assert (failure.failures, failure.cooldown_s) == (1, 30.0)
    assert "openai" in (await service.live_availability()).cooling
    await service.record_provider_success("openai")
    await service.mark_model_unavailable("openai", "gpt-4o", "404 model", 60)
    availability = await service.live_availability()
    assert "openai" not in availability.cooling and ("openai", "gpt-4o") in availability.unavailable_models


async def test_jobs_claims_and_the_lease(service: RouterService) -> None:
    now = 1_000_000.0
    job = await service.create_job(name="j", kind="prompt", prompt="x", task="fast", profile=None,
                                   schedule="every 1h", enabled=True, next_run_at=now - 1, now=now - 10)
    assert isinstance(job, Job) and job.enabled and job.last_run is None
    with pytest.raises(MesoclawError, match=r"no job named 'k' \(jobs: j\)"):
        await service.require_job("k")
    assert await service.claim_due_job("a", now, 60, 20) == (None, {})  # the lease is not a's
    assert (await service.take_lease("a", now, 60, 20))[0] and not (await service.take_lease("b", now, 60, 20))[0]
    lease = await service.lease()
    assert lease is not None and lease.holder == "a" and lease.beat == 1 and lease.renew_s == 20
    claim, _ = await service.claim_due_job("a", now, 60, 20)
    assert isinstance(claim, Claim) and claim.job.name == "j" and claim.job.running
    busy = await service.claim_job("j", "b", now, 60, 20)
    assert isinstance(busy, Busy) and not busy.expired and busy.job.claimed_by == "a"
    # Expired by b's clock, but b has not seen its heartbeat stand still: refused all the same.
    busy = await service.claim_job("j", "b", now + 120, 60, 20)
    assert isinstance(busy, Busy) and busy.expired and busy.beat.counter == 1
    assert (await service.take_lease("b", now + 120, 60, 20))[0] is False
    assert await service.renew_claims("a", now + 20, 60, lease=True)  # a renews: the counters move
    busy = await service.claim_job("j", "b", now + 200, 60, 20, steal_beat=1)
    assert isinstance(busy, Busy) and busy.beat.counter == 2  # the counter b watched is gone: refused
    await service.finish_run(claim, "a", now + 5, RunResult("ok", "done", provider="openai", model="gpt-4o"),
                             now + 3600)
    run = await service.job_run(claim.run_id)
    assert run is not None and (run.status, run.output, run.task, run.seconds) == ("ok", "done", "fast", 5.0)
    job = await service.require_job("j")
    assert not job.running and job.last_status == "ok" and job.last_run == run
    assert await service.next_due_at(now) == now + 3600
    await service.release_lease("a")
    assert await service.lease() is None
    assert await service.delete_job("j") and await service.list_jobs() == []


async def test_a_base_url_password_never_reaches_a_heartbeats_output_or_provider_state(
        service: RouterService, monkeypatch, isolated_env: Path) -> None:
    """The heartbeat goes through the service's provider check, which scrubs errors: a connection
    refused names the URL, and the URL carries a password."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdef123456")
    monkeypatch.setenv("MESOCLAW_OPENAI_BASE_URL", "http://alice:hunter2PASS@127.0.0.1:9/v1")
    service = await RouterService.open()
    try:
        await add_job(service, "hb", "every 15m", kind="heartbeat")
        scheduler = Scheduler(service, role="cli")
        run = await scheduler.run_now("hb")
        await scheduler.aclose()
        report = await service.provider_report()
    finally:
        await service.close()
    assert run.status == "failed" and "openai: failed after" in run.output and "connect" in run.output
    assert "hunter2PASS" not in run.output + (run.error or "")
    openai = next(p for p in report if p["provider"] == "openai")
    assert openai["last_check"]["ok"] is False and "hunter2PASS" not in str(openai)
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        state = conn.execute("SELECT last_check_error FROM provider_state WHERE provider = 'openai'").fetchone()
    assert state[0] and "hunter2PASS" not in state[0]
    for path in isolated_env.iterdir():
        assert b"hunter2PASS" not in path.read_bytes()


async def test_the_profile_is_known_before_the_app_draws_its_first_frame(isolated_env: Path) -> None:
    """service.peek reads it with the standard library alone; the app shows it in its first frame."""
    from mesoclaw_tui.service.peek import active_profile
    from mesoclaw_tui.tui.app import MesoclawApp

    assert active_profile() is None and not (isolated_env / "mesoclaw.db").exists()  # never creates the file
    async with await RouterService.open() as service:
        await service.set_router_profile("eco")
    assert active_profile() == "eco"
    assert MesoclawApp().profile == "eco"  # set as the app is built, before anything is drawn
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        conn.execute("UPDATE router_config SET active_profile = 'x; DROP' WHERE id = 1")
    assert active_profile() is None  # a hand edit is left to the service to correct
    assert active_profile(isolated_env / "missing.db") is None
