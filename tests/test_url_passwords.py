"""A password inside a base URL (`http://user:PASSWORD@host`) never reaches a terminal, a JSON output
or the database: heartbeat output and errors, provider checks, `providers`, `schedule show`, errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from .fakes.provider_server import Respond

PASSWORD = "hunter2PASSWORD"


@pytest.fixture
def gateway(provider_server, monkeypatch):
    """OpenAI behind a gateway whose URL carries a password, and which quotes it back in its errors."""
    base = provider_server.base_url("openai").replace("http://", f"http://alice:{PASSWORD}@")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-url-0001")
    monkeypatch.setenv("MESOCLAW_OPENAI_BASE_URL", base)
    provider_server.default(provider_server.models_path("openai"), Respond(401, {"error": {
        "message": f"no access for {base} (password {PASSWORD} refused)", "type": "auth"}}))
    return base


def no_password_in_database(home: Path) -> None:
    for path in home.iterdir():
        if path.name.startswith("mesoclaw.db"):
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_heartbeat_never_stores_or_prints_the_password(cli, gateway, isolated_env):
    assert cli("schedule", "add", "hb", "--every", "15m", "--kind", "heartbeat").code == 0
    run = cli("schedule", "run", "hb")
    assert run.code == 1 and "openai: failed" in run.out
    shown = [run.out + run.err, cli("schedule", "show", "hb").out, cli("schedule", "show", "hb", "--json").out,
             cli("providers").out, cli("providers", "--json").out, cli("providers", "check").out,
             cli("providers", "check", "--json").out]
    for text in shown:
        assert PASSWORD not in text
    report = next(p for p in json.loads(cli("providers", "--json").out) if p["provider"] == "openai")
    assert report["base_url"].startswith("http://***@127.0.0.1:")
    assert "http://***@127.0.0.1" in report["last_check"]["error"]
    runs = json.loads(cli("schedule", "show", "hb", "--json").out)["runs"]
    assert "***" in runs[0]["output"]
    no_password_in_database(isolated_env)


def test_an_error_stored_by_an_older_version_is_masked_when_shown(cli, gateway, isolated_env):
    cli("router", "profile")
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        conn.execute("INSERT INTO provider_state (provider, last_check_at, last_check_ok, last_check_error, "
                     "last_check_ms, cooldown_until, last_error) VALUES ('openai', 1, 0, ?, 5, 1e12, ?)",
                     (f"auth: bad {gateway}", f"auth: {PASSWORD} refused"))
    for text in (cli("providers").out, cli("providers", "--json").out):
        assert PASSWORD not in text and "***" in text


def test_a_job_failing_with_a_url_in_its_exception_stores_it_masked(gateway, isolated_env):
    import asyncio
    from datetime import UTC, datetime

    from mesoclaw_tui.engine import Engine
    from mesoclaw_tui.scheduler import Scheduler, add_job
    from mesoclaw_tui.service import RouterService

    class Unreachable(Engine):
        async def run(self, turn, on_event=None):
            raise ConnectionError(f"cannot reach {gateway}/chat/completions")

    async def go():
        service = await RouterService.open()
        try:
            await add_job(service, "j", "every 1h", prompt="x", task="fast")
            scheduler = Scheduler(service, Unreachable(service), role="cli")
            return await scheduler.run_now("j")
        finally:
            await service.close()

    run = asyncio.run(go())
    assert run.status == "failed" and PASSWORD not in run.error and "http://***@127.0.0.1" in run.error
    assert datetime.now(UTC)  # (ran now)
    no_password_in_database(isolated_env)


def test_an_error_line_never_shows_a_url_password(capsys):
    """The one place every CLI error line goes through masks a URL password, whatever raised it."""
    from mesoclaw_tui.cli.exits import exit_code_for

    code = exit_code_for(ConnectionError(f"cannot reach https://bob:{PASSWORD}@gw.example/v1: refused"))
    err = capsys.readouterr().err
    assert code == 1 and err == "mesoclaw: unexpected error: ConnectionError: cannot reach https://***@gw.example/v1: " \
                                "refused\n"
