"""Time from launch until the chat screen shows the active profile, read from the database, in a
real terminal (tmux), against a plain Textual app (Header, Static, Footer) measured the same way in
interleaved pairs.

    python3 benchmarks/tui_first_paint.py [PAIRS]     (default 15 pairs)

The database is set to the premium profile first, so the clock stops only once the app has opened
it and drawn PREMIUM in its top bar (what a user looks for), not at the first frame. Prints each
side's min/median/max, the ratio of the medians, the target (<= 1.2x) and whether it is met, the
machine's core count and its load average before and after (the machine may be shared).
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_report import machine, spread, target

TARGET = 1.2
MINIMAL_APP = '''
from textual.app import App
from textual.widgets import Footer, Header, Static

class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("minimal app ready")
        yield Footer()

Minimal().run()
'''
PROFILE = "premium"
OURS_MARKER = f" {PROFILE.upper()} "  # the top bar: `profile  PREMIUM  ^r`
THEIRS_MARKER = "minimal app ready"
SOCKET = f"mesoclaw-bench-{os.getpid()}"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True).stdout


def time_to_marker(command: str, marker: str, env: dict[str, str]) -> float:
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    start = time.perf_counter()
    # As after `pip install`, which byte-compiles the package: Python may cache our modules (an
    # editable install under PYTHONDONTWRITEBYTECODE=1 would recompile them on every start).
    tmux("new-session", "-d", "-s", "bench", "-x", "80", "-y", "24",
         f"env -u PYTHONDONTWRITEBYTECODE {exports} {command}")
    try:
        while True:
            if marker in tmux("capture-pane", "-p", "-t", "bench"):
                return time.perf_counter() - start
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"{marker!r} never appeared")
            time.sleep(0.005)
    finally:
        tmux("kill-session", "-t", "bench")
        time.sleep(0.2)


def main() -> None:
    pairs = max(15, int(sys.argv[1])) if len(sys.argv) > 1 else 15
    python = shlex.quote(sys.executable)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal.py"
        minimal.write_text(MINIMAL_APP)
        env = {"MESOCLAW_HOME": tmp, "TERM": "xterm-256color"}
        subprocess.run([sys.executable, "-m", "mesoclaw_tui", "router", "profile", "set", PROFILE],
                       env={**os.environ, **env}, check=True, capture_output=True)
        # one untimed run each: warms the OS file cache and the byte-code caches for both
        time_to_marker(f"{python} -m mesoclaw_tui", OURS_MARKER, env)
        time_to_marker(f"{python} {minimal}", THEIRS_MARKER, env)
        ours, theirs = [], []
        for _ in range(pairs):  # interleaved, so both see the same machine load
            ours.append(time_to_marker(f"{python} -m mesoclaw_tui", OURS_MARKER, env))
            theirs.append(time_to_marker(f"{python} {minimal}", THEIRS_MARKER, env))
    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
    ratio = statistics.median(ours) / statistics.median(theirs)
    pair_ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    print(f"first paint at 80x24 in tmux, {pairs} interleaved pairs; load average {load_before} before")
    print(machine())
    print(f"  mesoclaw (profile shown)  : {spread(ours, 1000, 'ms', 0)}")
    print(f"  minimal Textual app       : {spread(theirs, 1000, 'ms', 0)}")
    print(f"  ratio pair by pair        : {spread(pair_ratios, 1, 'x')}")
    target("first paint, ratio of the medians", ratio, TARGET, "x")

if __name__ == "__main__":
    main()
