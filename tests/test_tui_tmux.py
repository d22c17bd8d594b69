"""Smoke test in a real terminal: tmux runs `mesoclaw` (no provider: it opens on the setup screen,
esc goes to the chat), we press ctrl+r and quit, and the headless CLI sees the new profile
(balanced -> premium)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROVIDER_ENV, run_mesoclaw

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def tmux(*args: str, socket: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, check=True).stdout


# Only bounds a hang: on a loaded 2-core machine a cold start of the app in tmux can take many seconds.
PANE_DEADLINE_S = 60.0
# After the app ends, the pane's shell waits this long (the test kills the tmux server first), so the pane
# is still there to be read however slowly the test gets to it.
LINGER = "sleep 300"


def pane(socket: str) -> str:
    return tmux("capture-pane", "-p", "-t", "smoke", socket=socket)


def wait_for_pane(socket: str, text: str, timeout: float = PANE_DEADLINE_S, gone: bool = False) -> str:
    """Until text is on the pane (or, with gone=True, no longer on it)."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = pane(socket)
        if (text in shown) != gone:
            return shown
        time.sleep(0.1)
    raise AssertionError(f"{text!r} {'stayed on' if gone else 'never appeared on'} the pane:\n{shown}")


def test_ctrl_r_in_a_real_terminal_saves_the_profile(isolated_env: Path, tmp_path: Path) -> None:
    socket = f"mesoclaw-smoke-{os.getpid()}"  # a private tmux server: never touches the user's
    env = {"MESOCLAW_HOME": str(isolated_env), "TERM": "xterm-256color"}
    unset = " ".join(f"-u {name}" for name in PROVIDER_ENV)
    command = f"env {unset} " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + \
        f" {shlex.quote(sys.executable)} -m mesoclaw_tui; {LINGER}"
    tmux("new-session", "-d", "-s", "smoke", "-x", "80", "-y", "24", command, socket=socket)
    try:
        shown = wait_for_pane(socket, "(mode 0600)")
        assert "Setup" in shown and "OpenAI" in shown  # no provider: the setup screen first
        tmux("send-keys", "-t", "smoke", "Escape", socket=socket)
        wait_for_pane(socket, "^r Profile")  # the chat's footer (the setup screen has its own)
        shown = wait_for_pane(socket, "BALANCED")
        assert "Chat" in shown and "^r Profile" in shown  # drawn, footer readable at 80x24
        tmux("send-keys", "-t", "smoke", "C-r", socket=socket)
        wait_for_pane(socket, "PREMIUM")
        tmux("send-keys", "-t", "smoke", "C-q", socket=socket)
        wait_for_pane(socket, "PREMIUM", gone=True)  # the app quit on ctrl+q: its screen is gone
        assert "Traceback" not in pane(socket)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    result = run_mesoclaw("router", "profile", "--json", env={"MESOCLAW_HOME": str(isolated_env)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["profile"] == "premium"


def test_a_hostile_reply_changes_neither_the_pane_title_nor_the_clipboard(isolated_env: Path) -> None:
    """In a real terminal (tmux with set-clipboard on), a reply carrying OSC 0 (title) and OSC 52
    (clipboard write) is drawn with those sequences visible, and neither takes effect."""
    from tests.fakes.hostile import hostile_mode
    from tests.fakes.provider_server import FakeProviderServer

    socket = f"mesoclaw-hostile-{os.getpid()}"
    with FakeProviderServer() as server:
        hostile_mode(server)
        env = {"MESOCLAW_HOME": str(isolated_env), "TERM": "xterm-256color",
               **server.env("openai", api_key="sk-test-tmux")}
        unset = " ".join(f"-u {name}" for name in PROVIDER_ENV if name not in env)
        command = f"env {unset} " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + \
            f" {shlex.quote(sys.executable)} -m mesoclaw_tui; {LINGER}"
        tmux("-f", "/dev/null", "new-session", "-d", "-s", "smoke", "-x", "100", "-y", "30", command, socket=socket)
        try:
            tmux("set-option", "-g", "set-clipboard", "on", socket=socket)
            tmux("set-option", "-g", "allow-rename", "on", socket=socket)
            wait_for_pane(socket, "BALANCED")
            title = tmux("display-message", "-p", "-t", "smoke", "#{pane_title}", socket=socket)
            assert tmux("list-buffers", socket=socket) == ""
            tmux("send-keys", "-t", "smoke", "-l", "tell me something", socket=socket)
            tmux("send-keys", "-t", "smoke", "Enter", socket=socket)
            shown = wait_for_pane(socket, " in / ")  # the reply's label: it has finished
            assert "␛]0;pwned-title␇" in shown  # drawn, visibly
            # tmux acts on what the app writes in order, and the label came after the reply's text: a
            # title or clipboard sequence in that text would have taken effect before the label showed.
            assert tmux("display-message", "-p", "-t", "smoke", "#{pane_title}", socket=socket) == title
            assert "pwned" not in tmux("display-message", "-p", "-t", "smoke", "#{window_name}", socket=socket)
            assert tmux("list-buffers", socket=socket) == ""  # OSC 52 would have made a paste buffer
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def test_keys_sent_quickly_reach_the_fields_in_order(isolated_env: Path) -> None:
    """The report of issue 11 (item 4), as it was made: in the model browser's search, `claude low`,
    ten backspaces and `available` sent by tmux send-keys read `available` (not `clavailab`); the
    chain editor saves what was typed."""
    socket = f"mesoclaw-typing-{os.getpid()}"
    env = {"MESOCLAW_HOME": str(isolated_env), "TERM": "xterm-256color"}
    unset = " ".join(f"-u {name}" for name in PROVIDER_ENV)
    command = f"env {unset} " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + \
        f" {shlex.quote(sys.executable)} -m mesoclaw_tui; {LINGER}"
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "smoke", "-x", "80", "-y", "24", command, socket=socket)
    try:
        wait_for_pane(socket, "(mode 0600)")  # no provider: the setup screen first
        tmux("send-keys", "-t", "smoke", "Escape", socket=socket)
        wait_for_pane(socket, "^r Profile")
        tmux("send-keys", "-t", "smoke", "C-f", socket=socket)
        wait_for_pane(socket, "type to search models")
        tmux("send-keys", "-t", "smoke", "-l", "claude low", socket=socket)
        tmux("send-keys", "-t", "smoke", *["BSpace"] * 10, socket=socket)
        tmux("send-keys", "-t", "smoke", "-l", "available", socket=socket)
        pane = wait_for_pane(socket, " of ")  # the count under the list
        time.sleep(1.0)  # every key has been handled by now
        pane = tmux("capture-pane", "-p", "-t", "smoke", socket=socket)
        search_line = next(line for line in pane.splitlines() if "All providers" in line)
        assert search_line.split("All providers")[1].split("▼")[-1].strip() == "available", search_line
        tmux("send-keys", "-t", "smoke", "C-o", socket=socket)
        wait_for_pane(socket, "Task routing")
        tmux("send-keys", "-t", "smoke", "e", socket=socket)
        wait_for_pane(socket, "Custom chain for code")
        tmux("send-keys", "-t", "smoke", "C-u", socket=socket)
        tmux("send-keys", "-t", "smoke", "-l", "gpt-6-astra,gpt-6-lunx", socket=socket)
        tmux("send-keys", "-t", "smoke", "BSpace", "a", "Enter", socket=socket)
        wait_for_pane(socket, "custom route saved")
        tmux("send-keys", "-t", "smoke", "C-q", socket=socket)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    result = run_mesoclaw("router", "chain", "code", "--json", env={"MESOCLAW_HOME": str(isolated_env)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["custom_route"] == ["gpt-6-astra", "gpt-6-luna"], result.stdout
