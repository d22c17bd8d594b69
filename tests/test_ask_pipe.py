"""`mesoclaw ask … | head -c 10`: a reader that goes away ends the command quietly (exit 141, the
shell's code for SIGPIPE), stops the upstream request, and keeps the reply so far with its usage."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from .conftest import PROVIDER_ENV, REPO
from .fakes.provider_server import Stream


def test_a_closed_stdout_ends_quietly_and_keeps_the_reply_so_far(provider_server, isolated_env):
    # A long reply (30 s), paced so that `head` has long gone before it ends, however busy the machine: the
    # test lasts as long as mesoclaw takes to notice the closed pipe, not the reply.
    provider_server.default(provider_server.chat_path("openai"), Stream("openai", n=6000, rate=200))
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env.update(MESOCLAW_HOME=str(isolated_env), **provider_server.env("openai", api_key="sk-test-pipe-0001"))
    command = f"{sys.executable} -m mesoclaw_tui ask --model gpt-4o 'tell me a long story' | head -c 10"
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {command}; echo \"exit=$?\" >&2"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout == "tok tok to"
    assert done.stderr.strip().splitlines()[-1] == "exit=141"
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr and "Error" not in done.stderr
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        usage = conn.execute("SELECT outcome, output_tokens FROM usage WHERE source = 'ask'").fetchall()
        reply = conn.execute("SELECT status, content FROM messages WHERE role = 'assistant'").fetchall()
    assert [u[0] for u in usage] == ["cancelled"]
    assert len(reply) == 1 and reply[0][0] == "cancelled" and reply[0][1].startswith("tok tok to")
    # The upstream request was stopped, not read to its end.
    assert len(reply[0][1].split()) < 400
