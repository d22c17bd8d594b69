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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from .core.failures import FailureKind
from .core.profiles import chain_for, fallback_for
from .core.provider_info import PROVIDERS
from .core.types import MesoclawError, MesoclawFailure, TaskType, parse_profile
from .schedule_spec import Schedule, parse_schedule

if TYPE_CHECKING:
    from .engine import Engine
    from .service import RouterService

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
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


# the rows, as the app and the CLI see them ---------------------------------------------------------


@dataclass(frozen=True)
class JobRun:
    id: int
    job_id: int
    trigger: str  # schedule, manual
    runner: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str  # running, ok, incomplete, failed, interrupted
    output: str
    error: str | None
    task: str | None
    profile: str | None
    provider: str | None
    model: str | None
    attempts: list[dict[str, Any]]
    input_tokens: int | None
    output_tokens: int | None
    estimated: bool
    cost_usd: float | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> JobRun:
        try:
            attempts = json.loads(row["attempts"]) if row["attempts"] else []
        except ValueError:
            attempts = []
        return cls(row["id"], row["job_id"], row["trigger"], row["runner"], _dt(row["started_at"]),  # type: ignore[arg-type]
                   _dt(row["finished_at"]), row["status"], row["output"] or "", row["error"], row["task"],
                   row["profile"], row["provider"], row["model"], attempts, row["input_tokens"],
                   row["output_tokens"], bool(row["estimated"]), row["cost_usd"])

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "trigger": self.trigger, "runner": self.runner, "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at), "seconds": self.seconds, "status": self.status,
            "output": self.output, "error": self.error, "task": self.task, "profile": self.profile,
            "provider": self.provider, "model": self.model, "attempts": self.attempts,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                      "cost_usd": self.cost_usd, "estimated": self.estimated},
        }


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    kind: str
    prompt: str
    task: str  # a task type or "auto"
    profile: str | None  # None = the active profile at run time
    schedule: str
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_status: str | None
    running_since: datetime | None
    claimed_by: str | None
    created_at: datetime
    last_run: JobRun | None = field(default=None, compare=False)

    @classmethod
    def from_row(cls, row: dict[str, Any], last_run: dict[str, Any] | None = None) -> Job:
        return cls(row["id"], row["name"], row["kind"], row["prompt"], row["task"], row["profile"],
                   row["schedule"], bool(row["enabled"]), _dt(row["next_run_at"]), _dt(row["last_run_at"]),
                   row["last_status"], _dt(row["running_since"]), row["claimed_by"],
                   _dt(row["created_at"]),  # type: ignore[arg-type]
                   JobRun.from_row(last_run) if last_run else None)

    @property
    def running(self) -> bool:
        return self.running_since is not None

    def describe_schedule(self) -> str:
        try:
            return parse_schedule(self.schedule).describe()
        except MesoclawError:
            return self.schedule

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "prompt": self.prompt, "task": self.task,
            "profile": self.profile, "schedule": self.schedule, "enabled": self.enabled,
            "next_run_at": _iso(self.next_run_at) if self.enabled else None, "last_run_at": _iso(self.last_run_at),
            "last_status": self.last_status, "running_since": _iso(self.running_since),
            "claimed_by": self.claimed_by, "created_at": _iso(self.created_at),
            "last_run": self.last_run.as_dict() if self.last_run else None,
        }


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
    await service.store.create_job({**fields, "schedule": spec.text, "enabled": int(enabled),
                                    "next_run_at": _ts(spec.next_after(moment, tz))}, _ts(moment))
    return await get_job(service, name)


async def _require(service: RouterService, name: str) -> dict[str, Any]:
    row = await service.store.job(name)
    if row is None:
        names = await service.store.job_names()
        known = ", ".join(names) if names else "there are none; add one with `mesoclaw schedule add`"
        raise MesoclawError(f"no job named '{name}' (jobs: {known})")
    return row


async def get_job(service: RouterService, name: str) -> Job:
    row = await _require(service, name)
    runs = await service.store.job_runs(row["id"], limit=1)
    return Job.from_row(row, runs[0] if runs else None)


async def list_jobs(service: RouterService) -> list[Job]:
    """Every job, by name, with its latest run (which may still be running)."""
    latest = await service.store.latest_runs()
    return [Job.from_row(row, latest.get(row["id"])) for row in await service.store.jobs()]


async def job_runs(service: RouterService, name: str, limit: int = 10) -> list[JobRun]:
    row = await _require(service, name)
    return [JobRun.from_row(r) for r in await service.store.job_runs(row["id"], limit)]


async def remove_job(service: RouterService, name: str) -> None:
    await _require(service, name)
    await service.store.delete_job(name)


async def set_enabled(service: RouterService, name: str, enabled: bool, *, now: Clock = utc_now,
                      tz: tzinfo | None = None) -> Job:
    """Enabling counts the next run from now: a job disabled for a week does not run at once."""
    row = await _require(service, name)
    moment = now()
    fields: dict[str, Any] = {"enabled": int(enabled)}
    if enabled and not row["enabled"]:
        fields["next_run_at"] = _ts(parse_schedule(row["schedule"]).next_after(moment, tz))
    await service.store.update_job(name, _ts(moment), **fields)
    return await get_job(service, name)


async def lease_status(service: RouterService, now: Clock = utc_now) -> dict[str, Any] | None:
    """Who holds the scheduler lease, or None when nobody does (expired counts as nobody)."""
    lease = await service.store.lease()
    if lease is None or lease["expires_at"] <= _ts(now()):
        return None
    return {"holder": lease["holder"], "since": _iso(_dt(lease["acquired_at"])),
            "expires_at": _iso(_dt(lease["expires_at"]))}


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
        self.holding, _ = await self.service.store.take_lease(self.holder, _ts(self.now()), self.lease_ttl)
        return self.holding

    async def release(self) -> None:
        if self._finishing:  # a run interrupted at shutdown is still writing its result
            await asyncio.gather(*self._finishing, return_exceptions=True)
        if self.holding:
            await self.service.store.release_lease(self.holder)
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
                claimed = await self.service.store.claim_due_job(self.holder, _ts(self.now()), self.lease_ttl)
                if claimed is None:
                    break
                row, run_id = claimed
                runs.append(await self._execute(row, run_id, "schedule", on_run=on_run))
        finally:
            if not keep_lease:
                await self.release()
        return runs

    async def run_now(self, name: str, *, on_delta: Callable[[str], Any] | None = None) -> JobRun:
        """Run one job now, whatever its schedule, without moving its next run. Refused while it runs."""
        await _require(self.service, name)
        claimed = await self.service.store.claim_job(name, self.holder, _ts(self.now()), self.lease_ttl)
        if claimed is None:  # removed between the two reads
            raise MesoclawError(f"no job named '{name}'")
        if isinstance(claimed, dict):
            since = _dt(claimed["running_since"])
            raise MesoclawFailure(f"job '{name}' is already running (since {_iso(since)}, "
                                  f"by {claimed['claimed_by']})")
        row, run_id = claimed
        return await self._execute(row, run_id, "manual", on_delta=on_delta)

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
                    next_due = await self.service.store.next_due_at(_ts(self.now()))
                    if next_due is not None and self.holding:
                        wait = min(poll, max(0.05, next_due - _ts(self.now())))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            await self.release()
        return runs

    # one run -------------------------------------------------------------------------------------

    async def _execute(self, row: dict[str, Any], run_id: int, trigger: str, *,
                       on_run: Callable[[Job, JobRun | None], Any] | None = None,
                       on_delta: Callable[[str], Any] | None = None) -> JobRun:
        job = Job.from_row(row)
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
            result = {"status": "interrupted", "output": "".join(chunks),
                      "error": "the scheduler stopped before the run finished"}
            interrupted = await self._finish(job, run_id, trigger, result)
            if on_run is not None:
                on_run(job, interrupted)
            raise
        except MesoclawError as exc:
            result = {"status": "failed", "error": str(exc)}
        except Exception as exc:  # a job must never take the scheduler down; the run says what happened
            result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        finally:
            keepalive.cancel()
        run = await self._finish(job, run_id, trigger, result)
        if on_run is not None:
            on_run(job, run)
        return run

    async def _finish(self, job: Job, run_id: int, trigger: str, result: dict[str, Any]) -> JobRun:
        """Write the result. Shielded, so a second cancellation (a second SIGTERM) cannot lose it."""
        task = asyncio.create_task(self._write_result(job, run_id, trigger, result))
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return await asyncio.shield(task)

    async def _write_result(self, job: Job, run_id: int, trigger: str, result: dict[str, Any]) -> JobRun:
        moment = self.now()
        next_run: float | None = None
        if trigger == "schedule" and result["status"] != "interrupted":  # interrupted: still due, runs again
            try:
                next_run = _ts(parse_schedule(job.schedule).next_after(moment, self.tz))
            except MesoclawError as exc:  # a hand-edited schedule: stop scheduling it, and say why
                await self.service.store.update_job(job.name, _ts(moment), enabled=0)
                result = {**result, "error": f"{result.get('error') or ''} bad schedule: {exc}".strip()}
        await self.service.store.finish_run(run_id, job.id, self.holder, _ts(moment), result, next_run)
        runs = await self.service.store.job_runs(job.id, limit=1)
        row = next((r for r in runs if r["id"] == run_id), None)
        if row is None:  # the job was removed while it ran
            row = {"id": run_id, "job_id": job.id, "trigger": trigger, "runner": self.holder,
                   "started_at": _ts(job.running_since or moment), "finished_at": _ts(moment), "output": "",
                   "error": None, "task": None, "profile": None, "provider": None, "model": None,
                   "attempts": None, "input_tokens": None, "output_tokens": None, "estimated": 0,
                   "cost_usd": None, **result}
        return JobRun.from_row(row)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_s)
            try:
                held = await self.service.store.renew_claims(self.holder, _ts(self.now()), self.lease_ttl,
                                                             lease=self.holding)
            except Exception:  # a busy database now must not kill the run; the next renewal retries
                continue
            self.holding = self.holding and held

    async def _prompt(self, job: Job, chunks: list[str], on_delta: Callable[[str], Any] | None) -> dict[str, Any]:
        from .engine import Delta, Turn

        def on_event(event: Any) -> None:
            if type(event) is Delta:
                chunks.append(event.text)
                if on_delta is not None:
                    on_delta(event.text)

        turn = Turn(job.prompt, source="job", persist=False, task=None if job.task == "auto" else job.task,
                    profile=job.profile)
        reply = await self.engine.run(turn, on_event)
        return {
            "status": RUN_STATUS[reply.failure], "output": reply.text, "error": reply.error,
            "task": reply.task.value if reply.task else None,
            "profile": reply.profile.value if reply.profile else None,
            "provider": reply.provider, "model": reply.model,
            "attempts": json.dumps([a.as_dict() for a in reply.attempts]),
            "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
            "estimated": int(reply.estimated), "cost_usd": reply.cost_usd,
            "usage_id": getattr(reply, "usage_id", None),
        }

    async def _heartbeat(self, job: Job) -> dict[str, Any]:
        from .providers import ProviderError, list_models

        service = self.service
        config = await service.get_router_config()
        profile = parse_profile(job.profile) if job.profile else config.profile
        names = [n for task in TaskType for n in chain_for(profile, task)]
        names += [fallback_for(profile), *config.task_overrides.values()]
        names += [n for chain in config.custom_routes.values() for n in chain]
        registry = await service.registry()
        providers = profile_providers(names, registry, service.settings.configured())
        if not providers:
            from .engine import NoProviderConfigured

            message = str(NoProviderConfigured()) if not service.settings.configured() else (
                f"no configured provider serves a model of the {profile.value} profile's chains")
            return {"status": "failed", "profile": profile.value, "error": message}

        async def check(provider: str) -> tuple[str, bool, str]:
            started = time.perf_counter()
            try:
                listed = await list_models(self.engine.client, service.endpoint(provider),
                                           timeout=self.heartbeat_timeout)
            except ProviderError as exc:
                ms = int((time.perf_counter() - started) * 1000)
                await service.store.record_check(provider, False, f"{exc.kind}: {exc.message}", ms, None)
                return provider, False, f"{provider}: failed after {ms} ms ({exc.kind}: {exc.message})"
            ms = int((time.perf_counter() - started) * 1000)
            await service.store.record_check(provider, True, None, ms, [asdict(m) for m in listed])
            return provider, True, f"{provider}: ok, {len(listed)} models listed in {ms} ms"

        results = await asyncio.gather(*(check(p) for p in providers))
        failed = [p for p, ok, _ in results if not ok]
        return {
            "status": "failed" if failed else "ok", "profile": profile.value,
            "output": "\n".join(line for _, _, line in results),
            "error": f"{len(failed)} of {len(results)} providers failed: {', '.join(failed)}" if failed else None,
        }
