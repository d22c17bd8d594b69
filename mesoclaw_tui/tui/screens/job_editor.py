"""A scheduled job's form: name, kind, schedule, task, profile, prompt. Enter in any field saves;
the job is checked as `mesoclaw schedule add` checks it and a problem is shown in the form (nothing
is saved). Kind, task and profile suggest their choices as you type (→ takes one)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from ..host import host
from ..safe import neutralise
from ..widgets.fields import Field
from .dialogs import Dialog

SCHEDULES = "every 15m · daily 09:00 · weekly mon,thu 09:00 · cron */30 * * * *  (local time)"
FIELDS = ("name", "kind", "schedule", "task", "profile", "prompt")


class JobEditor(Dialog):
    """Dismissed with the saved job's name, or None."""

    DEFAULT_CSS = """
    JobEditor .row { height: 1; margin: 0 0 1 0; }
    JobEditor .label { width: 10; color: $text-muted; }
    JobEditor Input { width: 1fr; background: $boost; }
    """

    def __init__(self, job: Any | None) -> None:
        super().__init__()
        self.job = job

    def compose(self) -> ComposeResult:
        from ...scheduler import KINDS, TASK_CHOICES

        job = self.job
        values = {"name": job.name, "kind": job.kind, "schedule": job.schedule, "task": job.task,
                  "profile": job.profile or "", "prompt": job.prompt} if job else \
            {"name": "", "kind": "prompt", "schedule": "", "task": "auto", "profile": "", "prompt": ""}
        suggest = {"kind": KINDS, "task": TASK_CHOICES, "profile": ("eco", "balanced", "premium")}
        placeholder = {"name": "standup (letters, digits, . _ -)", "schedule": "daily 09:00",
                       "profile": "blank: the active profile when it runs",
                       "prompt": "what to ask (a heartbeat job has none)"}
        with Vertical(id="dialog"):
            yield Static(f"Edit the job {neutralise(job.name)}" if job else "New scheduled job", classes="title",
                         markup=False)
            for field in FIELDS:
                with Horizontal(classes="row"):
                    yield Static(field, classes="label")
                    yield Field(neutralise(values[field]), id=f"job-{field}", compact=True, placeholder=placeholder.get(field, ""),
                                disabled=field == "name" and job is not None,
                                suggester=SuggestFromList(suggest[field]) if field in suggest else None)
            yield Static(SCHEDULES, classes="hint")
            yield Static(id="error", classes="error")
            yield Static("enter save · tab next field · esc cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#error").display = False
        self.query_one("#job-schedule" if self.job else "#job-name", Input).focus()

    def value(self, field: str) -> str:
        return self.query_one(f"#job-{field}", Input).value.strip()

    @on(Input.Submitted)
    async def _save(self) -> None:
        from ...core.types import MesoclawError, MesoclawFailure
        from ...scheduler import add_job, edit_job

        service = await host(self).ready()
        if service is None:
            return
        name, profile = self.value("name"), self.value("profile") or None
        definition = {"kind": self.value("kind"), "prompt": self.value("prompt"), "task": self.value("task") or "auto",
                      "profile": profile}
        try:
            if self.job is None:
                await add_job(service, name, self.value("schedule"), **definition)
            else:
                await edit_job(service, self.job.name, self.value("schedule"), **definition)
        except (MesoclawError, MesoclawFailure) as exc:
            self.show_error(str(exc))
            return
        self.notify(f"Saved the job {name}.", timeout=2)
        self.dismiss(name)
