"""Each built-in tool does what its description promises, within its limits."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

import pytest

from mesoclaw_tui.agent.approval import ApprovalRules
from mesoclaw_tui.agent.builtin import ToolLimits
from mesoclaw_tui.agent.tools import CommandRun, FileChange

from .agent_helpers import Dirs, alive, executor, make_dirs
from .waiting import eventually_async

YES = ApprovalRules(approve_all=True)


@pytest.fixture
def dirs(tmp_path: Path) -> Dirs:
    return make_dirs(tmp_path)


def run_with(dirs: Dirs, **limits: object):
    return executor(dirs.workspace(), rules=YES, limits=ToolLimits(**limits))  # type: ignore[arg-type]


# -- read_file ---------------------------------------------------------------------------------

async def test_read_file_numbers_lines_and_reads_a_range(dirs: Dirs) -> None:
    (dirs.root / "f.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    run = run_with(dirs)
    whole = (await run.execute("read_file", {"path": "f.txt"})).result.text
    assert whole.splitlines()[0] == "f.txt: lines 1-10 of 10"
    assert "     3\tline 3" in whole
    part = (await run.execute("read_file", {"path": "f.txt", "start_line": 4, "end_line": 5})).result.text
    assert part.splitlines()[1:] == ["     4\tline 4", "     5\tline 5"]
    assert "cut" not in part
    past = await run.execute("read_file", {"path": "f.txt", "start_line": 50})
    assert past.result.is_error and "past the end" in past.result.text
    backwards = await run.execute("read_file", {"path": "f.txt", "start_line": 5, "end_line": 2})
    assert backwards.result.is_error


async def test_read_file_cuts_at_the_size_cap_and_says_where_to_read_on(dirs: Dirs) -> None:
    (dirs.root / "big.txt").write_text("".join(f"{i:04d} " + "x" * 90 + "\n" for i in range(1, 2001)))
    run = run_with(dirs, read_max_chars=5_000)
    text = (await run.execute("read_file", {"path": "big.txt"})).result.text
    assert len(text) < 6_000
    last = int(text.split("read on with start_line=")[1].rstrip("]")) - 1
    assert f"{last:>6}\t{last:04d}" in text
    nxt = (await run.execute("read_file", {"path": "big.txt", "start_line": last + 1})).result.text
    assert f"{last + 1:>6}\t{last + 1:04d}" in nxt


async def test_read_file_refuses_binary_files_and_cuts_endless_lines(dirs: Dirs) -> None:
    (dirs.root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (dirs.root / "min.js").write_text("var a=1;" * 100_000 + "\nsecond\n")
    run = run_with(dirs)
    binary = await run.execute("read_file", {"path": "image.png"})
    assert binary.result.is_error and "binary" in binary.result.text
    minified = (await run.execute("read_file", {"path": "min.js"})).result.text
    assert "line cut: 800,001 bytes" in minified and "     2\tsecond" in minified
    assert len(minified) < 10_000


async def test_read_file_shows_empty_files_and_replaces_bad_utf8(dirs: Dirs) -> None:
    (dirs.root / "empty").write_text("")
    (dirs.root / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    run = run_with(dirs)
    assert (await run.execute("read_file", {"path": "empty"})).result.text == "empty: empty file"
    assert "caf\ufffd" in (await run.execute("read_file", {"path": "latin1.txt"})).result.text


# -- list_dir ----------------------------------------------------------------------------------

async def test_list_dir_one_level_and_recursive_without_ignored_files(dirs: Dirs) -> None:
    (dirs.root / "src").mkdir()
    (dirs.root / "src" / "app.py").write_text("print()\n")
    (dirs.root / "build").mkdir()
    (dirs.root / "build" / "out.o").write_bytes(b"\0")
    (dirs.root / ".gitignore").write_text("build/\n")
    (dirs.root / ".git").mkdir()
    (dirs.root / ".git" / "HEAD").write_text("ref\n")
    run = run_with(dirs)
    flat = (await run.execute("list_dir", {})).result.text.splitlines()
    assert flat == [".:", ".git/", ".gitignore  7 B", "build/", "src/"]
    tree = (await run.execute("list_dir", {"path": ".", "recursive": True})).result.text.splitlines()
    assert tree == [".:", ".gitignore  7 B", "src/", "src/app.py  8 B"]


async def test_list_dir_stops_at_its_cap(dirs: Dirs) -> None:
    for i in range(30):
        (dirs.root / f"f{i:02d}").write_text("")
    text = (await run_with(dirs, list_max_entries=10).execute("list_dir", {})).result.text
    assert len(text.splitlines()) == 12 and "10 entries shown" in text


# -- search ------------------------------------------------------------------------------------

@pytest.fixture
def repo(dirs: Dirs) -> Path:
    root = dirs.root
    (root / ".gitignore").write_text("*.log\n!keep.log\nvendor/\n")
    (root / "src").mkdir()
    (root / "src" / "main.py").write_text("def main():\n    return TODO\n# todo later\n")
    (root / "src" / ".gitignore").write_text("generated.py\n")
    (root / "src" / "generated.py").write_text("TODO generated\n")
    (root / "debug.log").write_text("TODO in a log\n")
    (root / "keep.log").write_text("TODO kept\n")
    (root / "vendor").mkdir()
    (root / "vendor" / "lib.py").write_text("TODO vendored\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("TODO git\n")
    (root / ".git" / "info").mkdir()
    (root / ".git" / "info" / "exclude").write_text("mine.txt\n")
    (root / "mine.txt").write_text("TODO excluded locally\n")
    (root / "blob.bin").write_bytes(b"TODO\0binary")
    return root


async def test_search_finds_lines_and_respects_gitignore_files(dirs: Dirs, repo: Path) -> None:
    text = (await run_with(dirs).execute("search", {"pattern": "TODO"})).result.text
    lines = text.splitlines()
    assert lines[0] == "2 matching lines in 2 files"
    assert sorted(lines[1:]) == ["keep.log:1: TODO kept", "src/main.py:2:     return TODO"]


async def test_search_in_a_subdirectory_keeps_the_root_gitignore_and_root_relative_paths(
        dirs: Dirs, repo: Path) -> None:
    (repo / "src" / "trace.log").write_text("TODO ignored by the root's *.log\n")
    text = (await run_with(dirs).execute("search", {"pattern": "TODO", "path": "src"})).result.text
    assert text.splitlines()[1:] == ["src/main.py:2:     return TODO"]


async def test_search_options_ignore_case_glob_and_a_single_file(dirs: Dirs, repo: Path) -> None:
    run = run_with(dirs)
    folded = (await run.execute("search", {"pattern": "todo", "ignore_case": True, "glob": "*.py"})).result.text
    assert folded.splitlines()[1:] == ["src/main.py:2:     return TODO", "src/main.py:3: # todo later"]
    one = (await run.execute("search", {"pattern": r"^def \w+", "path": "src/main.py"})).result.text
    assert one.splitlines()[1:] == ["src/main.py:1: def main():"]
    none = (await run.execute("search", {"pattern": "nowhere"})).result.text
    assert none == "no matches for 'nowhere'"


async def test_search_stops_at_max_results(dirs: Dirs) -> None:
    (dirs.root / "many.txt").write_text("hit\n" * 500)
    text = (await run_with(dirs).execute("search", {"pattern": "hit", "max_results": 5})).result.text
    assert len([ln for ln in text.splitlines() if ln.startswith("many.txt:")]) == 5
    assert "stopped at 5 results" in text


async def test_search_reports_a_bad_pattern_and_survives_catastrophic_backtracking(dirs: Dirs) -> None:
    (dirs.root / "a.txt").write_text("a" * 5000 + "!\n")
    run = run_with(dirs, search_seconds=0.3)
    bad = await run.execute("search", {"pattern": "(unclosed"})
    assert bad.result.is_error and "bad regular expression" in bad.result.text
    started = time.monotonic()
    slow = await run.execute("search", {"pattern": r"(a+)+$"})
    assert time.monotonic() - started < 5
    assert "stopped after 0.3 s" in slow.result.text


# -- write_file and edit_file ------------------------------------------------------------------

async def test_write_file_creates_directories_and_shows_the_diff(dirs: Dirs) -> None:
    run = run_with(dirs)
    created = await run.execute("write_file", {"path": "pkg/new/mod.py", "content": "a = 1\n"})
    assert created.result.text == "created pkg/new/mod.py (+1 -0)"
    assert (dirs.root / "pkg" / "new" / "mod.py").read_text() == "a = 1\n"
    detail = created.result.detail
    assert isinstance(detail, FileChange) and detail.created and detail.diff.startswith("--- /dev/null")
    replaced = await run.execute("write_file", {"path": "pkg/new/mod.py", "content": "a = 2\nb = 3"})
    assert replaced.result.text == "wrote pkg/new/mod.py (+2 -1)"
    assert replaced.result.detail.diff.endswith("+b = 3\n\\ No newline at end of file\n")


async def test_write_file_keeps_the_file_mode_and_leaves_no_temporary_file(dirs: Dirs) -> None:
    script = dirs.root / "run.sh"
    script.write_text("echo old\n")
    script.chmod(0o750)
    await run_with(dirs).execute("write_file", {"path": "run.sh", "content": "echo new\n"})
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert sorted(os.listdir(dirs.root)) == ["run.sh"]


async def test_write_file_refuses_a_directory_and_oversized_content(dirs: Dirs) -> None:
    (dirs.root / "d").mkdir()
    run = run_with(dirs, write_max_bytes=10)
    assert (await run.execute("write_file", {"path": "d", "content": "x"})).result.is_error
    big = await run.execute("write_file", {"path": "f", "content": "x" * 11})
    assert big.result.is_error and "limit" in big.result.text and not (dirs.root / "f").exists()


async def test_edit_file_replaces_one_exact_match_and_shows_the_diff(dirs: Dirs) -> None:
    (dirs.root / "m.py").write_text("x = 1\ny = 2\n")
    outcome = await run_with(dirs).execute("edit_file", {"path": "m.py", "old_string": "y = 2", "new_string": "y = 3"})
    assert (dirs.root / "m.py").read_text() == "x = 1\ny = 3\n"
    assert outcome.result.text.splitlines()[0] == "edited m.py (+1 -1)"
    assert "-y = 2\n+y = 3\n" in outcome.result.detail.diff
    assert "-y = 2" in outcome.result.text  # the model sees the diff too


async def test_edit_file_refuses_ambiguous_and_missing_text_and_can_replace_all(dirs: Dirs) -> None:
    path = dirs.root / "m.py"
    path.write_text("a = 0\na = 0\n")
    run = run_with(dirs)
    twice = await run.execute("edit_file", {"path": "m.py", "old_string": "a = 0", "new_string": "a = 1"})
    assert twice.result.is_error and "appears 2 times" in twice.result.text
    missing = await run.execute("edit_file", {"path": "m.py", "old_string": "b = 0", "new_string": "b = 1"})
    assert missing.result.is_error and "not found" in missing.result.text
    assert path.read_text() == "a = 0\na = 0\n"
    every = await run.execute("edit_file", {"path": "m.py", "old_string": "a = 0", "new_string": "a = 1",
                                            "replace_all": True})
    assert "replaced 2 occurrences" in every.result.text and path.read_text() == "a = 1\na = 1\n"
    nothing = await run.execute("edit_file", {"path": "m.py", "old_string": "a", "new_string": "a"})
    assert nothing.result.is_error
    absent = await run.execute("edit_file", {"path": "nope.py", "old_string": "a", "new_string": "b"})
    assert absent.result.is_error and "use write_file" in absent.result.text


async def test_edit_file_keeps_crlf_line_endings_and_refuses_non_utf8(dirs: Dirs) -> None:
    (dirs.root / "win.txt").write_bytes(b"one\r\ntwo\r\n")
    (dirs.root / "old.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    run = run_with(dirs)
    await run.execute("edit_file", {"path": "win.txt", "old_string": "one\ntwo", "new_string": "1\n2"})
    assert (dirs.root / "win.txt").read_bytes() == b"1\r\n2\r\n"
    latin = await run.execute("edit_file", {"path": "old.txt", "old_string": "caf", "new_string": "tea"})
    assert latin.result.is_error and "not UTF-8" in latin.result.text
    assert (dirs.root / "old.txt").read_bytes() == "caf\xe9\n".encode("latin-1")


# -- run_command -------------------------------------------------------------------------------

async def test_run_command_runs_argv_without_a_shell_and_a_shell_line_with_one(dirs: Dirs) -> None:
    run = run_with(dirs)
    argv = await run.execute("run_command", {"argv": ["echo", "a;b", "$HOME"]})
    assert argv.result.text == "exit code 0\na;b $HOME\n"
    shell = await run.execute("run_command", {"command": "echo one && echo two >&2; exit 3"})
    assert shell.result.text == "exit code 3\none\ntwo\n"
    detail = shell.result.detail
    assert isinstance(detail, CommandRun) and detail.exit_code == 3 and not detail.timed_out


async def test_run_command_reports_what_it_cannot_run(dirs: Dirs) -> None:
    run = run_with(dirs)
    missing = await run.execute("run_command", {"argv": ["definitely-not-a-program-xyz"]})
    assert missing.result.is_error and "could not start" in missing.result.text
    both = await run.execute("run_command", {"argv": ["ls"], "command": "ls"})
    assert both.result.is_error and "exactly one" in both.result.text
    neither = await run.execute("run_command", {})
    assert neither.result.is_error


async def test_run_command_timeout_kills_the_whole_process_group(dirs: Dirs) -> None:
    run = run_with(dirs, command_kill_grace=0.5)
    started = time.monotonic()
    outcome = await run.execute("run_command", {"command": "sleep 30 & echo $! > child.pid; echo started; wait",
                                                "timeout": 0.5})
    assert time.monotonic() - started < 5
    assert outcome.result.is_error and outcome.result.text.startswith("timed out after 0.5 s")
    assert "started" in outcome.result.text
    assert outcome.result.detail.timed_out and outcome.result.detail.exit_code is None
    child = int((dirs.root / "child.pid").read_text())
    await eventually_async(lambda: not alive(child), what="the killed child to die")


async def test_run_command_leaves_no_background_process_behind(dirs: Dirs) -> None:
    outcome = await run_with(dirs).execute("run_command", {"command": "sleep 30 & echo $! > child.pid"})
    assert outcome.result.text.startswith("exit code 0")
    child = int((dirs.root / "child.pid").read_text())
    await eventually_async(lambda: not alive(child), what="the killed child to die")


async def test_run_command_cancelled_kills_the_process(dirs: Dirs) -> None:
    run = run_with(dirs)
    task = asyncio.create_task(run.execute("run_command", {"command": "echo $$ > pid; sleep 30"}))
    pid_file = dirs.root / "pid"
    await eventually_async(lambda: pid_file.exists() and pid_file.read_text().endswith("\n"),
                           what="the command to start")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pid = int(pid_file.read_text())
    await eventually_async(lambda: not alive(pid), what="the killed command to die")


async def test_run_command_caps_output_keeping_head_and_tail(dirs: Dirs) -> None:
    outcome = await run_with(dirs, command_output_bytes=1_000).execute(
        "run_command", {"command": "echo FIRST; seq 1 100000; echo LAST"})
    text = outcome.result.text
    assert "FIRST" in text and "LAST" in text and "bytes of output left out" in text
    assert len(text) < 1_200 and outcome.result.detail.truncated


async def test_run_command_hides_provider_keys_and_has_no_terminal(dirs: Dirs,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-should-not-leak")
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    run = run_with(dirs)
    env = (await run.execute("run_command", {"argv": ["env"]})).result.text
    assert "should-not-leak" not in env and "HARMLESS_SETTING=visible" in env
    started = time.monotonic()
    stdin = await run.execute("run_command", {"argv": ["cat"]})  # stdin is empty, not the user's terminal
    assert stdin.result.text == "exit code 0\n(no output)" and time.monotonic() - started < 5
    tty = await run.execute("run_command", {"command": "echo hi > /dev/tty"})
    assert tty.result.text.startswith("exit code ") and not tty.result.text.startswith("exit code 0")
