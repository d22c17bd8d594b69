"""Time from launch until the chat screen is drawn in a real terminal (tmux), against a minimal
Textual app (Header, Static, Footer) measured the same way in the same run.

    python3 benchmarks/tui_first_paint.py [RUNS]

Prints the median of each and their ratio (target: mesoclaw <= 1.3x the minimal app).
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
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    python = shlex.quote(sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal.py"
        minimal.write_text(MINIMAL_APP)
        env = {"MESOCLAW_HOME": tmp, "TERM": "xterm-256color"}
        # one untimed run each: creates the database and warms the OS file cache for both
        time_to_marker(f"{python} -m mesoclaw_tui", "enter send", env)
        time_to_marker(f"{python} {minimal}", "minimal app ready", env)
        ours, theirs = [], []
        for _ in range(runs):  # interleaved, so both see the same machine load
            ours.append(time_to_marker(f"{python} -m mesoclaw_tui", "enter send", env))
            theirs.append(time_to_marker(f"{python} {minimal}", "minimal app ready", env))
    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"first paint, median of {runs} runs at 80x24 in tmux")
    print(f"  mesoclaw chat screen : {a * 1000:7.0f} ms   (runs: {', '.join(f'{x*1000:.0f}' for x in ours)})")
    print(f"  minimal Textual app  : {b * 1000:7.0f} ms   (runs: {', '.join(f'{x*1000:.0f}' for x in theirs)})")
    print(f"  ratio                : {a / b:7.2f}x   (target <= 1.3x)")


if __name__ == "__main__":
    main()
