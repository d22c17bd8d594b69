"""`mesoclaw schedule …` and `mesoclaw scheduler run`, through the real entry point; SIGTERM in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROVIDER_ENV
from tests.fakes.provider_server import FakeProviderServer, Gate, Stream
from tests.waiting import read_until, wait_caught_up


def db(home: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(home / "mesoclaw.db", timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


BAD_ADDS = [
    (["--every", "0m"], "15m"),
    (["--every", "1w"], "15m"),
    (["--daily", "9am"], "HH:MM"),
    (["--daily", "24:00"], "HH:MM"),
    (["--weekly", "09:00"], "mon"),
    (["--weekly", "someday 09:00"], "mon, tue"),
    (["--cron", "* * * *"], "5 fields"),
    (["--cron", "0 9 * * funday"], "5 fields"),
    ([], "--every 15m|2h|1d"),
    (["--every", "1h", "--cron", "* * * * *"], "exactly one"),
    (["--every", "1h", "--task", "poetry"], "auto, code, general, fast, creative, analysis"),
    (["--every", "1h", "--profile", "cheap"], "eco, balanced, premium"),
    (["--every", "1h", "--kind", "cronjob"], "prompt, heartbeat"),
]


@pytest.mark.parametrize(("args", "hint"), BAD_ADDS)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(cli, isolated_env, args, hint) -> None:
    result = cli("schedule", "add", "job", *args, "a prompt")
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and result.err.startswith("mesoclaw: ") and hint in result.err
    assert result.out == ""
    assert not (isolated_env / "mesoclaw.db").exists()  # validated before the database was opened


def test_other_user_errors(cli) -> None:
    assert cli("schedule", "add", "a", "--every", "1h", "x").code == 0
    for args, hint in [
        (("schedule", "add", "a", "--every", "2h", "y"), "already exists"),
        (("schedule", "add", "b c", "--every", "2h", "y"), "bad job name"),
        (("schedule", "add", "b", "--every", "2h"), "needs a PROMPT"),
        (("schedule", "add", "b", "--every", "2h", "--kind", "heartbeat", "hello"), "takes no PROMPT"),
        (("schedule", "show", "zz"), "no job named 'zz' (jobs: a)"),
        (("schedule", "rm", "zz"), "no job named 'zz'"),
        (("schedule", "enable", "zz"), "no job named 'zz'"),
        (("schedule", "run", "zz"), "no job named 'zz'"),
    ]:
        result = cli(*args)
        assert result.code == 2 and hint in result.err and result.err.count("\n") == 1, (args, result)
    assert [j["name"] for j in json.loads(cli("schedule", "list", "--json").out)] == ["a"]


def test_add_list_show_disable_enable_rm(cli) -> None:
    added = json.loads(cli("schedule", "add", "news", "--daily", "09:00", "--task", "fast", "--profile", "eco",
                           "--json", "summarise", "the", "news").out)
    assert added | {"next_run_at": None, "created_at": None} == {
        "name": "news", "kind": "prompt", "prompt": "summarise the news", "task": "fast", "profile": "eco",
        "schedule": "daily 09:00", "enabled": True, "next_run_at": None, "last_run_at": None,
        "last_status": None, "running_since": None, "claimed_by": None, "created_at": None, "last_run": None}
    assert cli("schedule", "add", "hb", "--cron", "*/5 * * * *", "--kind", "heartbeat").code == 0
    assert cli("schedule", "add", "wk", "--weekly", "mon 09:00", "x").code == 0
    listed = cli("schedule", "list")
    assert listed.code == 0 and "news" in listed.out and "cron */5 * * * *" in listed.out
    shown = cli("schedule", "show", "hb")
    assert "Every fifth minute" in shown.out and "no runs yet" in shown.out
    assert "disabled job wk" in cli("schedule", "disable", "wk").out
    assert json.loads(cli("schedule", "show", "wk", "--json").out)["enabled"] is False
    assert "enabled job wk: next run" in cli("schedule", "enable", "wk").out
    assert cli("schedule", "rm", "wk").code == 0
    assert [j["name"] for j in json.loads(cli("schedule", "list", "--json").out)] == ["hb", "news"]


def test_run_now_streams_and_records(cli, fake, isolated_env) -> None:
    cli("schedule", "add", "hi", "--every", "1h", "--task", "general", "say hi")
    result = cli("schedule", "run", "hi")
    assert result.code == 0 and result.out == fake.reply + "\n"
    assert result.err.startswith("job hi: ok, openai:gpt-6.1-sol,")
    shown = json.loads(cli("schedule", "show", "hi", "--json").out)
    run = shown["runs"][0]
    assert (run["status"], run["trigger"], run["output"], run["provider"]) == ("ok", "manual", fake.reply, "openai")
    assert run["usage"]["input_tokens"] == 12


def test_run_now_failure_exits_1(cli) -> None:
    cli("schedule", "add", "hi", "--every", "1h", "say hi")
    result = cli("schedule", "run", "hi")
    assert result.code == 1 and "failed" in result.err and "OPENAI_API_KEY" in result.err


def test_scheduler_once_runs_what_is_due(cli, fake, isolated_env) -> None:
    cli("schedule", "add", "due", "--every", "1h", "--task", "fast", "x")
    cli("schedule", "add", "later", "--every", "1h", "--task", "fast", "y")
    with db(isolated_env) as conn:
        conn.execute("UPDATE jobs SET next_run_at = ? WHERE name = 'due'", (time.time() - 7200,))
    result = cli("scheduler", "run", "--once")
    assert result.code == 0, result
    assert "job due: started" in result.out and "job due: ok" in result.out and "later" not in result.out
    assert cli("scheduler", "run", "--once").out == ""  # rescheduled from now: one run for the missed slots
    status = json.loads(cli("scheduler", "status", "--json").out)
    assert status["lease"] is None and status["next"]["name"] in ("due", "later")


# SIGTERM -------------------------------------------------------------------------------------------------


def start(home: Path, fake: FakeProviderServer, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env.update(fake.env("openai", api_key="sk-test"), MESOCLAW_HOME=str(home))
    return subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def start_scheduler(home: Path, fake: FakeProviderServer, grace: float) -> subprocess.Popen[str]:
    return start(home, fake, "scheduler", "run", "--poll", "0.2", "--grace", str(grace))


def make_due_job(cli, home: Path) -> None:
    assert cli("schedule", "add", "slow", "--every", "1h", "--task", "fast", "write a lot").code == 0
    with db(home) as conn:
        conn.execute("UPDATE jobs SET next_run_at = ? WHERE name = 'slow'", (time.time() - 60,))


def test_sigterm_past_the_grace_period_marks_the_run_interrupted(cli, fake, isolated_env) -> None:
    gate = Gate()  # the reply stops after 3 deltas until the test is done: it outlasts any grace
    fake.default(fake.chat_path("openai"), Stream("openai", n=400, gate=gate, hold_after=3))
    make_due_job(cli, isolated_env)
    proc = start_scheduler(isolated_env, fake, grace=0.3)
    try:
        wait_caught_up(proc.pid, gate)  # the job has the 3 deltas, and waits for more
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        gate.release()
        proc.kill()
    assert proc.returncode == 0, err
    assert "job slow: started" in out and "job slow: interrupted" in out
    with db(isolated_env) as conn:
        run = conn.execute("SELECT * FROM job_runs").fetchone()
        job = conn.execute("SELECT * FROM jobs").fetchone()
        lease = conn.execute("SELECT * FROM scheduler_lease").fetchone()
        usage = conn.execute("SELECT outcome FROM usage WHERE source = 'job'").fetchall()
    assert run["status"] == "interrupted" and run["output"] == "tok tok tok " and run["finished_at"]
    assert job["running_since"] is None and job["last_status"] == "interrupted"
    assert job["next_run_at"] < time.time()  # still due: it runs again when a scheduler starts
    assert lease is None
    assert [u["outcome"] for u in usage] == ["cancelled"]


def test_sigterm_within_the_grace_period_lets_the_run_finish(cli, fake, isolated_env) -> None:
    gate = Gate()  # mid-reply when the signal comes, and until the scheduler has said it is stopping
    fake.default(fake.chat_path("openai"), Stream("openai", n=40, gate=gate, hold_after=3))
    make_due_job(cli, isolated_env)
    proc = start_scheduler(isolated_env, fake, grace=30)
    try:
        gate.wait()
        proc.send_signal(signal.SIGTERM)
        said = read_until(proc.stderr, "mesoclaw: stopping (a running job gets 30 s")  # stopping, mid-reply
        gate.release()
        out, err = proc.communicate(timeout=30)
        err = said + err
    finally:
        gate.release()
        proc.kill()
    assert proc.returncode == 0, err
    assert "job slow: ok" in out
    with db(isolated_env) as conn:
        run = conn.execute("SELECT * FROM job_runs").fetchone()
        job = conn.execute("SELECT * FROM jobs").fetchone()
    assert run["status"] == "ok" and run["output"] == "tok " * 40
    assert job["next_run_at"] > time.time() + 3000


def test_sigterm_stops_a_manual_run_and_records_it(cli, fake, isolated_env) -> None:
    gate = Gate()
    fake.default(fake.chat_path("openai"), Stream("openai", n=400, gate=gate, hold_after=3))
    assert cli("schedule", "add", "slow", "--every", "1h", "--task", "fast", "write a lot").code == 0
    proc = start(isolated_env, fake, "schedule", "run", "slow")
    try:
        streamed = read_until(proc.stdout, "tok ")  # the run prints each delta as it comes
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        gate.release()
        proc.kill()
    out = streamed + out
    assert proc.returncode == 130 and err == "mesoclaw: job slow: interrupted (recorded as such)\n"
    with db(isolated_env) as conn:
        run = conn.execute("SELECT * FROM job_runs").fetchone()
        job = conn.execute("SELECT * FROM jobs").fetchone()
    assert run["status"] == "interrupted" and out.startswith(run["output"]) and run["output"].startswith("tok ")
    assert job["running_since"] is None
