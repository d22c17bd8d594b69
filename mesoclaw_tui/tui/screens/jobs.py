"""Scheduled jobs in the app (ctrl+e): each job with its schedule, next run and last result; n adds
one, e edits it, space turns it on or off, r runs it now (the same run as `mesoclaw schedule run`),
enter shows its runs and their output, d deletes it. Everything goes through the scheduler module
and the service, as the CLI's `schedule` commands do; names, schedules, models, errors and output
are shown with their control characters made visible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from .. import format as fmt
from ..errors import guarded
from ..host import host
from ..safe import neutralise, safe_text
from .dialogs import Dialog

STATUS_STYLES = {"ok": "green", "failed": "red", "incomplete": "yellow", "interrupted": "yellow",
                 "running": "cyan"}
REFRESH_S = 2.0  # how often the open list looks again (a run elsewhere, the app's own scheduler)
EMPTY = ("No scheduled jobs yet: n adds one (or `mesoclaw schedule add standup --daily 09:00 \"plan my day\"`). "
         "Jobs run here while the app is open, unless `mesoclaw scheduler run` is running.")


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%a %d %b %H:%M") if moment else "-"


def _status(job: Any) -> str:
    return "running" if job.running else (job.last_status or "never run")


def job_line(job: Any) -> Text:
    """One line: the name, the schedule, the next run and the last result."""
    status = _status(job)
    line = Text.assemble((f"{job.name:<14}", "bold" if job.enabled else "dim"), " ",
                         (f"{job.describe_schedule()}", "" if job.enabled else "dim"), "  ")
    line.append(f"next {_when(job.next_run_at)}" if job.enabled else "disabled", "dim")
    line.append("  ")
    line.append(status, STATUS_STYLES.get(status, ""))
    return safe_text(line)


def run_summary(run: Any) -> Text:
    """A run's result in one line: status, when, who answered, time, tokens and cost."""
    text = Text()
    text.append(run.status, STATUS_STYLES.get(run.status, ""))
    text.append(f" {_when(run.started_at)} · {run.trigger}")
    if run.provider:
        text.append(f" · {run.provider}:{run.model}", "dim")
    if run.seconds is not None:
        text.append(f" · {run.seconds:.1f} s", "dim")
    tokens = fmt.tokens(run.input_tokens, run.output_tokens, run.estimated)
    if tokens:
        text.append(f" · {tokens} · {fmt.cost(run.cost_usd, run.estimated)}", "dim")
    return safe_text(text)


def job_details(job: Any) -> Text:
    """The selected job: its definition and its last run with the start of its output."""
    text = Text()
    text.append(f"{job.name}", "bold")
    text.append(f"  {job.kind} · {job.schedule} · task {job.task} · profile {job.profile or 'active'}", "dim")
    if job.kind == "prompt":
        text.append(f"\nprompt: {' '.join(job.prompt.split())}")
    run = job.last_run
    if run is None:
        text.append("\nnot run yet", "dim")
        return safe_text(text)
    text.append("\nlast run: ")
    text.append_text(run_summary(run))
    said = " ".join(((run.error if run.status != "ok" and run.error else run.output) or "").split())
    if said:
        text.append(f"\n{said[:300]}{'…' if len(said) > 300 else ''}", "italic")
    return safe_text(text)


class JobsDialog(Dialog):
    DEFAULT_CSS = """
    JobsDialog #jobs { height: auto; max-height: 8; }
    JobsDialog #details { height: auto; max-height: 7; margin: 1 0 0 0; }
    """
    BINDINGS = [
        Binding("n", "new", "New"),
        Binding("e", "edit", "Edit"),
        Binding("space", "toggle", "On/off"),
        Binding("r", "run", "Run now"),
        Binding("d,delete", "delete", "Delete"),
    ]

    def __init__(self, jobs: list[Any]) -> None:
        super().__init__()
        self.jobs = jobs
        self.running: set[str] = set()  # run from here, still going

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Scheduled jobs", classes="title")
            yield OptionList(id="jobs")
            with VerticalScroll(id="details"):
                yield Static(id="job-details", markup=False)
            yield Static(id="error", classes="error")
            yield Static("n new · e edit · space on/off · r run now · enter runs and output · d delete · esc",
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one("#error").display = False
        self._show(self.jobs)
        self.query_one("#jobs", OptionList).focus()
        self.set_interval(REFRESH_S, self._refresh)

    # the list ---------------------------------------------------------------------------------------

    def _show(self, jobs: list[Any], keep: str | None = None) -> None:
        options = self.query_one("#jobs", OptionList)
        chosen = keep or self.selected_name()
        self.jobs = jobs
        options.set_options([Option(job_line(job), id=job.name) for job in jobs])
        names = [job.name for job in jobs]
        if names:
            options.highlighted = names.index(chosen) if chosen in names else 0
        self._details()

    def selected_name(self) -> str | None:
        options = self.query_one("#jobs", OptionList)
        if options.highlighted is None or not options.option_count:
            return None
        return options.get_option_at_index(options.highlighted).id

    def selected(self) -> Any:
        name = self.selected_name()
        return next((job for job in self.jobs if job.name == name), None)

    @on(OptionList.OptionHighlighted, "#jobs")
    def _details(self) -> None:
        job = self.selected()
        box = self.query_one("#job-details", Static)
        if job is None:
            box.update(EMPTY)
        elif job.name in self.running:
            box.update(Text.assemble(job_details(job), ("\nrunning now…", "cyan")))
        else:
            box.update(job_details(job))

    async def _refresh(self, keep: str | None = None) -> None:
        from ...scheduler import list_jobs

        service = host(self).service
        if service is not None:
            self._show(await list_jobs(service), keep)

    # actions ------------------------------------------------------------------------------------------

    @work(group="dialog", exit_on_error=False)
    @guarded
    async def action_new(self) -> None:
        from .job_editor import JobEditor

        saved = await self.app.push_screen_wait(JobEditor(None))
        if saved is not None:
            await self._refresh(saved)

    @work(group="dialog", exit_on_error=False)
    @guarded
    async def action_edit(self) -> None:
        from .job_editor import JobEditor

        job = self.selected()
        if job is not None and await self.app.push_screen_wait(JobEditor(job)) is not None:
            await self._refresh(job.name)

    @work(group="dialog", exit_on_error=False)
    @guarded
    async def action_toggle(self) -> None:
        from ...scheduler import set_enabled

        job, service = self.selected(), await host(self).ready()
        if job is None or service is None:
            return
        changed = await set_enabled(service, job.name, not job.enabled)
        self.notify(f"{job.name}: {'on, next run ' + _when(changed.next_run_at) if changed.enabled else 'off'}",
                    timeout=3)
        await self._refresh(job.name)

    @work(group="dialog", exit_on_error=False)
    @guarded
    async def action_delete(self) -> None:
        from ...scheduler import remove_job
        from .dialogs import Confirm

        job, service = self.selected(), await host(self).ready()
        if job is None or service is None:
            return
        if await self.app.push_screen_wait(Confirm(f"Delete the job “{neutralise(job.name)}” and its runs?")):
            await remove_job(service, job.name)
            self.notify(f"Deleted the job {job.name}.", timeout=2)
            await self._refresh()

    @work(group="job-run", exit_on_error=False)
    @guarded
    async def action_run(self) -> None:
        """Run the job now through the scheduler, as `mesoclaw schedule run` does (its schedule is kept)."""
        from ...scheduler import Scheduler

        job, service = self.selected(), await host(self).ready()
        if job is None or service is None or job.name in self.running:
            return
        self.running.add(job.name)
        self._details()
        scheduler = Scheduler(service, host(self).engine, role="app")
        try:
            run = await scheduler.run_now(job.name)
        finally:
            self.running.discard(job.name)
            await scheduler.aclose()
        self.notify(f"{job.name}: {run.status}", title="Job run", severity="information" if run.status == "ok"
                    else "warning", timeout=4)
        if self.is_attached:
            await self._refresh(job.name)

    @on(OptionList.OptionSelected, "#jobs")
    def _open_runs(self) -> None:
        job = self.selected()
        if job is not None:
            self._runs(job.name)

    @work(group="dialog", exit_on_error=False)
    @guarded
    async def _runs(self, name: str) -> None:
        from ...scheduler import job_runs

        service = await host(self).ready()
        if service is not None:
            await self.app.push_screen_wait(JobRuns(name, await job_runs(service, name, 20)))


class JobRuns(Dialog):
    """A job's recent runs (newest first); ↑/↓ pick one, its whole output below."""

    DEFAULT_CSS = """
    JobRuns #runs { height: auto; max-height: 6; }
    JobRuns #output { height: auto; max-height: 12; margin: 1 0 0 0; border: round $primary 60%; }
    """

    def __init__(self, name: str, runs: list[Any]) -> None:
        super().__init__()
        self.job_name = name
        self.runs = runs

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(safe_text(f"Runs of {self.job_name}"), classes="title", markup=False)
            yield OptionList(*[Option(run_summary(run), id=str(run.id)) for run in self.runs], id="runs")
            with VerticalScroll(id="output"):
                yield Static(id="run-output", markup=False)
            yield Static("↑/↓ pick a run · esc back", classes="hint")

    def on_mount(self) -> None:
        runs = self.query_one("#runs", OptionList)
        if self.runs:
            runs.highlighted = 0
        else:
            self.query_one("#run-output", Static).update("No runs yet: r on the list runs it now.")
        runs.focus()

    @on(OptionList.OptionHighlighted, "#runs")
    def _show(self, event: OptionList.OptionHighlighted) -> None:
        run = next(r for r in self.runs if str(r.id) == event.option.id)
        text = Text()
        if run.error:
            text.append(f"{run.error}\n", fmt.colour("red"))
        text.append(run.output or ("(no output)" if not run.error else ""))
        self.query_one("#run-output", Static).update(safe_text(text))
