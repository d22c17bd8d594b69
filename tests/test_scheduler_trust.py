"""The scheduler against a wrong clock and failing jobs: a clock jump cannot steal a live runner's lease
or job, a dead runner's job is taken over, and no job's failure stops the scheduler or leaves a run
`running`."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from mesoclaw_tui.scheduler import Scheduler, add_job, get_job, job_runs
from mesoclaw_tui.service import RouterService
from tests.fakes.provider_server import FakeProviderServer, Gate, Held, Stream
from tests.waiting import eventually_async

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def at(moment: datetime):
    return lambda: moment


def chat_requests(fake: FakeProviderServer) -> int:
    return len(fake.requests_to(fake.chat_path("openai")))


# the clock ------------------------------------------------------------------------------------------------


async def test_a_scheduler_whose_clock_jumps_ahead_cannot_take_a_running_job(fake, isolated_env) -> None:
    """A runs a slow job, renewing its claim and the lease (every 0.25 s here). B's wall clock is two
    minutes ahead, so by B's clock A's lease and claim have long expired; B polls all through A's run
    (held for 2 s, over twice the 0.75 s B would wait before calling A gone), on its own real monotonic
    clock. B never takes the lease, never runs the job: one request."""
    gate = Gate()
    fake.default(fake.chat_path("openai"), Held(gate, Stream("openai", "slow answer")))
    a_service, b_service = await RouterService.open(), await RouterService.open()
    try:
        await add_job(a_service, "slow", "every 1h", prompt="x", task="fast", now=at(T0))
        now_a = at(T0 + timedelta(hours=1))
        now_b = at(T0 + timedelta(hours=1, minutes=2))  # the jump
        a = Scheduler(a_service, now=now_a, lease_ttl=0.75, keepalive_s=0.25)
        b = Scheduler(b_service, now=now_b, lease_ttl=0.75, keepalive_s=0.25)
        running = asyncio.create_task(a.tick(keep_lease=True))
        await gate.wait_async()
        b_runs = []
        polling = time.monotonic()
        while not running.done():
            if time.monotonic() - polling > 2.0:
                gate.release()
            b_runs += await b.tick(keep_lease=True)
            assert not b.holding
            await asyncio.sleep(0.05)
        assert [r.status for r in await running] == ["ok"]
        assert b_runs == [] and chat_requests(fake) == 1
        assert [r.status for r in await job_runs(a_service, "slow")] == ["ok"]
        await a.aclose()
        await b.aclose()
    finally:
        await a_service.close()
        await b_service.close()


async def test_a_dead_runners_job_is_taken_over_once_its_heartbeat_stands_still(fake, service) -> None:
    await add_job(service, "orphan", "every 1h", prompt="x", task="fast", now=at(T0))
    dead = Scheduler(service, now=at(T0 + timedelta(hours=1)), lease_ttl=0.3, keepalive_s=0.1)
    assert await dead.take_lease()
    claim, _ = await service.claim_due_job(dead.holder, (T0 + timedelta(hours=1)).timestamp(), 0.3, dead.renew_s)
    assert claim is not None  # ... and then it died: no renewal, no finish, no release
    taker = Scheduler(service, now=at(T0 + timedelta(hours=1, seconds=1)))
    started = time.monotonic()
    runs = []
    while not runs and time.monotonic() - started < 10:
        runs = await taker.tick()
        await asyncio.sleep(0.05)
    waited = time.monotonic() - started
    assert [r.status for r in runs] == ["ok"]
    assert waited >= 0.3  # three of the dead runner's renew intervals (0.1 s) on the taker's own clock
    assert [r.status for r in await job_runs(service, "orphan")] == ["ok", "interrupted"]
    await taker.aclose()


async def test_scheduler_run_once_waits_out_a_dead_runner(fake, service) -> None:
    await add_job(service, "orphan", "every 1h", prompt="x", task="fast", now=at(T0))
    moment = T0 + timedelta(hours=1)
    dead = Scheduler(service, now=at(moment), lease_ttl=0.3, keepalive_s=0.1)
    assert await dead.take_lease()
    assert (await service.claim_due_job(dead.holder, moment.timestamp(), 0.3, dead.renew_s))[0] is not None
    once = Scheduler(service, now=at(moment + timedelta(seconds=5)))
    runs = await asyncio.wait_for(once.run_forever(asyncio.Event(), once=True, poll=0.05), 10)
    assert [r.status for r in runs] == ["ok"] and chat_requests(fake) == 1


async def test_a_manual_run_takes_over_a_dead_claim_but_not_a_live_one(fake, service) -> None:
    gate = Gate()  # the live run is under way until the other has been refused
    fake.default(fake.chat_path("openai"), Held(gate, Stream("openai", "slow")))
    await add_job(service, "j", "every 1h", prompt="x", task="fast", now=at(T0))
    # Renewing every 0.25 s: the other waits 0.75 s without seeing a renewal before it calls it gone.
    live = Scheduler(service, now=at(T0), role="cli", lease_ttl=0.75, keepalive_s=0.25)
    running = asyncio.create_task(live.run_now("j"))
    await gate.wait_async()
    ahead = Scheduler(service, now=at(T0 + timedelta(minutes=2)), role="cli")  # expired, by its clock
    waits: list[str] = []
    with pytest.raises(Exception, match="already running"):
        await ahead.run_now("j", on_wait=waits.append)
    gate.release()
    assert (await running).status == "ok" and chat_requests(fake) == 1
    await live.aclose()

    fake.default(fake.chat_path("openai"), Stream("openai", "fine"))
    dead = Scheduler(service, now=at(T0), role="cli", lease_ttl=0.3, keepalive_s=0.1)
    await service.claim_job("j", dead.holder, T0.timestamp(), 0.3, dead.renew_s)  # then it died
    waits.clear()
    run = await asyncio.wait_for(ahead.run_now("j", on_wait=waits.append), 10)
    assert run.status == "ok" and len(waits) == 1 and "making sure that runner is gone" in waits[0]
    await ahead.aclose()


# failing jobs ------------------------------------------------------------------------------------------------


async def run_until(scheduler: Scheduler, done, errors: list[Exception], timeout: float = 15) -> list:
    stop = asyncio.Event()
    forever = asyncio.create_task(scheduler.run_forever(stop, poll=0.05, on_error=errors.append))
    started = time.monotonic()
    while not await done() and time.monotonic() - started < timeout:
        assert not forever.done(), forever.exception() if forever.done() else None
        await asyncio.sleep(0.05)
    stop.set()
    return await forever


async def test_a_lone_surrogate_in_a_reply_does_not_stop_the_scheduler(fake, service) -> None:
    fake.script(fake.chat_path("openai"), Stream("openai", ["bad ", "\udc9b", " bytes"]))
    await add_job(service, "a-odd", "every 1h", prompt="x", task="fast", now=at(T0))
    await add_job(service, "b-next", "every 1h", prompt="y", task="fast", now=at(T0))
    scheduler = Scheduler(service, now=at(T0 + timedelta(hours=1)))

    async def both_ran() -> bool:
        return all(j.last_status for j in [await get_job(service, "a-odd"), await get_job(service, "b-next")])

    errors: list[Exception] = []
    runs = await run_until(scheduler, both_ran, errors)
    assert [r.status for r in runs] == ["ok", "ok"] and errors == []
    assert runs[0].output == "bad \ufffd bytes"
    assert not (await get_job(service, "a-odd")).running


async def test_a_lone_surrogate_from_anywhere_in_a_result_is_stored_and_the_scheduler_goes_on(fake, service) -> None:
    """Not only a provider's JSON (which the adapters decode leniently) can carry one: any part below
    the scheduler might. The store keeps the result, with U+FFFD in its place."""
    from mesoclaw_tui.engine import Engine

    class Odd(Engine):
        async def run(self, turn, on_event=None):
            reply = await super().run(turn, on_event)
            if turn.prompt == "odd":
                reply.text, reply.error = "odd \udc9b text", "odd \udc9b error"
            return reply

    await add_job(service, "a-odd", "every 1h", prompt="odd", task="fast", now=at(T0))
    await add_job(service, "b-next", "every 1h", prompt="next", task="fast", now=at(T0))
    scheduler = Scheduler(service, Odd(service), now=at(T0 + timedelta(hours=1)))
    errors: list[Exception] = []

    async def both_ran() -> bool:
        return all(j.last_status for j in [await get_job(service, "a-odd"), await get_job(service, "b-next")])

    runs = await run_until(scheduler, both_ran, errors)
    assert [r.status for r in runs] == ["ok", "ok"] and errors == []
    assert (runs[0].output, runs[0].error) == ("odd \ufffd text", "odd \ufffd error")


async def test_any_exception_in_a_job_is_a_failed_run_and_the_next_job_runs(fake, service) -> None:
    from mesoclaw_tui.engine import Engine

    class Exploding(Engine):  # a bug anywhere below the scheduler, as the scheduler meets it
        async def run(self, turn, on_event=None):
            if turn.prompt == "boom":
                raise RuntimeError("something nobody expected")
            return await super().run(turn, on_event)

    await add_job(service, "a-boom", "every 1h", prompt="boom", task="fast", now=at(T0))
    await add_job(service, "b-fine", "every 1h", prompt="fine", task="fast", now=at(T0))
    scheduler = Scheduler(service, Exploding(service), now=at(T0 + timedelta(hours=1)))
    runs = await scheduler.tick()
    assert [r.status for r in runs] == ["failed", "ok"]
    assert runs[0].error == "RuntimeError: something nobody expected"
    assert [j.running for j in [await get_job(service, "a-boom"), await get_job(service, "b-fine")]] == [False, False]
    await scheduler.aclose()


async def test_a_result_too_big_for_the_disk_is_saved_without_its_output(fake, service) -> None:
    fake.script(fake.chat_path("openai"), Stream("openai", ["word " * 40_000]))  # 200 KB
    await add_job(service, "a-big", "every 1h", prompt="x", task="fast", now=at(T0))
    await add_job(service, "b-small", "every 1h", prompt="y", task="fast", now=at(T0))
    pages = (await service.store.rows("PRAGMA page_count"))[0][0]
    await service.store.rows(f"PRAGMA max_page_count = {pages + 4}")  # a nearly full disk
    scheduler = Scheduler(service, now=at(T0 + timedelta(hours=1)))
    runs = await scheduler.tick()
    assert [r.status for r in runs] == ["failed", "ok"]
    assert runs[0].error.startswith("the run's result could not be saved: the disk holding")
    assert "is full" in runs[0].error
    history = await job_runs(service, "a-big")
    assert [(r.status, r.output) for r in history] == [("failed", "")]
    await scheduler.aclose()


async def test_a_database_that_takes_no_write_is_reported_and_the_scheduler_goes_on(fake, service) -> None:
    await add_job(service, "j", "every 1h", prompt="x", task="fast", now=at(T0))
    await service.store.rows("PRAGMA query_only = ON")  # as on a disk remounted read-only
    scheduler = Scheduler(service, now=at(T0 + timedelta(hours=1)))
    errors: list[Exception] = []
    stop = asyncio.Event()
    forever = asyncio.create_task(scheduler.run_forever(stop, poll=0.05, on_error=errors.append))
    await eventually_async(lambda: errors or forever.done(), what="the failed write to be reported")
    assert not forever.done() and errors and "it is read-only" in str(errors[0])
    await service.store.rows("PRAGMA query_only = OFF")  # writable again

    async def ran() -> bool:
        return bool((await get_job(service, "j")).last_status)

    await eventually_async(ran, what="the job to run once the database is writable")
    stop.set()
    runs = await forever
    assert [r.status for r in runs] == ["ok"]


async def test_a_lease_is_taken_over_only_from_the_holder_that_was_watched(service) -> None:
    """The counter restarts when a lease is released and taken anew: a counter watched on a former
    holder's lease never lets anyone take the new holder's."""
    now = T0.timestamp()
    assert (await service.take_lease("a", now, 60, 20))[0]
    await service.release_lease("a")
    held, lease = await service.take_lease("c", now, 60, 20)
    assert held and lease is not None and lease.beat == 1
    assert not (await service.take_lease("b", now + 120, 60, 20, steal=("a", 1)))[0]
    assert (await service.take_lease("b", now + 120, 60, 20, steal=("c", 1)))[0]
