"""`mesoclaw setup`: a key to config.toml (0600, never printed in full, never in the database), a
live check against the provider (the fake server), the default profile; asked in a real terminal
or given as options. Bad input exits 2 and changes nothing."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from tests.fakes.provider_server import FakeProviderServer, Respond

KEY = "sk-live-0123456789abcdef"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    """A fake OpenAI whose base URL is set, but no key: setup gives the key."""
    with FakeProviderServer() as fake:
        for name, value in fake.env("openai").items():
            if not name.endswith("_API_KEY"):
                monkeypatch.setenv(name, value)
        yield fake


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def config(home: Path) -> str:
    return (home / "config.toml").read_text() if (home / "config.toml").exists() else ""


def test_a_key_from_stdin_is_saved_checked_live_and_never_printed(cli, server, monkeypatch, isolated_env) -> None:
    stdin(monkeypatch, KEY + "\n")
    r = cli("setup", "--provider", "openai", "--api-key-stdin", "--profile", "eco")
    assert r.code == 0, r.err
    assert KEY not in r.out + r.err and "…cdef" in r.err
    assert "openai: ok" in r.err and "profile: eco" in r.err
    path = isolated_env / "config.toml"
    assert f'api_key = "{KEY}"' in config(isolated_env) and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    check = server.requests_to(server.models_path("openai"))[-1]
    assert check.headers["authorization"] == f"Bearer {KEY}"  # tested live, with the key given
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        dump = "\n".join(conn.iterdump())
    assert KEY not in dump
    assert json.loads(cli("router", "profile", "--json").out)["profile"] == "eco"
    assert json.loads(cli("providers", "--json").out)[0]["configured"] is True


def test_a_key_the_provider_refuses_is_saved_and_says_why_with_exit_1(cli, server, monkeypatch) -> None:
    server.default(server.models_path("openai"), Respond(401, {"error": {"message": "Incorrect API key"}}))
    stdin(monkeypatch, KEY + "\n")
    r = cli("setup", "--provider", "openai", "--api-key-stdin", "--json")
    assert r.code == 1 and "did not answer the check" in r.err
    done = json.loads(r.out)
    assert done["checks"][0]["ok"] is False and "Incorrect API key" in done["checks"][0]["error"]
    assert done["providers"][0]["key"] == "…cdef" and KEY not in r.out + r.err


def test_a_variable_that_is_not_set_is_named_as_such(cli, server, monkeypatch, isolated_env) -> None:
    monkeypatch.delenv("UNSET_OPENAI_KEY", raising=False)
    r = cli("setup", "--provider", "openai", "--api-key-env", "UNSET_OPENAI_KEY")
    assert "openai: saved in" in r.err and "key from $UNSET_OPENAI_KEY" in r.err and "no key" not in r.err
    assert "$UNSET_OPENAI_KEY is not set in this shell" in r.err


def test_an_environment_variable_name_instead_of_a_key(cli, server, monkeypatch, isolated_env) -> None:
    monkeypatch.setenv("WORK_OPENAI_KEY", KEY)
    r = cli("setup", "--provider", "openai", "--api-key-env", "WORK_OPENAI_KEY")
    assert r.code == 0, r.err
    assert 'api_key_env = "WORK_OPENAI_KEY"' in config(isolated_env) and KEY not in config(isolated_env)
    assert "env WORK_OPENAI_KEY" in r.err


@pytest.mark.parametrize(("args", "given", "problem"), [
    (("--provider", "nope", "--api-key-stdin"), KEY, "unknown provider 'nope' (choose one of: openai"),
    (("--provider", "openai"), "", "openai needs a key"),
    (("--provider", "openai", "--api-key-stdin"), "\n", "no key on stdin"),
    (("--provider", "openai", "--api-key-stdin"), "sk-has a space\n", "spaces"),
    (("--provider", "openai", "--api-key-env", "not a name"), "", "NAME is letters"),
    (("--profile", "cheap"), "", "unknown profile"),
    (("--api-key-stdin",), KEY, "need --provider"),
])
def test_bad_input_exits_2_and_changes_nothing(cli, server, monkeypatch, isolated_env, args, given, problem) -> None:
    stdin(monkeypatch, given)
    r = cli("setup", *args)
    assert r.code == 2 and problem in r.err and r.err.count("\n") == 1, r.err
    assert "sk-has" not in r.err
    assert config(isolated_env) == ""
    assert not server.requests


def test_without_a_terminal_or_options_it_says_how_to_script_it(cli, monkeypatch) -> None:
    stdin(monkeypatch, "")
    r = cli("setup")
    assert r.code == 2 and "--api-key-stdin" in r.err


@pytest.mark.parametrize(("answer", "said"), [(b"premium\n", b"profile: premium"),
                                              (b"\n", b"profile: balanced (unchanged)")])
def test_asked_in_a_real_terminal(server, isolated_env, answer, said) -> None:
    """In a pty: pick OpenAI by number, paste the key (not echoed), answer the default profile's prompt
    (premium, or enter for the one in use: either way it says which profile is in use)."""
    import pty
    import subprocess
    import time

    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", "setup"], stdin=follower, stdout=follower,
                               stderr=follower, env=env)
    os.close(follower)
    seen = b""

    def until(text: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 30
        while text not in seen:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            seen += os.read(leader, 4096)

    until(b"Provider to set up")
    assert b"not configured" in seen
    os.write(leader, b"1\n")
    until(b"API key")
    os.write(leader, KEY.encode() + b"\n")
    until(b"openai: ok")
    until(b"Provider to set up")
    os.write(leader, b"\n")
    until(b"Default profile")
    os.write(leader, answer)
    until(said)
    assert process.wait(timeout=30) == 0
    os.close(leader)
    assert KEY.encode() not in seen
    assert f'api_key = "{KEY}"' in config(isolated_env)
