"""Scheduled jobs as the app shows them: each job, its schedule, next run and last result."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from ..safe import safe_text
from .dialogs import Dialog

STATUS_STYLES = {"ok": "green", "failed": "red", "incomplete": "yellow", "interrupted": "yellow",
                 "running": "cyan"}


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%a %d %b %H:%M") if moment else "-"


def job_lines(jobs: list) -> Text:
    """One block per job: name, kind and schedule; next run; the last run's result and output."""
    if not jobs:
        return Text("No scheduled jobs. Add one from a shell:\n"
                    '  mesoclaw schedule add standup --daily 09:00 "plan my day"\n'
                    "Jobs run here while the app is open (unless `mesoclaw scheduler run` is running).")
    text = Text()
    for job in jobs:
        status = "running" if job.running else (job.last_status or "never run")
        text.append(f"{job.name}", "bold")
        text.append(f"  {job.kind} · {job.describe_schedule()}" + ("" if job.enabled else " · disabled"), "dim")
        text.append("\n  next ")
        text.append(_when(job.next_run_at) if job.enabled else "-")
        text.append("   last ")
        text.append(status, STATUS_STYLES.get(status, ""))
        run = job.last_run
        if run is not None:
            text.append(f" {_when(run.started_at)}")
            if run.provider:
                text.append(f" · {run.provider}:{run.model}", "dim")
            summary = (run.error if run.status != "ok" and run.error else run.output) or ""
            summary = " ".join(summary.split())
            if summary:
                text.append(f"\n  {summary[:140]}{'…' if len(summary) > 140 else ''}", "italic")
        text.append("\n\n")
    text.rstrip()
    return safe_text(text)  # names, schedules, models, errors and output: all may hold control characters


class JobsDialog(Dialog):
    """Read-only: jobs are added and changed with `mesoclaw schedule …` (see docs/schedule.md)."""

    def __init__(self, jobs: list) -> None:
        super().__init__()
        self.jobs = jobs

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Scheduled jobs", classes="title")
            with VerticalScroll(id="jobs"):
                yield Static(job_lines(self.jobs), id="job-list")
            yield Static("esc close · `mesoclaw schedule …` adds and changes jobs", classes="hint")

    DEFAULT_CSS = """
    JobsDialog #jobs { height: auto; max-height: 18; }
    """
