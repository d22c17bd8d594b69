"""Scheduled jobs: managing them, and running the ones that are due.

Three kinds of job: `prompt` (one turn through the engine, source "job", not saved as a
conversation), `heartbeat` (a live check of the providers the profile's chains use, recorded like
`mesoclaw providers check` so it feeds availability and cooldowns) and `agent` (a tool-using run
with only the tools its --allow list and config allow, never asking: agent/scheduled.py). Every run is a `job_runs` row
from the moment it is claimed, so a run is never lost: it ends ok / incomplete / failed, or
interrupted (a stop that outlasted the grace period, or a runner that died: the next runner notices
its expired claim).

Who runs due jobs. One process at a time holds the scheduler lease (a database row with a holder id
and an expiry, renewed while the holder lives): `mesoclaw scheduler run` keeps it; the app takes it
for one `tick()` at a time and lets it go, so a dedicated scheduler started later takes over. On top
of the lease, each job is claimed in the same transaction that finds it due, so even two runners
that both think they hold the lease never start the same job twice.

Clocks. The lease and every claim carry a heartbeat counter that their owner raises at each renewal
(every `renew_s`, a third of the lease's life). An expired lease or claim (by the taker's wall clock)
is taken over only when the taker has also seen its counter stand still for STALE_ROUNDS of the
owner's renew intervals, timed by the taker's own monotonic clock (`Watches`); the store checks the
counter again in the taking transaction. So a scheduler whose wall clock jumps ahead cannot take a
lease or a job from a live owner: the counter keeps moving. `scheduler run --once` and `schedule run`
wait out such a watch (at most STALE_ROUNDS renew intervals) before taking over from a dead runner.

A job's failure never stops the scheduler: any exception in a run makes the run `failed` with the
reason; a result that cannot be saved (a full disk) is saved without its output, and if even that
fails the run is left for the next runner to mark interrupted while the scheduler goes on.

Time. Every entry point takes `now: Callable[[], datetime]` (aware, UTC by default) so tests drive
the clock; daily, weekly and cron schedules are local wall-clock times (see schedule_spec). Missed
slots (the machine slept) run once: the next run is computed from the end of the run, not from the
slot that was due.

API for the app (all async, one RouterService):

    jobs = await list_jobs(service)              # Job rows with their latest run (JobRun) attached
    await add_job(service, name, "daily 09:00", prompt="…"); await edit_job(service, name, …)
    await set_enabled(service, name, False); await remove_job(service, name)
    run = await Scheduler(service, engine, role="app").run_now(name)   # what `schedule run` does
    runs = await job_runs(service, name, 10)     # recent runs, newest first
    scheduler = Scheduler(service, engine, role="app")
    done = await scheduler.tick()                # runs due jobs if the lease is free; [] otherwise
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from .core.failures import FailureKind
from .core.profiles import chain_for, fallback_for
from .core.provider_info import PROVIDERS, no_provider_message
from .core.types import MesoclawError, MesoclawFailure, TaskType, parse_profile
from .schedule_spec import Schedule, parse_schedule
from .service.job_records import Beat, Claim, Job, JobRun, RunResult, iso

if TYPE_CHECKING:
    from .engine import Engine
    from .service import AgentJobSettings, RouterService

__all__ = ["Job", "JobRun", "Scheduler", "add_job", "edit_job", "get_job", "job_runs", "lease_status", "list_jobs",
           "remove_job", "set_enabled", "validate_job"]

Clock = Callable[[], datetime]
KINDS = ("prompt", "heartbeat", "agent")
TASK_CHOICES = ("auto", *(t.value for t in TaskType))
LEASE_TTL_S = 60.0
HEARTBEAT_TIMEOUT_S = 5.0
# A lease or claim whose heartbeat counter stood still this many of its owner's renew intervals (on
# the taker's monotonic clock) belongs to a runner that is gone.
STALE_ROUNDS = 3
log = logging.getLogger("mesoclaw.scheduler")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# A job's reply -> its run's status.
RUN_STATUS: dict[FailureKind | None, str] = {
    None: "ok", FailureKind.INCOMPLETE: "incomplete", FailureKind.CANCELLED: "interrupted",
    FailureKind.NO_PROVIDER: "failed", FailureKind.NO_AVAILABLE_MODEL: "failed",
    FailureKind.CONTEXT_TOO_LARGE: "failed", FailureKind.BAD_REQUEST: "failed", FailureKind.ALL_FAILED: "failed",
    FailureKind.MISSING_CAPABILITY: "failed", FailureKind.REPLY_TOO_LARGE: "incomplete",
    FailureKind.BUDGET_EXCEEDED: "failed",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> float:
    return moment.timestamp()


# managing jobs -----------------------------------------------------------------------------------


def validate_job(name: str, kind: str, prompt: str, task: str, profile: str | None) -> dict[str, Any]:
    """The job's fields, checked; a MesoclawError names the valid choices."""
    if not _NAME.match(name):
        raise MesoclawError(f"bad job name '{name}' (use letters, digits, '.', '_' and '-', up to 64 "
                            "characters, starting with a letter or digit)")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise MesoclawError(f"unknown job kind '{kind}' (choose one of: {', '.join(KINDS)})")
    task = task.strip().lower()
    if task not in TASK_CHOICES:
        raise MesoclawError(f"unknown task '{task}' (choose one of: {', '.join(TASK_CHOICES)})")
    profile_value = parse_profile(profile).value if profile else None
    prompt = prompt.strip()
    if kind == "prompt" and not prompt:
        raise MesoclawError("a prompt job needs a PROMPT (or use --kind heartbeat to check the providers)")
    if kind == "agent" and not prompt:
        raise MesoclawError("an agent job needs a goal: mesoclaw schedule add NAME --kind agent \"GOAL\" "
                            "--allow TOOL …")
    if kind == "heartbeat" and prompt:
        raise MesoclawError("a heartbeat job takes no PROMPT: it checks the providers of the profile's chains")
    if kind == "heartbeat" and task != "auto":
        raise MesoclawError("a heartbeat job takes no --task: it checks every chain of the profile")
    return {"name": name, "kind": kind, "prompt": prompt, "task": task, "profile": profile_value}


async def add_job(service: RouterService, name: str, schedule: Schedule | str, *, kind: str = "prompt",
                  prompt: str = "", task: str = "auto", profile: str | None = None, enabled: bool = True,
                  now: Clock = utc_now, tz: tzinfo | None = None, agent: AgentJobSettings | None = None) -> Job:
    """`agent`: an agent job's tools, directory and limits (agent/scheduled.py job_settings)."""
    spec = parse_schedule(schedule) if isinstance(schedule, str) else schedule
    fields = validate_job(name, kind, prompt, task, profile)
    moment = now()
    return await service.create_job(**fields, schedule=spec.text, enabled=enabled,
                                    next_run_at=_ts(spec.next_after(moment, tz)), now=_ts(moment), agent=agent)


async def get_job(service: RouterService, name: str) -> Job:
    return await service.require_job(name)


async def list_jobs(service: RouterService) -> list[Job]:
    """Every job, by name, with its latest run (which may still be running)."""
    return await service.list_jobs()


async def job_runs(service: RouterService, name: str, limit: int = 10) -> list[JobRun]:
    job = await service.require_job(name)
    return await service.job_runs(job.id, limit)


async def remove_job(service: RouterService, name: str) -> None:
    await service.require_job(name)
    await service.delete_job(name)


async def set_enabled(service: RouterService, name: str, enabled: bool, *, now: Clock = utc_now,
                      tz: tzinfo | None = None) -> Job:
    """Enabling counts the next run from now: a job disabled for a week does not run at once."""
    job = await service.require_job(name)
    moment = now()
    next_run = None
    if enabled and not job.enabled:
        next_run = _ts(parse_schedule(job.schedule).next_after(moment, tz))
    await service.update_job(name, _ts(moment), enabled=enabled, next_run_at=next_run)
    return await service.require_job(name)


async def edit_job(service: RouterService, name: str, schedule: Schedule | str, *, kind: str, prompt: str,
                   task: str, profile: str | None, now: Clock = utc_now, tz: tzinfo | None = None) -> Job:
    """Give job NAME a new definition (checked as `add_job` checks one). A new schedule counts its next
    run from now; the same schedule keeps the next run it had."""
    job = await service.require_job(name)
    spec = parse_schedule(schedule) if isinstance(schedule, str) else schedule
    fields = validate_job(name, kind, prompt, task, profile)
    del fields["name"]
    moment = now()
    changed = spec.text != job.schedule
    await service.update_job(name, _ts(moment), definition={**fields, "schedule": spec.text},
                             next_run_at=_ts(spec.next_after(moment, tz)) if changed and job.enabled else None)
    return await service.require_job(name)


async def lease_status(service: RouterService, now: Clock = utc_now) -> dict[str, Any] | None:
    """Who holds the scheduler lease, or None when nobody does (expired counts as nobody)."""
    lease = await service.lease()
    if lease is None or lease.expires_at <= now():
        return None
    return {"holder": lease.holder, "since": iso(lease.acquired_at), "expires_at": iso(lease.expires_at)}


def profile_providers(profile_chains: list[str], registry: Any, configured: frozenset[str]) -> list[str]:
    """The configured providers that serve any of these model names, in the registry's provider order."""
    found = {m.provider for name in profile_chains for m in registry.resolve(name)}
    return [p for p in PROVIDERS if p in found and p in configured]


# other runners' heartbeats ------------------------------------------------------------------------


@dataclass
class _Watch:
    counter: int
    holder: str | None
    since: float  # our monotonic time when this counter was first seen
    renew_s: float


class Watches:
    """Other runners' heartbeat counters as this process has seen them, timed by its own monotonic
    clock (which a wall-clock jump does not move). Keys: "lease", a job id, or ("job", name)."""

    def __init__(self, monotonic: Callable[[], float], default_renew_s: float):
        self.monotonic = monotonic
        self.default_renew_s = default_renew_s
        self._seen: dict[Any, _Watch] = {}
        self.moved = False  # some watched counter moved: its owner is alive

    def see(self, key: Any, beat: Beat) -> bool:
        """Note the counter now seen; False (and the watch starts over) when it moved since last time."""
        renew_s = min(max(beat.renew_s or self.default_renew_s, 0.01), 3600.0)
        seen = self._seen.get(key)
        if seen is not None and (seen.counter, seen.holder) == (beat.counter, beat.holder):
            return True
        self._seen[key] = _Watch(beat.counter, beat.holder, self.monotonic(), renew_s)
        self.moved = self.moved or seen is not None
        return seen is None

    def stale(self, key: Any) -> int | None:
        """The counter, if it has stood still for STALE_ROUNDS of its owner's renew intervals."""
        seen = self._seen.get(key)
        if seen is None or self.monotonic() - seen.since < STALE_ROUNDS * seen.renew_s:
            return None
        return seen.counter

    def counter(self, key: Any) -> int | None:
        seen = self._seen.get(key)
        return seen.counter if seen else None

    def stale_holder(self, key: Any) -> tuple[str, int] | None:
        """(holder, counter) of a stale watch."""
        counter = self.stale(key)
        seen = self._seen.get(key)
        return (seen.holder or "", counter) if counter is not None and seen is not None else None

    def forget(self, key: Any) -> None:
        self._seen.pop(key, None)

    def stale_jobs(self) -> dict[int, int]:
        return {key: counter for key in self._seen if isinstance(key, int)
                if (counter := self.stale(key)) is not None}

    def keep_jobs(self, job_ids: Iterable[int]) -> None:
        """Forget the jobs no longer suspect (they finished, or their owner renewed into the future)."""
        keep = set(job_ids)
        for key in [k for k in self._seen if isinstance(k, int) and k not in keep]:
            del self._seen[key]

    def next_due(self) -> float | None:
        """Seconds until the soonest watch could be called stale; None when nothing is watched."""
        if not self._seen:
            return None
        now = self.monotonic()
        return max(0.0, min(w.since + STALE_ROUNDS * w.renew_s - now for w in self._seen.values()))


# running ---------------------------------------------------------------------------------------


class Scheduler:
    """Runs due jobs for one process. `role` names it in the lease holder id ("scheduler", "app", "cli")."""

    def __init__(self, service: RouterService, engine: Engine | None = None, *, now: Clock = utc_now,
                 tz: tzinfo | None = None, role: str = "scheduler", lease_ttl: float = LEASE_TTL_S,
                 heartbeat_timeout: float = HEARTBEAT_TIMEOUT_S, keepalive_s: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic):
        self.service = service
        self._engine = engine
        self._own_engine = engine is None
        self.now = now
        self.tz = tz
        self.lease_ttl = lease_ttl
        self.heartbeat_timeout = heartbeat_timeout
        self.keepalive_s = keepalive_s if keepalive_s is not None else lease_ttl / 3
        # The longest this process goes between renewals (the lease is also renewed at every poll, at
        # most a third of its life): what a watcher waits STALE_ROUNDS of before calling it gone.
        self.renew_s = max(self.keepalive_s, lease_ttl / 3)
        self.watches = Watches(monotonic, self.renew_s)
        self.holder = f"{role}:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.holding = False
        self._finishing: set[asyncio.Task[Any]] = set()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from .engine import Engine

            self._engine = Engine(self.service)
        return self._engine

    async def aclose(self) -> None:
        await self.release()
        if self._own_engine and self._engine is not None:
            await self._engine.aclose()

    # the lease -----------------------------------------------------------------------------------

    async def take_lease(self) -> bool:
        """Take or renew the lease. Another holder's lease that looks expired is watched, and taken
        only once its heartbeat counter has stood still long enough (a live holder keeps it moving)."""
        moment = _ts(self.now())
        held, lease = await self.service.take_lease(self.holder, moment, self.lease_ttl, self.renew_s,
                                                    self.watches.stale_holder("lease"))
        self.holding = held
        if not held and lease is not None and _ts(lease.expires_at) <= moment:
            self.watches.see("lease", Beat(lease.beat, lease.renew_s, lease.holder))
        else:
            self.watches.forget("lease")
        return held

    async def release(self) -> None:
        if self._finishing:  # a run interrupted at shutdown is still writing its result
            await asyncio.gather(*self._finishing, return_exceptions=True)
        if self.holding:
            await self.service.release_lease(self.holder)
            self.holding = False

    async def tick(self, *, keep_lease: bool = False, stop: asyncio.Event | None = None,
                   on_run: Callable[[Job, JobRun | None], Any] | None = None) -> list[JobRun]:
        """Run every due job, one after the other, if this process can take the lease; [] if it cannot.

        keep_lease=False (the app) lets the lease go afterwards so a dedicated scheduler can take over;
        stop (set by a signal) stops claiming further jobs. on_run(job, None) is called when a job
        starts, on_run(job, run) when it ends.
        """
        if not await self.take_lease():
            if self.watches.counter("lease") is not None:  # its holder may be gone: watch its claims meanwhile
                await self._watch_claims(await self.service.expired_claims(_ts(self.now())))
            return []
        runs: list[JobRun] = []
        try:
            while stop is None or not stop.is_set():
                claim, suspects = await self.service.claim_due_job(
                    self.holder, _ts(self.now()), self.lease_ttl, self.renew_s, self.watches.stale_jobs())
                if claim is None:
                    await self._watch_claims(suspects)
                    break
                for job_id, beat in suspects.items():
                    self.watches.see(job_id, beat)
                self.watches.forget(claim.job.id)
                runs.append(await self._execute(claim, "schedule", on_run=on_run))
        finally:
            if not keep_lease:
                await self.release()
        return runs

    async def _watch_claims(self, suspects: dict[int, Beat]) -> None:
        """Watch every expired-looking claim there is now, and forget the rest."""
        for job_id, beat in suspects.items():
            self.watches.see(job_id, beat)
        self.watches.keep_jobs(suspects)

    async def run_now(self, name: str, *, on_delta: Callable[[str], Any] | None = None,
                      on_wait: Callable[[str], Any] | None = None) -> JobRun:
        """Run one job now, whatever its schedule, without moving its next run. Refused while it runs.

        A claim that looks expired (its runner may have died) is watched first: taken over once its
        heartbeat counter has stood still for STALE_ROUNDS renew intervals, refused if it moves.
        on_wait(message) says why the run waits."""
        key = ("job", name)
        while True:
            answer = await self.service.claim_job(name, self.holder, _ts(self.now()), self.lease_ttl,
                                                  self.renew_s, steal_beat=self.watches.stale(key))
            if isinstance(answer, Claim):
                self.watches.forget(key)
                return await self._execute(answer, "manual", on_delta=on_delta)
            job = answer.job
            since = iso(job.running_since)
            if not answer.expired or not self.watches.see(key, answer.beat):
                self.watches.forget(key)
                raise MesoclawFailure(f"job '{name}' is already running (since {since}, by {job.claimed_by})")
            if on_wait is not None and self.watches.stale(key) is None:
                wait = self.watches.next_due() or 0.0
                _call(on_wait, f"job '{name}' is still claimed by {job.claimed_by} (since {since}) but its claim "
                               f"has expired; making sure that runner is gone ({wait:.0f} s)")
            await asyncio.sleep(min(self.watches.next_due() or 0.0, self.renew_s) + 0.01)

    async def run_forever(self, stop: asyncio.Event, *, once: bool = False, poll: float = 15.0,
                          grace: float = 8.0, force: asyncio.Event | None = None,
                          on_run: Callable[[Job, JobRun | None], Any] | None = None,
                          on_standby: Callable[[dict[str, Any] | None], Any] | None = None,
                          on_error: Callable[[Exception], Any] | None = None,
                          on_lease: Callable[[], Any] | None = None) -> list[JobRun]:
        """The foreground scheduler. When `stop` is set, no new job starts and the running one has
        `grace` seconds (or until `force` is set) to finish before it is cancelled and marked interrupted.
        A failure outside a job (a busy, full or damaged database) is reported to on_error and retried at
        the next poll instead of ending the scheduler (with once=True it is raised). With once=True, a
        lease or claim left by a runner that looks gone is watched until it can be taken over. After
        standing by (on_standby), on_lease is called once this scheduler holds the lease."""
        force = force or asyncio.Event()
        poll = max(0.05, min(poll, self.lease_ttl / 3))  # renew the lease well before it expires
        runs: list[JobRun] = []
        standby_said = False
        try:
            while not stop.is_set():
                tick = await self._tick_within_grace(stop, force, grace, on_run)
                if tick.cancelled():
                    break
                error = tick.exception()
                wait = poll
                if error is not None and (once or not isinstance(error, Exception)):
                    raise error
                if error is not None:
                    if on_error is not None:
                        _call(on_error, error)
                else:
                    runs.extend(tick.result())
                    watching = self.watches.next_due()
                    if stop.is_set() or (once and (watching is None or self.watches.moved)):
                        break
                    if not self.holding and on_standby is not None and not standby_said and not once:
                        _call(on_standby, await lease_status(self.service, self.now))
                    if self.holding and standby_said and on_lease is not None:
                        _call(on_lease)
                    standby_said = not self.holding
                    wait = await self._wait_after_tick(poll, watching, once)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            await self.release()
        return runs

    async def _tick_within_grace(self, stop: asyncio.Event, force: asyncio.Event, grace: float,
                                 on_run: Callable[[Job, JobRun | None], Any] | None) -> asyncio.Task[list[JobRun]]:
        """One tick; once `stop` is set it gets `grace` seconds (or until `force`) before it is cancelled."""
        tick = asyncio.create_task(self.tick(keep_lease=True, stop=stop, on_run=on_run))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({tick, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not tick.done():
            forced = asyncio.create_task(force.wait())
            await asyncio.wait({tick, forced}, timeout=grace, return_when=asyncio.FIRST_COMPLETED)
            forced.cancel()
            if not tick.done():
                tick.cancel()
            await asyncio.gather(tick, return_exceptions=True)
        stopping.cancel()
        return tick

    async def _wait_after_tick(self, poll: float, watching: float | None, once: bool) -> float:
        """How long to sleep: until the next due job (at most `poll`), or until a watch can end."""
        wait = poll
        next_due = await self.service.next_due_at(_ts(self.now()))
        if next_due is not None and self.holding:
            wait = min(poll, max(0.05, next_due - _ts(self.now())))
        if watching is not None:
            wait = min(wait, watching + 0.01) if not once else watching + 0.01
        return wait

    # one run -------------------------------------------------------------------------------------

    async def _execute(self, claim: Claim, trigger: str, *,
                       on_run: Callable[[Job, JobRun | None], Any] | None = None,
                       on_delta: Callable[[str], Any] | None = None) -> JobRun:
        """Run a claimed job. Whatever the job raises, the run ends recorded (failed, with the reason)
        and the scheduler goes on; only a cancellation (the scheduler stopping) propagates."""
        job = claim.job
        if on_run is not None:
            _call(on_run, job, None)
        keepalive = asyncio.create_task(self._keepalive())
        chunks: list[str] = []
        try:
            if job.kind == "heartbeat":
                result = await self._heartbeat(job)
            elif job.kind == "agent":
                from .agent.scheduled import run_agent_job

                result = await run_agent_job(self.service, self.engine, job, on_delta, chunks)
            else:
                result = await self._prompt(job, chunks, on_delta)
        except asyncio.CancelledError:
            result = RunResult("interrupted", "".join(chunks), "the scheduler stopped before the run finished")
            interrupted = await self._finish(claim, trigger, result)
            if on_run is not None:
                _call(on_run, job, interrupted)
            raise
        except MesoclawError as exc:
            result = RunResult("failed", error=self._scrub(str(exc)))
        except Exception as exc:  # a job must never take the scheduler down; the run says what happened
            log.warning("job %s failed", job.name, exc_info=True)
            result = RunResult("failed", "".join(chunks), self._scrub(f"{type(exc).__name__}: {exc}"))
        finally:
            keepalive.cancel()
        run = await self._finish(claim, trigger, result)
        if on_run is not None:
            _call(on_run, job, run)
        return run

    def _scrub(self, text: str) -> str:
        """An error's text as it may be stored and shown: no key, no password inside a URL."""
        return self.service.settings.scrub(text)

    async def _finish(self, claim: Claim, trigger: str, result: RunResult) -> JobRun:
        """Write the result. Shielded, so a second cancellation (a second SIGTERM) cannot lose it."""
        task = asyncio.create_task(self._write_result_or_less(claim, trigger, result))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return await asyncio.shield(task)

    async def _write_result_or_less(self, claim: Claim, trigger: str, result: RunResult) -> JobRun:
        """The result; if it cannot be saved (a full disk, say), the run as failed without its output,
        which needs less room; if even that fails, the run as it ended, unsaved: its claim expires and
        the next runner marks it interrupted, while this scheduler goes on."""
        try:
            return await self._write_result(claim, trigger, result)
        except Exception as exc:
            reason = f"the run's result could not be saved: {exc}"
            log.warning("job %s: %s", claim.job.name, reason)
            smaller = RunResult("failed", error=reason[:2000], task=result.task, profile=result.profile,
                                provider=result.provider, model=result.model, usage_id=result.usage_id)
            try:
                return await self._write_result(claim, trigger, smaller)
            except Exception as again:
                log.warning("job %s: not even its failure could be saved: %s", claim.job.name, again)
                return self._unsaved_run(claim, trigger, replace(smaller, output=result.output))

    def _unsaved_run(self, claim: Claim, trigger: str, result: RunResult) -> JobRun:
        job, moment = claim.job, self.now()
        return JobRun(claim.run_id, job.id, trigger, self.holder, job.running_since or moment, moment,
                      result.status, result.output, result.error, result.task, result.profile, result.provider,
                      result.model, json.loads(result.attempts or "[]"), result.input_tokens,
                      result.output_tokens, bool(result.estimated), result.cost_usd)

    async def _write_result(self, claim: Claim, trigger: str, result: RunResult) -> JobRun:
        job, moment = claim.job, self.now()
        next_run: float | None = None
        if trigger == "schedule" and result.status != "interrupted":  # interrupted: still due, runs again
            try:
                next_run = _ts(parse_schedule(job.schedule).next_after(moment, self.tz))
            except MesoclawError as exc:  # a hand-edited schedule: stop scheduling it, and say why
                await self.service.update_job(job.name, _ts(moment), enabled=False)
                result = replace(result, error=f"{result.error or ''} bad schedule: {exc}".strip())
        await self.service.finish_run(claim, self.holder, _ts(moment), result, next_run)
        run = await self.service.job_run(claim.run_id)
        return run if run is not None else self._unsaved_run(claim, trigger, result)  # removed while it ran

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_s)
            try:
                held = await self.service.renew_claims(self.holder, _ts(self.now()), self.lease_ttl,
                                                             lease=self.holding)
            except Exception:  # a busy database now must not kill the run; the next renewal retries
                continue
            self.holding = self.holding and held

    async def _prompt(self, job: Job, chunks: list[str], on_delta: Callable[[str], Any] | None) -> RunResult:
        from .engine import Delta, Turn

        def on_event(event: Any) -> None:
            if type(event) is Delta:
                chunks.append(event.text)
                if on_delta is not None:
                    on_delta(event.text)

        turn = Turn(job.prompt, source="job", persist=False, task=None if job.task == "auto" else job.task,
                    profile=job.profile)
        reply = await self.engine.run(turn, on_event)
        return RunResult(**{
            "status": RUN_STATUS[reply.failure], "output": reply.text, "error": reply.error,
            "task": reply.task.value if reply.task else None,
            "profile": reply.profile.value if reply.profile else None,
            "provider": reply.provider, "model": reply.model,
            "attempts": json.dumps([a.as_dict() for a in reply.attempts]),
            "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
            "estimated": int(reply.estimated), "cost_usd": reply.cost_usd,
            "usage_id": getattr(reply, "usage_id", None),
        })

    async def _heartbeat(self, job: Job) -> RunResult:
        """A live check of the providers the profile's chains use, recorded like `providers check`."""
        config = await self.service.get_router_config()
        profile = parse_profile(job.profile) if job.profile else config.profile
        names = [n for task in TaskType for n in chain_for(profile, task)]
        names += [fallback_for(profile), *config.task_overrides.values()]
        names += [n for chain in config.custom_routes.values() for n in chain]
        configured = self.service.settings.configured()
        providers = profile_providers(names, await self.service.registry(), configured)
        if not providers:
            message = no_provider_message() if not configured else (
                f"no configured provider serves a model of the {profile.value} profile's chains")
            return RunResult("failed", error=message, profile=profile.value)
        results = await self.service.check_providers(providers, timeout=self.heartbeat_timeout,
                                                     client=self.engine.client)
        failed = [r["provider"] for r in results if not r["ok"]]
        lines = [f"{r['provider']}: ok, {len(r['models'] or [])} models listed in {r['ms']} ms" if r["ok"]
                 else f"{r['provider']}: failed after {r['ms']} ms ({r['error']})" for r in results]
        return RunResult("failed" if failed else "ok", "\n".join(lines),
                         f"{len(failed)} of {len(results)} providers failed: {', '.join(failed)}" if failed else None,
                         profile=profile.value)


def _call(callback: Callable[..., Any], *args: Any) -> None:
    """A face's callback (printing a log line, say): its failure, a closed stdout for one, must not
    stop the scheduler or leave a run unrecorded."""
    try:
        callback(*args)
    except Exception:
        log.warning("a scheduler callback failed", exc_info=True)
