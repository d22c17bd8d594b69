"""Scheduled jobs: managing them, and running the ones that are due.

Two kinds of job: `prompt` (an agent turn through the engine, source "job", not saved as a
conversation) and `heartbeat` (a live check of the providers the profile's chains use, recorded like
`mesoclaw providers check` so it feeds availability and cooldowns). Every run is a `job_runs` row
from the moment it is claimed, so a run is never lost: it ends ok / incomplete / failed, or
interrupted (a stop that outlasted the grace period, or a runner that died: the next runner notices
its expired claim).

Who runs due jobs. One process at a time holds the scheduler lease (a database row with a holder id
and an expiry, renewed while the holder lives): `mesoclaw scheduler run` keeps it; the app takes it
for one `tick()` at a time and lets it go, so a dedicated scheduler started later takes over. On top
of the lease, each job is claimed in the same transaction that finds it due, so even two runners
that both think they hold the lease never start the same job twice.

Time. Every entry point takes `now: Callable[[], datetime]` (aware, UTC by default) so tests drive
the clock; daily, weekly and cron schedules are local wall-clock times (see schedule_spec). Missed
slots (the machine slept) run once: the next run is computed from the end of the run, not from the
slot that was due.

API for the app (all async, one RouterService):

    jobs = await list_jobs(service)              # Job rows with their latest run (JobRun) attached
    runs = await job_runs(service, name, 10)     # recent runs, newest first
    scheduler = Scheduler(service, engine, role="app")
    done = await scheduler.tick()                # runs due jobs if the lease is free; [] otherwise
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from .core.failures import FailureKind
from .core.profiles import chain_for, fallback_for
from .core.provider_info import PROVIDERS, no_provider_message
from .core.types import MesoclawError, TaskType, parse_profile
from .schedule_spec import Schedule, parse_schedule
from .service.job_records import Claim, Job, JobRun, RunResult, iso

if TYPE_CHECKING:
    from .engine import Engine
    from .service import RouterService

__all__ = ["Job", "JobRun", "Scheduler", "add_job", "get_job", "job_runs", "lease_status", "list_jobs",
           "remove_job", "set_enabled", "validate_job"]

Clock = Callable[[], datetime]
KINDS = ("prompt", "heartbeat")
TASK_CHOICES = ("auto", *(t.value for t in TaskType))
LEASE_TTL_S = 60.0
HEARTBEAT_TIMEOUT_S = 5.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# A job's reply -> its run's status.
RUN_STATUS: dict[FailureKind | None, str] = {
    None: "ok", FailureKind.INCOMPLETE: "incomplete", FailureKind.CANCELLED: "interrupted",
    FailureKind.NO_PROVIDER: "failed", FailureKind.NO_AVAILABLE_MODEL: "failed",
    FailureKind.CONTEXT_TOO_LARGE: "failed", FailureKind.BAD_REQUEST: "failed", FailureKind.ALL_FAILED: "failed",
    FailureKind.MISSING_CAPABILITY: "failed", FailureKind.REPLY_TOO_LARGE: "incomplete",
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
    if kind == "heartbeat" and prompt:
        raise MesoclawError("a heartbeat job takes no PROMPT: it checks the providers of the profile's chains")
    if kind == "heartbeat" and task != "auto":
        raise MesoclawError("a heartbeat job takes no --task: it checks every chain of the profile")
    return {"name": name, "kind": kind, "prompt": prompt, "task": task, "profile": profile_value}


async def add_job(service: RouterService, name: str, schedule: Schedule | str, *, kind: str = "prompt",
                  prompt: str = "", task: str = "auto", profile: str | None = None, enabled: bool = True,
                  now: Clock = utc_now, tz: tzinfo | None = None) -> Job:
    spec = parse_schedule(schedule) if isinstance(schedule, str) else schedule
    fields = validate_job(name, kind, prompt, task, profile)
    moment = now()
    return await service.create_job(**fields, schedule=spec.text, enabled=enabled,
                                    next_run_at=_ts(spec.next_after(moment, tz)), now=_ts(moment))


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


# running ---------------------------------------------------------------------------------------


class Scheduler:
    """Runs due jobs for one process. `role` names it in the lease holder id ("scheduler", "app", "cli")."""

    def __init__(self, service: RouterService, engine: Engine | None = None, *, now: Clock = utc_now,
                 tz: tzinfo | None = None, role: str = "scheduler", lease_ttl: float = LEASE_TTL_S,
                 heartbeat_timeout: float = HEARTBEAT_TIMEOUT_S, keepalive_s: float | None = None):
        self.service = service
        self._engine = engine
        self._own_engine = engine is None
        self.now = now
        self.tz = tz
        self.lease_ttl = lease_ttl
        self.heartbeat_timeout = heartbeat_timeout
        self.keepalive_s = keepalive_s if keepalive_s is not None else lease_ttl / 3
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
        self.holding = await self.service.take_lease(self.holder, _ts(self.now()), self.lease_ttl)
        return self.holding

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
            return []
        runs: list[JobRun] = []
        try:
            while stop is None or not stop.is_set():
                claim = await self.service.claim_due_job(self.holder, _ts(self.now()), self.lease_ttl)
                if claim is None:
                    break
                runs.append(await self._execute(claim, "schedule", on_run=on_run))
        finally:
            if not keep_lease:
                await self.release()
        return runs

    async def run_now(self, name: str, *, on_delta: Callable[[str], Any] | None = None) -> JobRun:
        """Run one job now, whatever its schedule, without moving its next run. Refused while it runs."""
        claim = await self.service.claim_job(name, self.holder, _ts(self.now()), self.lease_ttl)
        return await self._execute(claim, "manual", on_delta=on_delta)

    async def run_forever(self, stop: asyncio.Event, *, once: bool = False, poll: float = 15.0,
                          grace: float = 8.0, force: asyncio.Event | None = None,
                          on_run: Callable[[Job, JobRun | None], Any] | None = None,
                          on_standby: Callable[[dict[str, Any] | None], Any] | None = None,
                          on_error: Callable[[Exception], Any] | None = None) -> list[JobRun]:
        """The foreground scheduler. When `stop` is set, no new job starts and the running one has
        `grace` seconds (or until `force` is set) to finish before it is cancelled and marked interrupted.
        A busy or locked database (another process holding a long write) is reported to on_error and
        retried at the next poll instead of ending the scheduler (with once=True it is raised)."""
        force = force or asyncio.Event()
        poll = max(0.05, min(poll, self.lease_ttl / 3))  # renew the lease well before it expires
        runs: list[JobRun] = []
        standby_said = False
        try:
            while not stop.is_set():
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
                if tick.cancelled():
                    break
                error = tick.exception()
                wait = poll
                if isinstance(error, sqlite3.OperationalError) and not once:
                    if on_error is not None:
                        on_error(error)
                elif error is not None:
                    raise error
                else:
                    runs.extend(tick.result())
                    if once or stop.is_set():
                        break
                    if not self.holding and on_standby is not None and not standby_said:
                        on_standby(await lease_status(self.service, self.now))
                    standby_said = not self.holding
                    next_due = await self.service.next_due_at(_ts(self.now()))
                    if next_due is not None and self.holding:
                        wait = min(poll, max(0.05, next_due - _ts(self.now())))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            await self.release()
        return runs

    # one run -------------------------------------------------------------------------------------

    async def _execute(self, claim: Claim, trigger: str, *,
                       on_run: Callable[[Job, JobRun | None], Any] | None = None,
                       on_delta: Callable[[str], Any] | None = None) -> JobRun:
        job = claim.job
        if on_run is not None:
            on_run(job, None)
        keepalive = asyncio.create_task(self._keepalive())
        chunks: list[str] = []
        try:
            if job.kind == "heartbeat":
                result = await self._heartbeat(job)
            else:
                result = await self._prompt(job, chunks, on_delta)
        except asyncio.CancelledError:
            result = RunResult("interrupted", "".join(chunks), "the scheduler stopped before the run finished")
            interrupted = await self._finish(claim, trigger, result)
            if on_run is not None:
                on_run(job, interrupted)
            raise
        except MesoclawError as exc:
            result = RunResult("failed", error=str(exc))
        except Exception as exc:  # a job must never take the scheduler down; the run says what happened
            result = RunResult("failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            keepalive.cancel()
        run = await self._finish(claim, trigger, result)
        if on_run is not None:
            on_run(job, run)
        return run

    async def _finish(self, claim: Claim, trigger: str, result: RunResult) -> JobRun:
        """Write the result. Shielded, so a second cancellation (a second SIGTERM) cannot lose it."""
        task = asyncio.create_task(self._write_result(claim, trigger, result))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return await asyncio.shield(task)

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
        if run is None:  # the job was removed while it ran
            run = JobRun(claim.run_id, job.id, trigger, self.holder, job.running_since or moment, moment,
                         result.status, result.output, result.error, result.task, result.profile, result.provider,
                         result.model, json.loads(result.attempts or "[]"), result.input_tokens,
                         result.output_tokens, bool(result.estimated), result.cost_usd)
        return run

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
