"""A hostile provider cannot drive the user's terminal through the CLI: escape sequences in replies,
errors, job output and model ids reach stdout and stderr only as visible characters, while the
database keeps the exact bytes and `--json` gives them back exactly (escaped)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROVIDER_ENV, run_mesoclaw
from tests.fakes import hostile
from tests.fakes.hostile import HOSTILE_ERROR, HOSTILE_TEXT, TITLE_PAYLOAD, forbidden_in
from tests.fakes.provider_server import FakeProviderServer

BIDI = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


def shown(text: str) -> str:
    """What docs/security.md says the terminal gets: C0 controls (but newline and tab) and DEL as their
    Control Pictures, C1 controls, bidi overrides and isolates and lone surrogates as U+FFFD."""
    def one(c: str) -> str:
        code = ord(c)
        if code < 0x20 and c not in "\n\t":
            return chr(0x2400 + code)
        if code == 0x7F:
            return "\u2421"
        if 0x80 <= code < 0xA0 or c in BIDI or 0xD800 <= code < 0xE000:
            return "\ufffd"
        return c
    return "".join(map(one, text))


def assert_safe(*outputs: str) -> None:
    for output in outputs:
        assert forbidden_in(output) == [], output


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    """A hostile provider configured for in-process commands (the `cli` fixture) and subprocesses."""
    with FakeProviderServer() as fake:
        hostile.hostile_mode(fake)
        for key, value in fake.env("openai", api_key="sk-test-hostile").items():
            monkeypatch.setenv(key, value)
        yield fake


@pytest.fixture
def env(server: FakeProviderServer, isolated_env: Path) -> dict[str, str]:
    return {"MESOCLAW_HOME": str(isolated_env), **server.env("openai", api_key="sk-test-hostile")}


def stored_replies(home: Path) -> list[str]:
    with sqlite3.connect(home / "mesoclaw.db") as conn:
        return [row[0] for row in conn.execute("SELECT content FROM messages WHERE role = 'assistant' ORDER BY id")]


# ask -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [[], ["--no-stream"]], ids=["stream", "no-stream"])
def test_ask_prints_a_hostile_reply_with_its_controls_visible(env, isolated_env, mode) -> None:
    r = run_mesoclaw("ask", *mode, "--model", "gpt-4o-mini", "hi", env=env)
    assert r.returncode == 0, r.stderr
    assert_safe(r.stdout, r.stderr)
    assert r.stdout == shown(HOSTILE_TEXT)  # every character there, the controls as their pictures
    assert f"␛]0;{TITLE_PAYLOAD}␇" in r.stdout and "␛]52;c;" in r.stdout and "�2J" in r.stdout
    assert stored_replies(isolated_env) == [HOSTILE_TEXT]  # the database keeps what the provider sent


def test_ask_json_gives_back_the_exact_text_escaped(env) -> None:
    r = run_mesoclaw("ask", "--json", "--model", "gpt-4o-mini", "hi", env=env)
    assert r.returncode == 0, r.stderr
    assert_safe(r.stdout, r.stderr)
    assert json.loads(r.stdout)["text"] == HOSTILE_TEXT
    assert "\\u001b]0;" in r.stdout and "\\u009b2J" in r.stdout and "\\u202e" in r.stdout


@pytest.mark.parametrize("error", [hostile.error_response(500), hostile.raw_error_response(502)],
                         ids=["json-error", "raw-error-page"])
def test_provider_errors_reach_stderr_with_their_controls_visible(env, server, error) -> None:
    server.script(server.chat_path("openai"), error)
    r = run_mesoclaw("ask", "--model", "gpt-4o-mini", "hi", env=env)
    assert r.returncode == 4
    assert_safe(r.stdout, r.stderr)
    assert "attempt 1: openai:gpt-4o-mini" in r.stderr and f"␛]0;{TITLE_PAYLOAD}␇" in r.stderr


@pytest.mark.parametrize(("provider", "model"), [("openai", "gpt-4o-mini"), ("anthropic", "claude-haiku-4.5"),
                                               ("ollama", "ollama:llama3.2:3b")])
def test_lone_surrogates_are_shown_as_replacement_characters(server, isolated_env, provider, model) -> None:
    """JSON's "\\udc9b" is valid JSON but not Unicode: shown (and kept) as U+FFFD, never a crash."""
    server.script(server.chat_path(provider), hostile.surrogate_stream(provider))
    env = {"MESOCLAW_HOME": str(isolated_env), **server.env(provider, api_key="sk-test-hostile")}
    r = run_mesoclaw("ask", "--model", model, "hi", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "broken \ufffd bytes \ufffd here\n"


def test_a_sequence_split_across_deltas_is_neutralised_too(env, server) -> None:
    server.script(server.chat_path("openai"), hostile.Stream("openai", ["a\x1b", "]0;t\x07", "b\x1b", "[2J"]))
    r = run_mesoclaw("ask", "--model", "gpt-4o-mini", "hi", env=env)
    assert r.stdout == "a␛]0;t␇b␛[2J\n"


# schedule ----------------------------------------------------------------------------------------------------


def test_schedule_run_and_show_neutralise_the_job_output(cli, server, isolated_env) -> None:
    assert cli("schedule", "add", "news", "--every", "1h", "--task", "general", "say hi").code == 0
    run = cli("schedule", "run", "news")
    assert run.code == 0, run.err
    assert_safe(run.out, run.err)
    assert run.out.startswith(shown(HOSTILE_TEXT))
    show = cli("schedule", "show", "news")
    assert_safe(show.out, show.err)
    assert f"␛]0;{TITLE_PAYLOAD}␇" in show.out
    assert json.loads(cli("schedule", "show", "news", "--json").out)["runs"][0]["output"] == HOSTILE_TEXT


def test_a_failed_job_shows_the_provider_error_neutralised(cli, server) -> None:
    server.default(server.chat_path("openai"), hostile.error_response(500))
    cli("schedule", "add", "news", "--every", "1h", "--task", "general", "say hi")
    run = cli("schedule", "run", "news")
    assert run.code == 1
    assert_safe(run.out, run.err)
    show = cli("schedule", "show", "news")
    assert_safe(show.out, show.err)
    assert "error: " in show.out and "␛]0;" in show.out
    listed = cli("schedule", "list")
    assert_safe(listed.out)


# model ids ----------------------------------------------------------------------------------------------------


def test_refresh_skips_bad_model_ids_and_says_how_many(cli, server) -> None:
    refresh = cli("router", "models", "refresh")
    assert refresh.code == 0, refresh.err
    assert_safe(refresh.out, refresh.err)
    assert ("skipped 8 ids: 4 with control characters, 2 with whitespace, 1 longer than 256 characters, "
            "1 with no characters") in " ".join(refresh.out.split())
    ids = {m["model"] for m in json.loads(cli("router", "models", "--provider", "openai", "--json").out)}
    assert {"hostile-but-fine-1", "vendor/model:tag"} <= ids
    assert not ids & set(hostile.BAD_IDS)
    listed = cli("router", "models", "--provider", "openai")
    assert_safe(listed.out)
    as_json = json.loads(cli("router", "models", "refresh", "--json").out)
    assert as_json[0]["skipped_ids"] == {"with control characters": 4, "with whitespace": 2,
                                         "longer than 256 characters": 1, "with no characters": 1}


def test_a_hostile_model_list_error_is_shown_neutralised_by_providers(cli, server) -> None:
    server.default(server.models_path("openai"), hostile.error_response(503))
    check = cli("providers", "check")
    assert check.code == 1
    assert_safe(check.out, check.err)
    report = cli("providers")
    assert_safe(report.out, report.err)
    assert "␛]0;" in report.out


def test_providers_check_says_how_many_ids_it_skipped(cli, server) -> None:
    check = cli("providers", "check")
    assert check.code == 0
    assert_safe(check.out)
    assert "openai: skipped 8 ids" in check.out


@pytest.mark.parametrize("model", ["evil\x1b]0;pwned\x07", "c1\x9bcsi", "bidi\u202egpt", "two words", "x" * 257])
def test_models_add_refuses_a_bad_id_and_changes_nothing(cli, model) -> None:
    r = cli("router", "models", "add", "openai", model, "--tier", "low")
    assert r.code == 2
    assert_safe(r.out, r.err)
    assert r.err.startswith("mesoclaw: the model ID must be 1 to 256 printable characters")
    assert all(m["source"] != "user" for m in json.loads(cli("router", "models", "--json").out))


def test_import_refuses_a_bad_id(cli, tmp_path) -> None:
    path = tmp_path / "router.toml"
    path.write_text('[router]\nprofile = "eco"\n\n[[models]]\nprovider = "openai"\n'
                    'model = "evil\\u001b]0;pwned\\u0007"\ntier = "low"\n', encoding="utf-8")
    r = cli("router", "import", str(path))
    assert r.code == 2
    assert_safe(r.err)
    assert json.loads(cli("router", "profile", "--json").out)["profile"] == "balanced"


def test_ids_already_in_the_database_are_shown_neutralised(cli, server, isolated_env) -> None:
    """A database written before ids were checked (or by hand) still cannot drive the terminal."""
    assert cli("router", "models", "refresh").code == 0
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        conn.execute("INSERT INTO provider_models (provider, model_id, listed_at) VALUES (?, ?, ?)",
                     ("openai", f"old{hostile.OSC0_TITLE}id", time.time()))
    for args in (["router", "models"], ["router", "models", "--provider", "openai"], ["router", "status"]):
        r = cli(*args)
        assert r.code == 0, r.err
        assert_safe(r.out, r.err)
    assert "old␛]0;pwned-title␇id" in cli("router", "models", "--provider", "openai").out
    data = json.loads(cli("router", "models", "--json").out)
    assert f"old{hostile.OSC0_TITLE}id" in {m["model"] for m in data}  # --json: exact


# console markup -----------------------------------------------------------------------------------------------


def test_providers_set_keeps_the_section_name_in_its_message(cli) -> None:
    """Printed through console markup, `[providers.openai]` was taken for a style and vanished."""
    r = cli("providers", "set", "openai", "--base-url", "http://127.0.0.1:9/[bold]v1")
    assert r.code == 0, r.err
    assert "[providers.openai] in " in r.out and "base_url = http://127.0.0.1:9/[bold]v1" in r.out
    r = cli("providers", "set", "openai", "--clear")
    assert "removed [providers.openai] from " in r.out


def test_colour_output_on_a_terminal_has_no_escape_but_rich_s_own_styles(env, isolated_env) -> None:
    """On a terminal (colour on) the only escape sequences are the colours Rich writes itself."""
    assert run_mesoclaw("router", "models", "refresh", env=env).returncode == 0
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        conn.execute("INSERT INTO provider_models (provider, model_id, listed_at) VALUES (?, ?, ?)",
                     ("openai", f"old{hostile.OSC52_CLIPBOARD}\x9b2Jid", time.time()))
    output = run_in_terminal(["router", "models", "--provider", "openai"], env)
    without_colours = re.sub(r"\x1b\[[0-9;]*m", "", output)
    assert "\x1b[" in output  # colour was on
    assert_safe(without_colours.replace("\r\n", "\n"))
    assert "old␛]52;c;" in without_colours


def run_in_terminal(args: list[str], env: dict[str, str], timeout: float = 30) -> str:
    """Run mesoclaw with stdout and stderr on a pseudo-terminal; everything it wrote, decoded."""
    full_env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV} | env | {"TERM": "xterm-256color",
                                                                                        "COLUMNS": "200"}
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", *args], stdin=subprocess.DEVNULL,
                               stdout=slave, stderr=slave, env=full_env)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_the_error_shown_for_a_hostile_error_is_the_whole_message(env, server) -> None:
    server.script(server.chat_path("openai"), hostile.error_response(500))
    r = run_mesoclaw("ask", "--model", "gpt-4o-mini", "hi", env=env)
    assert shown(HOSTILE_ERROR) in r.stderr
