"""What the CLI says, read as a script or a person reads it (issue 11, "confusing output"): costs
that never read $0.000, JSON numbers without float tails, exit codes that say a provider failed, an
export that does not overwrite, and a scheduler that says what it is doing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROVIDER_ENV, run_mesoclaw
from .fakes.provider_server import ModelList, Respond, Stream
from .waiting import read_until

AUTH_FAILURE = Respond(401, {"error": {"message": "bad key", "code": "invalid_api_key"}})


def test_schedule_show_gives_a_small_cost_in_full(cli, provider_server, monkeypatch) -> None:
    for name, value in provider_server.env("openai", api_key="sk-test").items():
        monkeypatch.setenv(name, value)
    # balanced/fast answers with gpt-6-luna at $0.10 / $0.50 per 1M: 1000 in, 66 out = $0.000133
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", "hi", usage=(1000, 66)))
    cli("schedule", "add", "tiny", "--every", "1h", "--task", "fast", "say hi")
    assert cli("schedule", "run", "tiny").code == 0
    shown = cli("schedule", "show", "tiny")
    assert "$0.000133" in shown.out and "$0.000 " not in shown.out
    assert "$0.000133" in cli("schedule", "list").out + shown.out


def test_json_costs_have_no_float_tail(cli, provider_server, monkeypatch) -> None:
    for name, value in provider_server.env("openai", api_key="sk-test").items():
        monkeypatch.setenv(name, value)
    # 1 in and 3 out on gpt-6-luna: (1 * 0.1 + 3 * 0.5) / 1e6 is 1.6000000000000001e-06 in floats
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", "hi", usage=(1, 3)))
    r = cli("ask", "--json", "--task", "fast", "hi")
    assert '"cost_usd": 1.6e-06' in r.out, r.out
    for _ in range(2):  # 0.1 + 0.2 is 0.30000000000000004 in floats: a sum in a report
        provider_server.script(provider_server.chat_path("openai"), Stream("openai", "hi", usage=(1, 3)))
        cli("ask", "--json", "--task", "fast", "hi")
    usage = cli("router", "usage", "--json").out
    assert "0000000000" not in usage and "9999999999" not in usage
    assert json.loads(usage)["total"]["cost_usd"] == 4.8e-06


def test_providers_check_exits_1_when_any_provider_failed(provider_server, isolated_env) -> None:
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("ollama", "openai", api_key="sk-t-0001")}
    provider_server.default("/ollama/api/tags", ModelList("ollama", ["llama3.2:3b"]))
    provider_server.default("/openai/v1/models", AUTH_FAILURE)
    r = run_mesoclaw("providers", "check", env=env)
    assert r.returncode == 1 and r.stderr == "mesoclaw: 1 of 2 providers failed: openai\n"
    assert "ollama" in r.stdout and "auth" in r.stdout
    assert run_mesoclaw("providers", "check", "--provider", "ollama", env=env).returncode == 0
    assert "Exit codes: 0 every provider checked answered; 1 any of them failed" in \
        " ".join(run_mesoclaw("providers", "check", "--help", env=env).stdout.split())


def test_models_refresh_exits_1_when_any_provider_failed(provider_server, isolated_env) -> None:
    env = {"MESOCLAW_HOME": str(isolated_env),
           **provider_server.env("openrouter", "openai", api_key="sk-t-0001")}
    provider_server.default("/openrouter/api/v1/models", ModelList("openrouter", ["openai/gpt-4o"]))
    provider_server.default("/openai/v1/models", AUTH_FAILURE)
    r = run_mesoclaw("router", "models", "refresh", env=env)
    assert r.returncode == 1
    assert r.stderr == "mesoclaw: 1 of 2 providers failed: openai; refreshed: openrouter\n"
    assert run_mesoclaw("router", "models", "refresh", "--provider", "openrouter", env=env).returncode == 0
    assert "1 any of them failed" in " ".join(
        run_mesoclaw("router", "models", "refresh", "--help", env=env).stdout.split())


def test_export_does_not_overwrite_a_file_without_force(cli, tmp_path) -> None:
    target = tmp_path / "router.toml"
    target.write_text("my notes\n")
    r = cli("router", "export", str(target))
    assert r.code == 2 and "exists: give --force" in r.err and target.read_text() == "my notes\n"
    assert cli("router", "export", str(target), "--force").code == 0
    assert 'profile = "balanced"' in target.read_text()
    assert 'profile = "balanced"' in cli("router", "export", "-").out  # stdout needs nothing


def _scheduler(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV} | env
    return subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", "scheduler", "run", "--poll", "0.2", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full)


def test_scheduler_run_says_it_started_and_when_it_takes_the_lease_over(isolated_env: Path) -> None:
    env = {"MESOCLAW_HOME": str(isolated_env)}
    assert run_mesoclaw("schedule", "add", "standup", "--daily", "09:00", "plan", env=env).returncode == 0
    first = _scheduler(env)
    second = None
    try:
        started = read_until(first.stdout, "scheduler started")
        assert "scheduler started: 1 enabled job, next: standup" in started
        second = _scheduler(env, "--json")
        lines = [json.loads(line) for line in read_until(second.stdout, '"standby"').splitlines()]
        assert [e["event"] for e in lines] == ["started", "standby"]
        assert f":{first.pid}:" in lines[1]["holder"]  # the first scheduler holds it
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0
        took = json.loads(read_until(second.stdout, '"lease"').splitlines()[-1])
        assert took["event"] == "lease" and took["previous"] == lines[1]["holder"]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)


def test_scheduler_run_once_stays_quiet_for_cron(cli) -> None:
    cli("schedule", "add", "standup", "--daily", "09:00", "plan")
    r = cli("scheduler", "run", "--once")
    assert (r.code, r.out, r.err) == (0, "", "")


@pytest.mark.parametrize("args", [("scheduler", "run", "--help")])
def test_the_readme_promise_every_command_takes_json(cli, args) -> None:
    assert "--json" in cli(*args).out


def _lines_and_words(text: str) -> tuple[list[str], set[str]]:
    lines = text.splitlines()
    return lines, {word for line in lines for word in line.split()}


def test_providers_fits_80_columns_without_cutting_a_word(cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123456789")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test-1234567")
    monkeypatch.setenv("MESOCLAW_GROQ_BASE_URL", "https://gw.example.com/groq/openai/v1")
    r = cli("providers")
    lines, words = _lines_and_words(r.out)
    assert max(len(line.rstrip()) for line in lines) <= 80, r.out
    assert {"OPENAI_API_KEY)", "OPENROUTER_API_KEY)", "https://gw.example.com/groq/openai/v1"} <= words, r.out
    wide = cli("providers", "--json")  # and the full picture stays a flag away
    assert "https://api.openai.com/v1" in wide.out


def test_router_status_fits_80_columns_and_shows_every_chain_whole(cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123456789")
    cli("router", "chain", "code", "--set", "claude-opus-5.5,openrouter:openai/gpt-6.1-sol,gpt-6-astra,"
        "gemini-3.5-flash-lite,claude-haiku-5.5,gpt-6-luna")
    cli("router", "task", "general", "--set", "openrouter:openai/gpt-6.1-sol")
    r = cli("router", "status")
    lines, words = _lines_and_words(r.out)
    assert max(len(line.rstrip()) for line in lines) <= 80, r.out
    view = json.loads(cli("router", "status", "--json").out)
    for task_view in view["tasks"].values():
        for entry in task_view["chain"]:
            if entry["stage"] != "tier":
                assert (entry["resolves_to"] or entry["model"]) in words, (entry, r.out)
    assert "openrouter:openai/gpt-6.1-sol" in words
