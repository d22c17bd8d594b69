"""Shared fixtures: every test gets its own MESOCLAW_HOME and an environment with no provider keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mesoclaw_tui.core.provider_info import PROVIDERS

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Fixtures every test module can ask for by name (a module that imports a fixture and takes it as an
# argument redefines it: ruff F811). A module overrides one by defining a fixture of the same name.
pytest_plugins = ["tests.fakes.fixtures", "tests.service_fixtures"]

# A shell without job control starts background commands with SIGINT ignored (`cmd &` in a script,
# nohup, some CI runners), and an ignored signal stays ignored across exec: every subprocess a test
# starts would ignore the Ctrl+C the test sends it (Python installs no handler for an ignored SIGINT)
# and hang. Tests stand in for a user at a terminal, so they start their processes with the default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

PROVIDER_ENV = sorted(
    {name for p in PROVIDERS.values() for name in (*p.key_envs, *p.base_url_envs, p.mesoclaw_base_url_env)}
    | {"OLLAMA_API_KEY", "MESOCLAW_DB", "NO_COLOR"}
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MESOCLAW_HOME", str(home))
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    return home


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run `mesoclaw ARGS…` in-process through the real entry point; returns code, stdout, stderr."""
    from mesoclaw_tui.cli.main import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run_mesoclaw(*args: str, env: dict[str, str] | None = None, input: str | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the installed entry point in a real subprocess (the way users and scripts do)."""
    full_env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "mesoclaw_tui", *args], capture_output=True, text=True,
                          env=full_env, input=input, timeout=timeout)


@pytest.fixture
def fixed_today(monkeypatch: pytest.MonkeyPatch):
    """Pin the date every lifecycle decision of this process reads (`core.types.real_today`), so a
    test of retirement says the same in any month: `fixed_today("2026-12-01")`."""

    def pin(day: str) -> None:
        monkeypatch.setattr("mesoclaw_tui.core.types._today", (float("inf"), day))

    return pin
