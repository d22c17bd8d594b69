"""Scheduled agent jobs: added with their allowlist, run without ever asking (even on a terminal),
a command not on the list denied and never run, every step in the run's output."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import PROVIDER_ENV
from tests.fakes.tool_streams import Call, ToolCallReply

from .test_cli_agent import Pty

GOAL = "tidy the notes and report"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    (root / "notes.txt").write_text("b\na\n")
    monkeypatch.chdir(root)  # `schedule add` records the directory it is run in
    return root


@pytest.fixture
def keys(monkeypatch, provider_server, isolated_env) -> dict[str, str]:
    env = provider_server.env("openai", api_key="sk-test-key-0001")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    full = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    return {**full, **env, "MESOCLAW_HOME": str(isolated_env)}


def script_run(server, marker: Path) -> None:
    server.script(server.chat_path("openai"),
                  ToolCallReply("openai", [Call("read_file", {"path": "notes.txt"}),
                                           Call("write_file", {"path": "notes.txt", "content": "a\nb\n"}),
                                           Call("run_command", {"argv": ["touch", str(marker)]})]),
                  ToolCallReply("openai", text="Sorted the notes; I was not allowed to run touch."))


def test_an_agent_job_is_added_with_its_allowlist_and_directory(cli, work, keys):
    r = cli("schedule", "add", "tidy", "--kind", "agent", "--every", "1h", "--allow", "write_file",
            "--max-steps", "5", "--json", GOAL)
    assert r.code == 0, r.err
    job = json.loads(r.out)
    assert (job["kind"], job["prompt"]) == ("agent", GOAL)
    assert job["agent"] == {"cwd": str(work), "allow": ["write_file"], "max_steps": 5, "max_cost": None,
                            "timeout": None}
    shown = cli("schedule", "show", "tidy")
    assert "goal: " + GOAL in shown.out and "allowed: write_file" in shown.out
    assert cli("schedule", "list", "--json").code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--allow", "rm_rf"], "--allow rm_rf: no such tool (choose from: read_file"),
    (["--allow", "github.create_issue"], "--allow github.create_issue: no such tool"),
])
def test_a_bad_allow_name_is_refused_and_nothing_added(cli, work, keys, args, message):
    r = cli("schedule", "add", "tidy", "--kind", "agent", "--every", "1h", *args, GOAL)
    assert r.code == 2 and message in r.err
    assert json.loads(cli("schedule", "list", "--json").out) == []


def test_allow_belongs_to_agent_jobs(cli, work, keys):
    r = cli("schedule", "add", "p", "--every", "1h", "--allow", "write_file", "hello")
    assert r.code == 2 and "--allow, --max-steps, --max-cost and --timeout are for --kind agent" in r.err


def test_a_scheduled_run_never_asks_and_denies_what_is_not_allowed(cli, work, keys, provider_server, isolated_env):
    """Run on a real terminal, where `mesoclaw agent` would ask: the job does not."""
    marker = work / "touched"
    assert cli("schedule", "add", "tidy", "--kind", "agent", "--every", "1h", "--allow", "write_file",
               GOAL).code == 0
    script_run(provider_server, marker)
    term = Pty(["schedule", "run", "tidy"], keys, work)
    assert term.wait() == 0, term.seen
    assert "needs your approval" not in term.seen and "[a]pprove" not in term.seen
    assert (work / "notes.txt").read_text() == "a\nb\n" and not marker.exists()
    told = [m["content"] for m in provider_server.requests_to(provider_server.chat_path("openai"))[1].json["messages"]
            if m["role"] == "tool"]
    assert "1\tb" in told[0] and "notes.txt" in told[1] and "not run" not in told[1].lower()
    assert "nobody can approve it" in told[2]
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        status, output, tokens, conversations = conn.execute(
            "SELECT status, output, input_tokens, (SELECT COUNT(*) FROM conversations) FROM job_runs").fetchone()
        sources = [r[0] for r in conn.execute("SELECT source FROM usage")]
    assert status == "ok" and tokens == 100 and conversations == 0 and sources == ["job", "job"]
    lines = output.splitlines()
    assert lines[0].startswith("step 1 · openai:gpt-6-luna · 50+20 tokens")
    assert lines[1:4] == ["  read_file notes.txt: ran", "  write_file notes.txt: ran: changed notes.txt",
                          f"  $ touch {marker}: denied: nobody can approve it here"]
    assert lines[-1] == "Sorted the notes; I was not allowed to run touch."
    assert "Sorted the notes" in term.seen  # `schedule run` shows the steps as they finish


async def test_the_app_or_scheduler_tick_runs_a_due_agent_job_and_records_a_limit(work, keys, provider_server):
    from datetime import UTC, datetime, timedelta

    from mesoclaw_tui.agent.scheduled import job_settings
    from mesoclaw_tui.scheduler import Scheduler, add_job
    from mesoclaw_tui.service import RouterService

    provider_server.script(provider_server.chat_path("openai"),
                           ToolCallReply("openai", [Call("list_dir", {"path": "."})]))
    service = await RouterService.open()
    await add_job(service, "loop", "every 1h", kind="agent", prompt=GOAL,
                  agent=job_settings(str(work), (), max_steps=1, max_cost=None, timeout=None))
    later = datetime.now(UTC) + timedelta(hours=2)
    scheduler = Scheduler(service, now=lambda: later)
    try:
        (run,) = await scheduler.tick()
    finally:
        await scheduler.aclose()
        await service.close()
    assert run.status == "incomplete" and run.error == "stopped at the step limit (1 step)"
    assert "list_dir .: Not run: the run stopped at the step limit (1 step)." in run.output
