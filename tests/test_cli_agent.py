"""`mesoclaw agent` as users and scripts run it: a real subprocess against the fake provider, on a
real terminal (a pty) for the approval prompt, and with no terminal at all (denials), plus
`mesoclaw mcp list`."""

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
from pathlib import Path

import pytest

from tests.conftest import PROVIDER_ENV
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.tool_streams import Call, ToolCallReply

from .test_agent_mcp import stdio

GOAL = "fix the failing python test in this project"
ESC = "\x1b"


@pytest.fixture
def env(provider_server: FakeProviderServer, isolated_env: Path) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    full.update(provider_server.env("openai", api_key="sk-test-key-0001"), MESOCLAW_HOME=str(isolated_env),
                COLUMNS="200")
    return full


@pytest.fixture
def work(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    (root / "notes.txt").write_text("hello\n")
    return root


def script(server: FakeProviderServer, *replies: ToolCallReply) -> None:
    server.script(server.chat_path("openai"), *replies)


def agent(*args: str, env: dict[str, str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`mesoclaw agent …` with no controlling terminal (as from cron): nobody can approve."""
    return subprocess.run([sys.executable, "-m", "mesoclaw_tui", "agent", "--model", "gpt-6-luna", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, input=stdin, timeout=60,
                          start_new_session=True)


def sent_tool_results(server: FakeProviderServer, request: int) -> list[str]:
    body = server.requests_to(server.chat_path("openai"))[request].json
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


# -- no terminal -------------------------------------------------------------------------------------


def test_without_a_terminal_writes_and_commands_are_denied_and_the_model_told(env, work, provider_server):
    script(provider_server,
           ToolCallReply("openai", [Call("read_file", {"path": "notes.txt"}),
                                    Call("run_command", {"argv": ["touch", "ran"]}),
                                    Call("write_file", {"path": "new.txt", "content": "x"})]),
           ToolCallReply("openai", text="I read notes.txt; I was not allowed to change anything."))
    r = agent(GOAL, env=env, cwd=work)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "I read notes.txt; I was not allowed to change anything.\n"
    assert not (work / "ran").exists() and not (work / "new.txt").exists()
    assert "no terminal to ask on" in r.stderr
    assert "$ touch ran: denied: nobody can approve it here" in r.stderr
    read, ran, wrote = sent_tool_results(provider_server, 1)
    assert "hello" in read and "nobody can approve it" in ran and "--allow write_file" in wrote
    assert "Traceback" not in r.stderr


def test_allow_lets_the_named_tool_run_without_a_terminal(env, work, provider_server):
    script(provider_server,
           ToolCallReply("openai", [Call("run_command", {"argv": ["touch", "ran"]}),
                                    Call("write_file", {"path": "new.txt", "content": "x"})]),
           ToolCallReply("openai", text="done"))
    r = agent("--allow", "run_command", GOAL, env=env, cwd=work)
    assert r.returncode == 0, r.stderr
    assert (work / "ran").exists() and not (work / "new.txt").exists()


def test_json_prints_one_line_per_step_then_the_run(env, work, provider_server):
    script(provider_server,
           ToolCallReply("openai", [Call("list_dir", {"path": "."})], text="Looking."),
           ToolCallReply("openai", text="One file: notes.txt."))
    r = agent("--json", env=env, cwd=work, stdin=GOAL)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["step", "step", "run"]
    first, second, run = lines
    assert first["step"] == 1 and first["text"] == "Looking." and first["model"] == "gpt-6-luna"
    assert first["tool_calls"][0]["tool"] == "list_dir" and first["tool_calls"][0]["status"] == "ran"
    assert "notes.txt" in first["tool_calls"][0]["result"]
    assert second["tool_calls"] == [] and run["end"] == "answered" and run["text"] == "One file: notes.txt."
    assert run["steps"] == 2 and run["usage"]["input_tokens"] == 100
    assert r.stderr == ""


def test_stdin_is_context_for_the_goal(env, work, provider_server):
    script(provider_server, ToolCallReply("openai", text="ok"))
    r = agent("summarise this log", env=env, cwd=work, stdin="ERROR: disk full\n")
    assert r.returncode == 0, r.stderr
    sent = provider_server.last_request.json["messages"]
    assert sent[-1] == {"role": "user", "content": "summarise this log\n\nERROR: disk full\n"}


def test_hitting_the_step_limit_exits_6_and_keeps_the_steps(env, work, provider_server, isolated_env):
    script(provider_server, ToolCallReply("openai", [Call("list_dir", {"path": "."})]),
           ToolCallReply("openai", [Call("list_dir", {"path": "."})]))
    r = agent("--max-steps", "2", GOAL, env=env, cwd=work)
    assert r.returncode == 6, r.stderr
    assert "stopped at the step limit (2 steps); the steps so far are kept" in r.stderr.splitlines()[-1]
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        steps = conn.execute("SELECT agent_step, status FROM messages WHERE role = 'assistant'").fetchall()
    assert steps == [(1, "complete"), (2, "incomplete")]


def test_the_cost_limit_comes_from_config_and_the_flag_wins(env, work, provider_server, isolated_env):
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text("[agent]\nmax_cost = 0.01\n")
    expensive = ToolCallReply("openai", [Call("list_dir", {"path": "."})], usage=(200_000, 50_000))
    script(provider_server, expensive)
    r = agent(GOAL, env=env, cwd=work)
    assert r.returncode == 6 and "stopped at the cost limit ($0.01 for the run)" in r.stderr
    script(provider_server, expensive, ToolCallReply("openai", text="fine"))
    assert agent("--max-cost", "1", GOAL, env=env, cwd=work).returncode == 0


def test_a_config_mistake_is_one_line_naming_the_file_and_key(env, work, isolated_env):
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text("[agent]\nmax_steps = 0\n")
    r = agent(GOAL, env=env, cwd=work)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "config.toml: [agent] max_steps must be a whole number from 1 to 1000" in r.stderr


def test_an_allow_that_names_no_tool_is_bad_input(env, work):
    r = agent("--allow", "rm_everything", GOAL, env=env, cwd=work)
    assert r.returncode == 2 and "--allow rm_everything: no such tool" in r.stderr


def test_hostile_tool_output_is_neutralised_on_stderr_and_exact_in_json(env, work, provider_server):
    (work / "evil.txt").write_text(f"{ESC}]0;pwned\a{ESC}[2J\n")
    script(provider_server,
           ToolCallReply("openai", [Call("read_file", {"path": "evil.txt"})], text=f"{ESC}]52;c;aGk=\a"),
           ToolCallReply("openai", text=f"done{ESC}[2J"))
    r = agent(GOAL, env=env, cwd=work)
    assert ESC not in r.stdout and ESC not in r.stderr and "\a" not in r.stderr
    script(provider_server,
           ToolCallReply("openai", [Call("read_file", {"path": "evil.txt"})]),
           ToolCallReply("openai", text="ok"))
    r = agent("--json", GOAL, env=env, cwd=work)
    assert ESC not in r.stdout
    first = json.loads(r.stdout.splitlines()[0])
    assert f"{ESC}]0;pwned\a" in first["tool_calls"][0]["result"]  # JSON keeps the bytes, escaped


# -- on a terminal ----------------------------------------------------------------------------------------


class Pty:
    """`mesoclaw agent …` with a pty as its controlling terminal, driven like a user at it."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes mesoclaw
            try:
                os.chdir(cwd)
                os.execve(sys.executable, [sys.executable, "-m", "mesoclaw_tui", *args], env)
            finally:
                os._exit(127)
        self.seen = ""

    def expect(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.seen):
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not seen in {self.seen!r}")
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"ended before {pattern!r}: {self.seen!r}")
                self.seen += data.decode("utf-8", "replace")
        return self.seen

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536).decode("utf-8", "replace")
                except OSError:
                    pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, 9)
        raise AssertionError(f"still running: {self.seen!r}")


def on_terminal(env: dict[str, str], work: Path, *args: str) -> Pty:
    return Pty(["agent", "--model", "gpt-6-luna", *args, GOAL], env, work)


PROMPT = r"\[a\]pprove .*\[e\]dit > "


def test_approve_on_the_terminal_runs_the_command(env, work, provider_server):
    script(provider_server, ToolCallReply("openai", [Call("run_command", {"command": f"touch approved{ESC}[2J"})]),
           ToolCallReply("openai", text="created it"))
    term = on_terminal(env, work)
    shown = term.expect(PROMPT)
    assert "run_command needs your approval" in shown and "$ touch approved␛[2J" in shown
    assert f"{ESC}[2J" not in shown  # the model's escape sequence is shown, not obeyed
    term.send("a")
    assert term.wait() == 0
    assert (work / f"approved{ESC}[2J").exists() and "created it" in term.seen


def test_deny_on_the_terminal_tells_the_model_why_and_runs_nothing(env, work, provider_server):
    script(provider_server, ToolCallReply("openai", [Call("write_file", {"path": "notes.txt", "content": "gone\n"})]),
           ToolCallReply("openai", text="ok, leaving it"))
    term = on_terminal(env, work)
    shown = term.expect(PROMPT)
    assert "-hello" in shown and "+gone" in shown  # the diff
    term.send("d")
    term.expect("why, for the model")
    term.send("keep my notes")
    assert term.wait() == 0
    assert (work / "notes.txt").read_text() == "hello\n"
    (told,) = sent_tool_results(provider_server, 1)
    assert "the user denied this write_file call. They said: keep my notes" in told


def test_edit_on_the_terminal_runs_the_edited_command_and_says_so(env, work, provider_server):
    script(provider_server, ToolCallReply("openai", [Call("run_command", {"argv": ["touch", "original"]})]),
           ToolCallReply("openai", text="ok"))
    term = on_terminal(env, work)
    term.expect(PROMPT)
    term.send("e")
    term.expect("the command to run instead")
    term.send("touch edited")
    assert term.wait() == 0
    assert (work / "edited").exists() and not (work / "original").exists()
    (told,) = sent_tool_results(provider_server, 1)
    assert told.startswith('(The user edited the arguments before it ran: {"command": "touch edited"})')


def test_always_approves_the_same_command_for_the_rest_of_the_run_only(env, work, provider_server):
    same = Call("run_command", {"argv": ["touch", "a"]})
    script(provider_server, ToolCallReply("openai", [same]), ToolCallReply("openai", [same]),
           ToolCallReply("openai", [Call("run_command", {"argv": ["touch", "b"]})]),
           ToolCallReply("openai", text="done"))
    term = on_terminal(env, work)
    term.expect(PROMPT)
    term.send("l")
    term.expect(r"\$ touch b")  # the same command ran again without a question; another is asked about
    assert term.seen.count("needs your approval") == 2
    term.send("n")
    term.expect("why, for the model")
    term.send("")
    assert term.wait() == 0
    assert (work / "a").exists() and not (work / "b").exists()


# -- mcp list ---------------------------------------------------------------------------------------------


def test_mcp_list_shows_each_server_its_state_and_tools(env, work, isolated_env):
    isolated_env.mkdir(parents=True, exist_ok=True)
    server = stdio()
    (isolated_env / "config.toml").write_text(
        f'[mcp.servers.calc]\ncommand = {json.dumps(server["command"])}\nargs = {json.dumps(server["args"])}\n'
        '[mcp.servers.off]\ncommand = "nosuch"\nenabled = false\n')
    r = subprocess.run([sys.executable, "-m", "mesoclaw_tui", "mcp", "list", "--json"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    calc, off = json.loads(r.stdout)
    assert (calc["name"], calc["state"], off["state"]) == ("calc", "running", "disabled")
    tools = {t["name"]: t for t in calc["tools"]}
    assert tools["calc.add"]["read_only"] and tools["calc.shout.loud"]["wire_name"].startswith("calc__shout_loud_")
    plain = subprocess.run([sys.executable, "-m", "mesoclaw_tui", "mcp", "list"], capture_output=True,
                           text=True, env=env, timeout=60)
    assert "calc (stdio" in plain.stdout and "running" in plain.stdout and "calc.add (read-only)" in plain.stdout
