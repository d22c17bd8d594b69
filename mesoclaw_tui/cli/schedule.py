"""`mesoclaw schedule …` (manage jobs) and `mesoclaw scheduler …` (run the due ones)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Any

import click

from ..schedule_spec import from_options
from . import output as out
from .main import EXIT_FAILURE, EXIT_INTERRUPTED, ExitCode, json_option, run_with_service


def register(cli: click.Group) -> None:
    cli.add_command(schedule)
    cli.add_command(scheduler)


# formatting -------------------------------------------------------------------------------------------


def _ago(moment: datetime, now: datetime) -> str:
    seconds = int((moment - now).total_seconds())
    future, seconds = seconds > 0, abs(seconds)
    if seconds < 60:
        span = f"{seconds}s"
    elif seconds < 3600:
        span = f"{seconds // 60}m"
    elif seconds < 86_400:
        span = f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    else:
        span = f"{seconds // 86_400}d{seconds % 86_400 // 3600}h"
    return f"in {span}" if future else f"{span} ago"


def when(moment: datetime | None, now: datetime | None = None) -> str:
    """A local wall-clock time and how far it is, e.g. '2025-01-06 09:00 (in 2h05m)'."""
    if moment is None:
        return "-"
    now = now or datetime.now(UTC)
    return f"{moment.astimezone():%Y-%m-%d %H:%M} ({_ago(moment, now)})"


def _status(value: str | None) -> Any:
    if value is None:
        return "-"
    style = {"ok": "green", "failed": "red", "interrupted": "yellow", "incomplete": "yellow",
             "running": "cyan"}.get(value)
    return out.styled(value, style or "")


def _answered(run: Any) -> str:
    return f"{run.provider}:{run.model}" if run.provider else "-"


def _summary(run: Any) -> str:
    parts = [run.status]
    if run.provider:
        parts.append(_answered(run))
    if run.seconds is not None:
        parts.append(f"{run.seconds:.1f} s")
    if run.input_tokens is not None or run.output_tokens is not None:
        parts.append(f"{run.input_tokens or 0}+{run.output_tokens or 0} tokens"
                     + (" (estimated)" if run.estimated else ""))
    if run.cost_usd is not None:
        parts.append(out.usd(run.cost_usd))
    text = ", ".join(parts)
    return f"{text}: {run.error}" if run.error else text


# schedule ---------------------------------------------------------------------------------------------


@click.group()
def schedule() -> None:
    """Scheduled jobs: a prompt through the router, or a heartbeat check of the providers.

    Daily, weekly and cron times are local times. `mesoclaw scheduler run` (or the app, while it is
    open) runs the jobs that are due.
    """


@schedule.command("add")
@click.argument("name")
@click.argument("prompt", nargs=-1)
@click.option("--every", metavar="INTERVAL", help="Every 15m, 2h, 1d … (counted from the end of the last run).")
@click.option("--daily", metavar="HH:MM", help="Every day at this local time.")
@click.option("--weekly", metavar="'DAY HH:MM'", help="Every week, e.g. 'mon 09:00' or 'mon,thu 09:00'.")
@click.option("--cron", metavar="'M H DOM MON DOW'", help="A 5-field cron expression, in local time.")
@click.option("--task", default="auto", show_default=True,
              help="auto (classify the prompt), code, general, fast, creative or analysis.")
@click.option("--profile", help="eco, balanced or premium (default: the active profile when it runs).")
@click.option("--kind", default="prompt", show_default=True,
              help="prompt, heartbeat, or agent (PROMPT is the goal of a tool-using run in this directory).")
@click.option("--allow", "allow", multiple=True, metavar="TOOL",
              help="agent: a tool the run may use (repeatable; nobody is asked, so nothing else that writes "
                   "or runs is allowed): write_file, edit_file, run_command, NAME.tool or NAME.* of an MCP server.")
@click.option("--max-steps", type=click.IntRange(1, 1000), help="agent: most steps a run takes.")
@click.option("--max-cost", type=click.FloatRange(min=0, min_open=True), metavar="USD",
              help="agent: most a run may spend.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="agent: wall-clock limit of a run (default: [agent] timeout, else 600).")
@click.option("--disabled", is_flag=True, help="Add it disabled.")
@json_option
@click.pass_context
def add(ctx: click.Context, name: str, prompt: tuple[str, ...], every: str | None, daily: str | None,
        weekly: str | None, cron: str | None, task: str, profile: str | None, kind: str, allow: tuple[str, ...],
        max_steps: int | None, max_cost: float | None, timeout: float | None, disabled: bool,
        as_json: bool) -> None:
    """Add job NAME running PROMPT (`-` reads it from stdin) on a schedule.

    An agent job (--kind agent) works in the directory it was added from, with the read tools and
    only the tools --allow names (and config's [agent] allow_tools and allow_commands): a scheduled
    run never asks, so any other write, command or MCP tool is denied and the model told so.
    """
    from ..scheduler import add_job, validate_job

    text = " ".join(prompt)
    if text == "-":
        text = sys.stdin.read()
    spec = from_options(every, daily, weekly, cron)
    validate_job(name, kind, text, task, profile)  # before the database is opened: bad input changes nothing
    agent = _agent_settings(ctx, kind, allow, max_steps, max_cost, timeout)
    job = run_with_service(ctx, lambda s: add_job(s, name, spec, kind=kind, prompt=text, task=task,
                                                  profile=profile, enabled=not disabled, agent=agent))
    if as_json:
        out.emit_json(job.as_dict())
        return
    next_run = when(job.next_run_at) if job.enabled else "disabled"
    out.console().print(out.markup("added {} job [bold]{}[/]: {}, next run {}", job.kind, job.name, job.schedule,
                                   next_run))


def _agent_settings(ctx: click.Context, kind: str, allow: tuple[str, ...], max_steps: int | None,
                    max_cost: float | None, timeout: float | None) -> Any:
    """An agent job's settings, checked (its --allow names against config); None for other kinds."""
    from ..core.types import MesoclawError

    if kind.strip().lower() != "agent":
        if allow or max_steps or max_cost or timeout:
            raise MesoclawError("--allow, --max-steps, --max-cost and --timeout are for --kind agent")
        return None
    import os

    from ..agent.config import load_agent_settings
    from ..agent.scheduled import check_allow, job_settings
    from ..settings import resolve_paths

    check_allow(allow, load_agent_settings(resolve_paths(ctx.find_root().params.get("db"))))
    return job_settings(os.getcwd(), allow, max_steps, max_cost, timeout)


@schedule.command("list")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """Every job with its next run and its last result."""
    from ..scheduler import list_jobs

    jobs = run_with_service(ctx, list_jobs)
    if as_json:
        out.emit_json([j.as_dict() for j in jobs])
        return
    if not jobs:
        out.console().print("no jobs; add one with `mesoclaw schedule add NAME --every 1h \"PROMPT\"`")
        return
    now = datetime.now(UTC)
    t = out.table("name", "kind", "schedule", "task", "profile", "next run", "last run", "last result")
    for job in jobs:
        next_run = "running" if job.running else (when(job.next_run_at, now) if job.enabled else "disabled")
        last = job.last_run
        result = _status(job.last_status) + (f" {_answered(last)}" if last and last.provider else "")
        t.add_row(out.escape(job.name), job.kind, out.escape(job.schedule), job.task, job.profile or "active",
                  next_run, when(job.last_run_at, now), result)
    out.console().print(t)


@schedule.command("show")
@click.argument("name")
@click.option("--runs", "limit", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="How many recent runs.")
@json_option
@click.pass_context
def show(ctx: click.Context, name: str, limit: int, as_json: bool) -> None:
    """Job NAME, its recent runs, and the output of the latest one."""
    from ..scheduler import get_job, job_runs

    async def act(service: Any) -> tuple[Any, list[Any]]:
        return await get_job(service, name), await job_runs(service, name, limit)

    job, runs = run_with_service(ctx, act)
    if as_json:
        out.emit_json({**job.as_dict(), "runs": [r.as_dict() for r in runs]})
        return
    con = out.console()
    now = datetime.now(UTC)
    described = job.describe_schedule()
    explained = out.styled(f" ({described})", "dim") if described != job.schedule else ""
    con.print(out.markup("[bold]{}[/] ({}) {}", job.name, job.kind, job.schedule) + explained)
    if job.kind == "prompt":
        con.print(f"prompt: {out.escape(job.prompt)}")
    _show_agent(con, job)
    con.print(f"task: {job.task}  profile: {job.profile or 'active'}  enabled: {out.mark(job.enabled)}")
    state = f"running since {when(job.running_since, now)}" if job.running else (
        when(job.next_run_at, now) if job.enabled else "disabled")
    con.print(f"next run: {state}")
    if not runs:
        con.print("no runs yet")
        return
    t = out.table("started", "trigger", "result", "answered by", "time", "tokens", "cost")
    for run in runs:
        tokens = "-" if run.input_tokens is None else f"{run.input_tokens}+{run.output_tokens or 0}"
        t.add_row(when(run.started_at, now), run.trigger, _status(run.status), _answered(run),
                  f"{run.seconds:.1f} s" if run.seconds is not None else "-", tokens, out.usd(run.cost_usd))
    con.print(t)
    latest = runs[0]
    if latest.error:
        con.print(out.markup("[red]error:[/] {}", latest.error))
    if latest.output:
        con.print("latest output:")
        con.print(out.escape(latest.output), soft_wrap=True)


def _show_agent(con: Any, job: Any) -> None:
    """An agent job's goal, directory, allowlist and limits."""
    if job.agent is None:
        return
    settings = job.agent
    con.print(f"goal: {out.escape(job.prompt)}")
    limits = ", ".join(f"{name} {value}" for name, value in (
        ("max steps", settings.max_steps), ("max cost", settings.max_cost), ("timeout", settings.timeout))
        if value is not None)
    con.print(f"in: {out.escape(settings.cwd)}  allowed: {out.escape(', '.join(settings.allow) or 'reads only')}"
              + (f"  limits: {limits}" if limits else ""))


@schedule.command("rm")
@click.argument("name")
@json_option
@click.pass_context
def rm(ctx: click.Context, name: str, as_json: bool) -> None:
    """Remove job NAME and its runs."""
    from ..scheduler import remove_job

    run_with_service(ctx, lambda s: remove_job(s, name))
    if as_json:
        out.emit_json({"removed": name})
    else:
        out.console().print(f"removed job {out.escape(name)}")


def _toggle(ctx: click.Context, name: str, enabled: bool, as_json: bool) -> None:
    from ..scheduler import set_enabled

    job = run_with_service(ctx, lambda s: set_enabled(s, name, enabled))
    if as_json:
        out.emit_json(job.as_dict())
    elif enabled:
        out.console().print(f"enabled job {out.escape(name)}: next run {when(job.next_run_at)}")
    else:
        out.console().print(f"disabled job {out.escape(name)}")


@schedule.command("enable")
@click.argument("name")
@json_option
@click.pass_context
def enable(ctx: click.Context, name: str, as_json: bool) -> None:
    """Enable job NAME (its next run is counted from now)."""
    _toggle(ctx, name, True, as_json)


@schedule.command("disable")
@click.argument("name")
@json_option
@click.pass_context
def disable(ctx: click.Context, name: str, as_json: bool) -> None:
    """Disable job NAME (it stays listed and can still be run by hand)."""
    _toggle(ctx, name, False, as_json)


@schedule.command("run")
@click.argument("name")
@json_option
@click.pass_context
def run(ctx: click.Context, name: str, as_json: bool) -> None:
    """Run job NAME now, streaming its output; its schedule is unchanged. Exit 1 if the run failed."""
    from ..scheduler import Scheduler

    streamed: list[str] = []

    def on_delta(text: str) -> None:
        streamed.append(text)
        if not as_json:
            out.write(text)
            sys.stdout.flush()

    async def act(service: Any) -> Any:
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        try:  # SIGTERM stops the run like Ctrl+C does: recorded as interrupted, never left "running"
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        except (NotImplementedError, RuntimeError):
            pass
        scheduler = Scheduler(service, role="cli")
        try:
            return await scheduler.run_now(name, on_delta=on_delta,
                                           on_wait=lambda message: out.echo(f"mesoclaw: {message}", err=True))
        except asyncio.CancelledError:
            if streamed and not as_json:
                out.write("\n")
            raise ExitCode(EXIT_INTERRUPTED, f"job {name}: interrupted (recorded as such)") from None
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            await scheduler.aclose()

    result = run_with_service(ctx, act)
    if as_json:
        out.emit_json(result.as_dict())
    else:
        if streamed:
            out.write("\n")
        elif result.output:
            out.write(result.output.rstrip("\n") + "\n")
        sys.stdout.flush()
        out.echo(f"job {name}: {_summary(result)}", err=True)
    if result.status != "ok":
        raise ExitCode(EXIT_FAILURE)


# scheduler ----------------------------------------------------------------------------------------------


@click.group()
def scheduler() -> None:
    """The process that runs due jobs (one at a time across the machine, by a lease in the database)."""


@scheduler.command("run")
@click.option("--once", is_flag=True, help="Run what is due now and exit (for a cron line).")
@click.option("--poll", default=15.0, show_default=True, type=click.FloatRange(0.05, 20.0),
              help="Seconds between looks at the jobs when none is due sooner.")
@click.option("--grace", default=8.0, show_default=True, type=click.FloatRange(0.0, 3600.0),
              help="On SIGTERM/Ctrl+C, seconds the running job gets to finish before it is marked interrupted.")
@json_option
@click.pass_context
def scheduler_run(ctx: click.Context, once: bool, poll: float, grace: float, as_json: bool) -> None:
    """Run due jobs in the foreground until SIGTERM or Ctrl+C (a second one stops at once).

    Missed runs (the machine slept) run once. If another scheduler holds the lease this one stands
    by and takes over when it stops; with --once it exits quietly. It says when it starts (not with
    --once), when it stands by and when it takes the lease over, and each run; with --json, as JSON
    lines: one object per event, its "event" one of started, standby, lease, run_started, run, error,
    stopping.
    """
    import asyncio
    import signal

    from ..scheduler import Scheduler

    events = SchedulerEvents(as_json, once, grace)

    async def act(service: Any) -> None:
        stop, force = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if stop.is_set():
                force.set()
            else:
                stop.set()
                events.stopping()

        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, on_signal)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # Windows: Ctrl+C still interrupts
                pass
        runner = Scheduler(service)
        try:
            await events.started(service)
            await runner.run_forever(stop, once=once, poll=poll, grace=grace, force=force, on_run=events.run,
                                     on_standby=events.standby, on_error=events.error, on_lease=events.lease)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await runner.aclose()

    run_with_service(ctx, act)


class SchedulerEvents:
    """What `scheduler run` says: timestamped lines (stdout; standing by and errors on stderr), or with
    --json one JSON object per line on stdout."""

    def __init__(self, as_json: bool, once: bool, grace: float) -> None:
        self.as_json, self.once, self.grace = as_json, once, grace
        self.holder: str | None = None  # the scheduler this one stood by for

    def _emit(self, event: str, line: str, *, err: bool = False, **fields: Any) -> None:
        if self.as_json:
            out.emit_json_line({"event": event, "at": datetime.now().astimezone().isoformat(timespec="seconds"),
                                **fields})
        elif err:
            out.echo(f"mesoclaw: {line}", err=True)
        else:
            out.echo(f"{datetime.now():%Y-%m-%d %H:%M:%S} {line}")

    async def started(self, service: Any) -> None:
        if self.once:
            return
        from ..scheduler import list_jobs

        jobs = [j for j in await list_jobs(service) if j.enabled]
        due = sorted((j for j in jobs if j.next_run_at), key=lambda j: j.next_run_at)
        nxt = f"next: {due[0].name} {when(due[0].next_run_at)}" if due else "none due"
        self._emit("started", f"scheduler started: {len(jobs)} enabled job{'' if len(jobs) == 1 else 's'}, "
                   f"{nxt} (Ctrl+C stops)", pid=os.getpid(), jobs=len(jobs),
                   next={"name": due[0].name, "at": due[0].as_dict()["next_run_at"]} if due else None)

    def standby(self, lease: dict[str, Any] | None) -> None:
        if self.once or lease is None:
            return
        self.holder = lease["holder"]
        self._emit("standby", f"another scheduler ({lease['holder']}) holds the lease; standing by", err=True,
                   holder=lease["holder"])

    def lease(self) -> None:
        if self.once:
            return
        before = self.holder or "another scheduler"
        self._emit("lease", f"took the lease over from {before}: running due jobs now", previous=self.holder)

    def run(self, job: Any, run: Any) -> None:
        if run is None:
            self._emit("run_started", f"job {job.name}: started", job=job.name)
        else:
            self._emit("run", f"job {job.name}: {_summary(run)}", job=job.name, run=run.as_dict())

    def error(self, exc: Exception) -> None:
        self._emit("error", f"{exc}; trying again shortly", err=True, error=str(exc))

    def stopping(self) -> None:
        if not self.once:
            self._emit("stopping", f"stopping (a running job gets {self.grace:g} s; signal again to stop now)",
                       err=True, grace_s=self.grace)


@scheduler.command("status")
@json_option
@click.pass_context
def scheduler_status(ctx: click.Context, as_json: bool) -> None:
    """Who holds the scheduler lease, and the next job due."""
    from ..scheduler import lease_status, list_jobs

    async def act(service: Any) -> tuple[Any, list[Any]]:
        return await lease_status(service), await list_jobs(service)

    lease, jobs = run_with_service(ctx, act)
    due = sorted((j for j in jobs if j.enabled and j.next_run_at), key=lambda j: j.next_run_at)
    running = [j.name for j in jobs if j.running]
    if as_json:
        out.emit_json({"lease": lease, "running": running,
                       "next": {"name": due[0].name, "at": due[0].as_dict()["next_run_at"]} if due else None})
        return
    con = out.console()
    con.print(f"lease: {lease['holder']} until {lease['expires_at']}" if lease else
              "lease: free (no scheduler is running; start one with `mesoclaw scheduler run`)")
    if running:
        con.print(f"running: {', '.join(running)}")
    con.print(f"next: {due[0].name} {when(due[0].next_run_at)}" if due else "next: no enabled job")
