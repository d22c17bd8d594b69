"""Scheduled jobs in the app: due jobs run while it is open (unless a scheduler holds the lease),
and ctrl+e shows each job with its last result."""

from __future__ import annotations

import pytest

from mesoclaw_tui.scheduler import Scheduler, add_job, list_jobs
from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for
from tests.waiting import eventually_async


@pytest.fixture
def server(monkeypatch):
    with fake_providers(monkeypatch, "openai") as s:
        yield s


async def add_due_job(name: str = "standup") -> None:
    async with await RouterService.open(None) as service:
        await add_job(service, name, "every 1h", prompt="plan my day", task="general")
        async with service.store.write() as db:
            await db.execute("UPDATE jobs SET next_run_at = 0 WHERE name = ?", (name,))


async def test_a_due_job_runs_while_the_app_is_open_and_ctrl_e_shows_it(server) -> None:
    await add_due_job()
    app = MesoclawApp(jobs_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)

        async def last_status():
            async with await RouterService.open(None) as service:
                jobs = await list_jobs(service)
            return jobs[0].last_status

        async def ran() -> bool:
            return await last_status() == "ok"

        await eventually_async(ran, what="the due job to run in the app")
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: "Scheduled jobs" in screen_text(app), what="the jobs dialog")
        text = screen_text(app)
        assert "standup" in text and "ok" in text and "openai:" in text
        await pilot.press("escape")
        no_unexpected_errors(app)


async def test_the_app_leaves_due_jobs_to_a_scheduler_that_holds_the_lease(server) -> None:
    await add_due_job("nightly")
    async with await RouterService.open(None) as service:
        other = Scheduler(service, role="scheduler")
        assert await other.take_lease()  # a `mesoclaw scheduler run` elsewhere
        app = MesoclawApp(jobs_interval=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.pause(1.0)
            jobs = await list_jobs(service)
            assert jobs[0].last_status is None  # not run by the app
        await other.aclose()
