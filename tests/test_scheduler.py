"""The scheduler with an injected clock, against the fake provider server: due, missed, disabled,
two schedulers, stale claims, heartbeats, and the app's tick()."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mesoclaw_tui.core.types import MesoclawError, MesoclawFailure
from mesoclaw_tui.engine import Delta, Engine
from mesoclaw_tui.scheduler import (
    Scheduler,
    add_job,
    get_job,
    job_runs,
    lease_status,
    list_jobs,
    remove_job,
    set_enabled,
)
from mesoclaw_tui.service import RouterService
from tests.fakes.provider_server import Delay, Gate, Held, Respond, Stream
from tests.waiting import eventually_async

UTCZ = UTC
T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)  # a Monday


class Clock:
    """The wall clock (calling it) and a monotonic clock (`mono`): `advance` moves both, as time
    passing does; `jump` moves the wall clock alone, as a clock being set does."""

    def __init__(self, start: datetime = T0):
        self.t = start
        self.elapsed = 0.0
        self.reads = 0  # how often the wall clock was read: a scheduler reads it at every poll

    def __call__(self) -> datetime:
        self.reads += 1
        return self.t

    def mono(self) -> float:
        return self.elapsed

    def advance(self, **kwargs: float) -> datetime:
        self.t += timedelta(**kwargs)
        self.elapsed += timedelta(**kwargs).total_seconds()
        return self.t

    def jump(self, **kwargs: float) -> datetime:
        self.t += timedelta(**kwargs)
        return self.t


class Watched(Engine):
    """The real engine; `text` is what it has passed on to the scheduler so far."""

    def __init__(self, service: RouterService) -> None:
        super().__init__(service)
        self.text = ""

    async def run(self, turn, on_event=None):
        def passed_on(event) -> None:
            if on_event is not None:
                on_event(event)
            if type(event) is Delta:
                self.text += event.text

        return await super().run(turn, passed_on)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def usage_rows(home: Path, source: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(home / "mesoclaw.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM usage WHERE source = ?", (source,)).fetchall()
    finally:
        conn.close()


async def test_a_due_job_runs_once_and_is_rescheduled_from_its_end(fake, service, clock, isolated_env) -> None:
    job = await add_job(service, "hello", "every 1h", prompt="say hello", task="general", now=clock)
    assert job.next_run_at == T0 + timedelta(hours=1)
    scheduler = Scheduler(service, now=clock)
    try:
        clock.advance(minutes=30)
        assert await scheduler.tick() == []
        clock.advance(minutes=31)
        runs = await scheduler.tick()
    finally:
        await scheduler.aclose()
    assert len(runs) == 1
    run = runs[0]
    assert (run.status, run.trigger, run.output) == ("ok", "schedule", fake.reply)
    assert (run.provider, run.model, run.task) == ("openai", "gpt-6.1-sol", "general")
    assert (run.input_tokens, run.output_tokens) == (12, 5)
    assert run.attempts[0]["outcome"] == "ok"
    job = await get_job(service, "hello")
    assert job.last_status == "ok" and not job.running
    assert job.next_run_at == clock() + timedelta(hours=1)
    assert fake.requests[-1].json["messages"][-1]["content"] == "say hello"
    assert len(usage_rows(isolated_env, "job")) == 1


async def test_missed_slots_run_once(fake, service, clock) -> None:
    await add_job(service, "morning", "daily 09:00", prompt="news", task="fast", now=clock, tz=UTC)
    scheduler = Scheduler(service, now=clock, tz=UTC)
    clock.advance(days=3, hours=2)  # asleep through three 09:00 slots; wakes at Thursday 10:00
    assert len(await scheduler.tick()) == 1
    assert await scheduler.tick() == []
    job = await get_job(service, "morning")
    assert job.next_run_at == datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
    assert len(fake.requests_to(fake.chat_path("openai"))) == 1
    await scheduler.aclose()


async def test_disabled_jobs_do_not_run_and_enabling_counts_from_now(fake, service, clock) -> None:
    await add_job(service, "quiet", "every 15m", prompt="x", task="fast", now=clock, enabled=False)
    scheduler = Scheduler(service, now=clock)
    clock.advance(hours=5)
    assert await scheduler.tick() == []
    job = await set_enabled(service, "quiet", True, now=clock)
    assert job.enabled and job.next_run_at == clock() + timedelta(minutes=15)
    assert await scheduler.tick() == []  # not "missed" while disabled
    clock.advance(minutes=15)
    assert [r.status for r in await scheduler.tick()] == ["ok"]
    job = await set_enabled(service, "quiet", False, now=clock)
    clock.advance(days=1)
    assert await scheduler.tick() == [] and not job.enabled
    await scheduler.aclose()


async def test_manual_run_leaves_the_schedule_alone(fake, service, clock) -> None:
    job = await add_job(service, "m", "every 1h", prompt="x", task="fast", now=clock)
    scheduler = Scheduler(service, now=clock, role="cli")
    streamed: list[str] = []
    run = await scheduler.run_now("m", on_delta=streamed.append)
    assert run.status == "ok" and run.trigger == "manual" and "".join(streamed) == fake.reply
    after = await get_job(service, "m")
    assert after.next_run_at == job.next_run_at and after.last_status == "ok"
    with pytest.raises(MesoclawError, match="no job named 'nope' \\(jobs: m\\)"):
        await scheduler.run_now("nope")
    await scheduler.aclose()


async def test_two_schedulers_only_one_runs_each_job(fake, clock, isolated_env) -> None:
    fake.default(fake.chat_path("openai"), Delay(0.3, Stream("openai", "slow answer")))
    a_service, b_service = await RouterService.open(), await RouterService.open()
    try:
        for name in ("j1", "j2", "j3"):
            await add_job(a_service, name, "every 1h", prompt=name, task="fast", now=clock)
        clock.advance(hours=1)
        a, b = Scheduler(a_service, now=clock), Scheduler(b_service, now=clock)
        runs_a, runs_b = await asyncio.gather(a.tick(keep_lease=True), b.tick(keep_lease=True))
        # One of them got the lease and ran all three; the other ran nothing.
        assert sorted(len(r) for r in (runs_a, runs_b)) == [0, 3]
        assert len(fake.requests_to(fake.chat_path("openai"))) == 3
        holder = (a if runs_a else b).holder
        assert (await lease_status(a_service, clock))["holder"] == holder
        await a.aclose()
        await b.aclose()
        assert await lease_status(a_service, clock) is None
    finally:
        await a_service.close()
        await b_service.close()


async def test_a_claimed_job_is_not_run_again_even_by_a_new_lease_holder(fake, clock) -> None:
    """The lease is lost (deleted) while A runs a slow job: B takes the lease but cannot claim the job."""
    gate = Gate()  # A's job is running (its request is in) until B has tried
    fake.default(fake.chat_path("openai"), Held(gate, Stream("openai", "slow answer")))
    a_service, b_service = await RouterService.open(), await RouterService.open()
    try:
        await add_job(a_service, "slow", "every 1h", prompt="x", task="fast", now=clock)
        clock.advance(hours=1)
        a, b = Scheduler(a_service, now=clock), Scheduler(b_service, now=clock)
        running = asyncio.create_task(a.tick(keep_lease=True))
        await gate.wait_async()
        assert (await get_job(b_service, "slow")).running
        async with b_service.store.write() as db:
            await db.execute("DELETE FROM scheduler_lease")
        assert await b.tick() == []
        assert b.holding is False  # tick() without keep_lease gave it back
        gate.release()
        assert [r.status for r in await running] == ["ok"]
        assert len(fake.requests_to(fake.chat_path("openai"))) == 1
        await a.aclose()
        await b.aclose()
    finally:
        await a_service.close()
        await b_service.close()


async def test_a_dead_runners_claim_expires_and_its_run_is_marked_interrupted(fake, service, clock) -> None:
    await add_job(service, "orphan", "every 1h", prompt="x", task="fast", now=clock)
    clock.advance(hours=1)
    dead = Scheduler(service, now=clock, lease_ttl=60, monotonic=clock.mono)
    assert await dead.take_lease()
    claimed, _ = await service.claim_due_job(dead.holder, clock().timestamp(), 60, dead.renew_s)
    assert claimed is not None  # ...and then the process was killed: no finish, no release
    clock.advance(seconds=30)
    other = Scheduler(service, now=clock, monotonic=clock.mono)
    assert await other.tick() == []  # lease and claim still live
    clock.advance(seconds=31)
    assert await other.tick() == []  # expired, but the heartbeats are only now seen to stand still
    clock.advance(seconds=59)
    assert await other.tick() == []  # not yet three of the dead runner's renew intervals
    clock.advance(seconds=1)
    runs = await other.tick()
    assert [r.status for r in runs] == ["ok"]
    history = await job_runs(service, "orphan")
    assert [r.status for r in history] == ["ok", "interrupted"]
    assert "stopped before the run finished" in history[1].error
    await other.aclose()


async def test_the_app_tick_yields_to_a_dedicated_scheduler(fake, service, clock) -> None:
    await add_job(service, "j", "every 1h", prompt="x", task="fast", now=clock)
    clock.advance(hours=2)
    dedicated = Scheduler(service, now=clock)
    assert await dedicated.take_lease()
    app = Scheduler(service, now=clock, role="app")
    assert await app.tick() == []
    await dedicated.release()
    seen: list[tuple[str, str | None]] = []
    runs = await app.tick(on_run=lambda job, run: seen.append((job.name, run.status if run else None)))
    assert [r.status for r in runs] == ["ok"]
    assert seen == [("j", None), ("j", "ok")]
    assert await lease_status(service, clock) is None  # the app let it go
    jobs = await list_jobs(service)
    assert jobs[0].last_run is not None and jobs[0].last_run.output == fake.reply
    await app.aclose()


async def test_a_failing_job_is_recorded_and_the_next_one_still_runs(fake, service, clock) -> None:
    fake.script(fake.chat_path("openai"), Respond(400, {"error": {"message": "bad prompt"}}))
    await add_job(service, "a-bad", "every 1h", prompt="x", task="fast", now=clock)
    await add_job(service, "b-good", "every 1h", prompt="y", task="fast", now=clock)
    clock.advance(hours=1)
    scheduler = Scheduler(service, now=clock)
    runs = await scheduler.tick()
    assert [r.status for r in runs] == ["failed", "ok"]
    assert "bad prompt" in runs[0].error
    bad = await get_job(service, "a-bad")
    assert bad.last_status == "failed" and bad.next_run_at == clock() + timedelta(hours=1)
    await scheduler.aclose()


async def test_no_provider_configured_fails_the_run_with_the_fix(service, clock) -> None:
    await add_job(service, "j", "every 1h", prompt="x", task="fast", now=clock)
    await add_job(service, "hb", "every 1h", kind="heartbeat", now=clock)
    clock.advance(hours=1)
    scheduler = Scheduler(service, now=clock)
    runs = await scheduler.tick()
    assert [r.status for r in runs] == ["failed", "failed"]
    assert all("OPENAI_API_KEY" in r.error for r in runs)
    await scheduler.aclose()


async def test_heartbeat_checks_the_profiles_providers_and_feeds_availability(fake, service, clock,
                                                                          monkeypatch) -> None:
    await add_job(service, "hb", "every 15m", kind="heartbeat", now=clock)
    scheduler = Scheduler(service, now=clock)
    run = await scheduler.run_now("hb")
    assert run.status == "ok" and run.output.startswith("openai: ok, 5 models listed")
    states = await service.store.provider_states()
    assert states["openai"]["last_check_ok"] == 1
    assert {m["model_id"] for m in (await service.store.provider_models())["openai"]} >= {"gpt-4o"}

    fake.default(fake.models_path("openai"), Respond(401, {"error": {"message": "bad key", "type": "auth"}}))
    run = await scheduler.run_now("hb")
    assert run.status == "failed" and "openai" in run.error and "auth" in run.output
    assert (await service.store.provider_states())["openai"]["last_check_ok"] == 0
    await scheduler.aclose()


async def test_a_running_job_cannot_be_started_twice(fake, service, clock) -> None:
    gate = Gate()  # the first run is under way until the second has been refused
    fake.default(fake.chat_path("openai"), Held(gate, Stream("openai", "slow")))
    await add_job(service, "j", "every 1h", prompt="x", task="fast", now=clock)
    first = Scheduler(service, now=clock, role="cli")
    second = Scheduler(service, now=clock, role="cli")
    running = asyncio.create_task(first.run_now("j"))
    await gate.wait_async()
    with pytest.raises(MesoclawFailure, match="already running"):
        await second.run_now("j")
    gate.release()
    assert (await running).status == "ok"
    await first.aclose()
    await second.aclose()


async def test_cancelling_a_run_marks_it_interrupted_and_keeps_the_job_due(fake, service, clock) -> None:
    gate = Gate()  # two deltas, then the reply waits: it is mid-stream when cancelled
    fake.default(fake.chat_path("openai"), Stream("openai", n=200, gate=gate, hold_after=2))
    await add_job(service, "long", "every 1h", prompt="x", task="fast", now=clock)
    clock.advance(hours=1)
    due = (await get_job(service, "long")).next_run_at
    engine = Watched(service)
    scheduler = Scheduler(service, engine, now=clock)
    task = asyncio.create_task(scheduler.tick(keep_lease=True))
    await eventually_async(lambda: engine.text == "tok tok ", what="the two deltas to reach the scheduler")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await scheduler.aclose()
    await engine.aclose()
    [run] = await job_runs(service, "long")
    assert run.status == "interrupted" and run.output == "tok tok "
    job = await get_job(service, "long")
    assert not job.running and job.last_status == "interrupted" and job.next_run_at == due


async def test_validation_and_removal(service, clock) -> None:
    bad = [
        dict(name="bad name", schedule="every 1h", prompt="x"),
        dict(name="j", schedule="every 1h", prompt=""),
        dict(name="j", schedule="every 1h", prompt="x", kind="cron"),
        dict(name="j", schedule="every 1h", prompt="x", task="poetry"),
        dict(name="j", schedule="every 1h", prompt="x", profile="cheap"),
        dict(name="j", schedule="every 1h", prompt="x", kind="heartbeat"),
        dict(name="j", schedule="every 1x", prompt="x"),
    ]
    for kwargs in bad:
        with pytest.raises(MesoclawError):
            await add_job(service, kwargs.pop("name"), kwargs.pop("schedule"), now=clock, **kwargs)
    assert await list_jobs(service) == []
    await add_job(service, "j", "every 1h", prompt="x", now=clock)
    with pytest.raises(MesoclawError, match="already exists"):
        await add_job(service, "j", "every 2h", prompt="y", now=clock)
    await remove_job(service, "j")
    with pytest.raises(MesoclawError, match="no job named 'j'"):
        await remove_job(service, "j")


async def test_run_forever_stands_by_then_takes_over(fake, service, clock) -> None:
    await add_job(service, "j", "every 1h", prompt="x", task="fast", now=clock)
    clock.advance(hours=1)
    first = Scheduler(service, now=clock)
    assert await first.take_lease()
    second = Scheduler(service, now=clock)
    stop = asyncio.Event()
    standby: list[str] = []
    ran: list[str] = []
    forever = asyncio.create_task(second.run_forever(
        stop, poll=0.05, on_standby=lambda lease: standby.append(lease["holder"]),
        on_run=lambda job, run: run and ran.append(run.status)))
    await eventually_async(lambda: standby, what="the scheduler to stand by")
    polled = clock.reads
    await eventually_async(lambda: clock.reads >= polled + 6, what="three more polls")
    assert standby == [first.holder] and ran == []  # said once, not on every poll
    await first.release()
    await eventually_async(lambda: ran, what="the job to run once the lease is free")
    stop.set()
    runs = await forever
    assert ran == ["ok"] and [r.status for r in runs] == ["ok"]
    assert await lease_status(service, clock) is None
