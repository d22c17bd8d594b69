"""Every command of `mesoclaw --help`'s tree, given bad input, exits 2 with one line on stderr and
changes nothing: not the database (compared as a full SQL dump), not config.toml, not a file it was
pointed at, and no file appears (issue 11, item 5: `ask --model nosuch hi` used to leave an empty
conversation behind).

A command added to the CLI needs a case here: `test_every_command_has_a_bad_input_case` lists the
ones that have none.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import sqlite3
from pathlib import Path

import click
import pytest

from mesoclaw_tui.cli.main import cli as root

# Commands that take no input of their own to get wrong: containers of subcommands, and the bare
# `mesoclaw`, which opens the app (its bad input, a bad config.toml, is tested with the app).
NO_INPUT = {"", "router", "schedule", "scheduler", "budget", "chats", "mcp", "presets"}

BAD = "{home}/bad.toml"
KEPT = "{home}/kept.toml"

CASES: list[tuple[str, ...]] = [
    ("ask", "--model", "nosuch", "hi"),
    ("ask", "--model", "nosuch", "--continue", "hi"),
    ("ask", "--task", "bogus", "hi"),
    ("ask", "--profile", "bogus", "hi"),
    ("ask", "-a", "{home}/no-such-file", "hi"),
    ("ask", "--schema", "{bad", "hi"),
    ("ask", "--max-tokens", "0", "hi"),
    ("ask",),
    ("providers", "--bogus"),
    ("providers", "check", "--provider", "nosuch"),
    ("providers", "check", "--timeout", "-1"),
    ("providers", "set", "nosuch", "--base-url", "http://127.0.0.1:9/v1"),
    ("providers", "set", "openai", "--base-url", "not a url"),
    ("providers", "set", "openai", "--clear", "--base-url", "http://127.0.0.1:9/v1"),
    ("providers", "set", "openai", "--api-key-env", "BAD NAME"),
    ("providers", "set", "openai", "--api-key-stdin"),  # nothing on stdin
    ("providers", "set", "openai"),
    ("router", "chain", "bogus", "--set", "gpt-6-luna"),
    ("router", "chain", "code", "--set", "nosuch"),
    ("router", "chain", "code", "--set", "gpt-6-luna,,gpt-6-astra"),
    ("router", "chain", "code", "--set", "gpt-6-luna", "--clear"),
    ("router", "export", KEPT),  # exists: refused without --force
    ("router", "export", "{home}/no-such-dir/x.toml"),
    ("router", "import", "{home}/no-such-file.toml"),
    ("router", "import", BAD),
    ("router", "models", "--provider", "nosuch"),
    ("router", "models", "--tier", "bogus"),
    ("router", "models", "--outdated", "--tier", "low"),
    ("router", "models", "add", "nosuch", "m", "--tier", "low"),
    ("router", "models", "add", "openai", "m2", "--tier", "bogus"),
    ("router", "models", "add", "openai", "bad id", "--tier", "low"),
    ("router", "models", "add", "openai", "gpt-6-luna", "--tier", "low"),  # a built-in
    ("router", "models", "add", "openai", "my-model", "--tier", "high"),  # added before
    ("router", "models", "add", "openai", "m3", "--tier", "low", "--price-in", "1"),
    ("router", "models", "update", "openai", "nosuch", "--tier", "low"),
    ("router", "models", "update", "openai", "my-model", "--tier", "bogus"),
    ("router", "models", "update", "openai", "my-model"),
    ("router", "models", "update", "openai", "my-model", "--price-in", "-1"),
    ("router", "models", "refresh", "--provider", "nosuch"),
    ("router", "models", "remove", "openai", "nosuch"),
    ("router", "profile", "--bogus"),
    ("router", "profile", "set", "cheap"),
    ("router", "reset", "--bogus"),
    ("router", "status", "--bogus"),
    ("router", "task", "bogus"),
    ("router", "task", "code", "--set", "nosuch"),
    ("router", "task", "code", "--set", "gpt-6-luna", "--clear"),
    ("router", "test", "--task", "bogus", "hi"),
    ("router", "test", "--profile", "bogus", "hi"),
    ("router", "test"),
    ("router", "usage", "--since", "bogus"),
    ("schedule", "add", "x", "--every", "bogus", "hi"),
    ("schedule", "add", "standup", "--daily", "10:00", "hi"),  # exists
    ("schedule", "add", "y", "--task", "bogus", "--daily", "10:00", "hi"),
    ("schedule", "add", "y", "--profile", "bogus", "--daily", "10:00", "hi"),
    ("schedule", "add", "y", "--kind", "bogus", "--daily", "10:00", "hi"),
    ("schedule", "add", "y", "--daily", "10:00", "--every", "1h", "hi"),
    ("schedule", "add", "y", "--daily", "25:00", "hi"),
    ("schedule", "add", "y", "--cron", "bad", "hi"),
    ("schedule", "add", "y", "--daily", "10:00"),
    ("schedule", "add", "bad name!", "--daily", "09:00", "hi"),
    ("schedule", "disable", "nosuch"),
    ("schedule", "enable", "nosuch"),
    ("schedule", "rm", "nosuch"),
    ("schedule", "run", "nosuch"),
    ("schedule", "show", "nosuch"),
    ("schedule", "show", "standup", "--runs", "0"),
    ("schedule", "list", "--bogus"),
    ("scheduler", "run", "--poll", "-1"),
    ("scheduler", "run", "--once", "--grace", "-1"),
    ("scheduler", "status", "--bogus"),
    ("serve", "--host", "0.0.0.0"),  # no --token
    ("serve", "--port", "-5"),
    ("serve", "--max-body", "bogus"),
    ("serve", "--allow-origin", "http://example.com"),  # needs --token
    ("agent", "--model", "nosuch", "read the notes"),
    ("agent", "--task", "bogus", "read the notes"),
    ("agent", "--max-steps", "0", "read the notes"),
    ("agent", "--max-cost", "-1", "read the notes"),
    ("agent", "--allow", "nosuch_tool", "read the notes"),
    ("agent",),
    ("budget", "set", "--daily", "-5"),
    ("budget", "set", "--daily", "5", "--over", "bogus"),
    ("budget", "set", "--daily", "5", "--profile", "bogus"),
    ("budget", "set"),
    ("budget", "clear", "--profile", "bogus"),
    ("budget", "show", "--bogus"),
    ("chats", "list", "--limit", "0"),
    ("chats", "show", "999"),
    ("chats", "show", "bogus"),
    ("chats", "export", "999"),
    ("chats", "export", "1", "--format", "pdf"),
    ("chats", "export", "1", "-o", KEPT),  # exists: refused without --force
    ("chats", "import", "{home}/no-such-file.json"),
    ("chats", "import", BAD),
    ("chats", "rm", "999", "--yes"),
    ("chats", "rm", "1"),  # no terminal to ask on, no --yes
    ("mcp", "list", "--bogus"),
    ("presets", "add", "terse", "--profile", "bogus", "--system", "Be brief."),
    ("presets", "add", "terse", "--temperature", "9", "--system", "Be brief."),
    ("presets", "add", "terse", "--model", "nosuch", "--system", "Be brief."),
    ("presets", "add", "terse"),  # nothing in it
    ("presets", "add", "kept", "--system", "Be long."),  # exists: refused without --replace
    ("presets", "list", "--bogus"),
    ("presets", "rm", "nosuch"),
    ("presets", "show", "nosuch"),
    ("setup", "--provider", "nosuch"),
    ("setup", "--provider", "openai", "--profile", "bogus"),
    ("setup", "--provider", "openai", "--api-key-env", "BAD NAME"),
    ("setup", "--provider", "openai", "--api-key-stdin"),  # nothing on stdin
]


def _tree(command: click.Command, path: tuple[str, ...], ctx: click.Context) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                found += _tree(sub, (*path, name), ctx)
    return found


def command_paths() -> list[tuple[str, ...]]:
    with click.Context(root) as ctx:
        return _tree(root, (), ctx)


def covers(case: tuple[str, ...], path: tuple[str, ...], paths: set[tuple[str, ...]]) -> bool:
    """The case runs exactly this command (not one of its subcommands)."""
    return case[:len(path)] == path and (*case[:len(path) + 1],) not in paths if len(case) > len(path) \
        else case == path


def test_every_command_has_a_bad_input_case() -> None:
    paths = command_paths()
    known = set(paths)
    missing = [" ".join(p) for p in paths if " ".join(p) not in NO_INPUT
               and not any(covers(case, p, known) for case in CASES)]
    assert missing == [], f"add a bad-input case to CASES for: {missing}"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with something of everything: an override, a custom route, a user model, a job, a
    conversation with a reply and its usage, and a config.toml."""
    from mesoclaw_tui.cli.main import main

    home = tmp_path_factory.mktemp("seeded")
    saved = os.environ.get("MESOCLAW_HOME")
    os.environ["MESOCLAW_HOME"] = str(home)
    try:
        for args in (("router", "task", "code", "--set", "gpt-6-astra"),
                     ("router", "chain", "analysis", "--set", "gpt-6-luna,gpt-6-astra"),
                     ("router", "models", "add", "openai", "my-model", "--tier", "low"),
                     ("schedule", "add", "standup", "--daily", "09:00", "plan my day"),
                     ("providers", "set", "openai", "--base-url", "http://127.0.0.1:9/v1"),
                     ("presets", "add", "kept", "--system", "Be brief.")):
            assert main(list(args)) == 0, args
        asyncio.run(_conversation())
    finally:
        if saved is None:
            del os.environ["MESOCLAW_HOME"]
        else:
            os.environ["MESOCLAW_HOME"] = saved
    (home / "bad.toml").write_text("[router\nprofile = ")
    (home / "kept.toml").write_text("# a file of the user's\n")
    return home


async def _conversation() -> None:
    from mesoclaw_tui.service import RouterService

    async with await RouterService.open(None) as service:
        conversation_id = await service.create_conversation("hello")
        await service.add_user_message(conversation_id, "hello")


def state(home: Path) -> dict[str, str]:
    """Everything a command could change: the database as SQL, and every other file, byte for byte."""
    files = {}
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.name.endswith(("-wal", "-shm")):
            if path.name == "mesoclaw.db":
                with sqlite3.connect(path) as db:
                    files[path.name] = "\n".join(db.iterdump())
            else:
                files[str(path.relative_to(home))] = path.read_bytes().hex()
    return files


@pytest.mark.parametrize("case", CASES, ids=" ".join)
def test_bad_input_exits_2_in_one_line_and_changes_nothing(case, seeded, isolated_env, cli, monkeypatch) -> None:
    shutil.copytree(seeded, isolated_env, dirs_exist_ok=True)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-bad-input")  # configured, so ask gets as far as it can
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    before = state(isolated_env)
    r = cli(*(arg.replace("{home}", str(isolated_env)) for arg in case))
    assert r.code == 2, (r.code, r.out, r.err)
    assert r.err.startswith("mesoclaw: ") and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.out + r.err
    assert state(isolated_env) == before
