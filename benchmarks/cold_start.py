"""Cold start of a headless command vs importing its bare dependencies, measured in the same run.

Prints the median wall time of `mesoclaw router status --json` (the installed console script, a
fresh database prepared first) and of `python -c "import click, aiosqlite, asyncio, sqlite3, json"`,
runs interleaved so machine noise hits both alike, and their ratio (target <= 1.3x).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="mesoclaw-bench-")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["MESOCLAW_HOME"] = home
    # As after `pip install`, which byte-compiles the package: let Python cache our modules too
    # (an editable install under PYTHONDONTWRITEBYTECODE=1 would recompile them on every start).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["OPENAI_API_KEY"] = "sk-bench-0000"
    # The console script next to this interpreter (a pyenv or asdf shim would add its own start-up).
    exe = os.path.join(os.path.dirname(sys.executable), "mesoclaw")
    if not os.path.exists(exe):
        exe = shutil.which("mesoclaw") or sys.exit("mesoclaw is not installed (pip install -e .)")
    command = [exe, "router", "status", "--json"]
    baseline = [sys.executable, "-c", "import click, aiosqlite, asyncio, sqlite3, json"]
    timed(command, env)  # creates and migrates the database, warms the page cache
    timed(baseline, env)
    ours, base = [], []
    for _ in range(args.runs):
        ours.append(timed(command, env))
        base.append(timed(baseline, env))
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    print(f"mesoclaw router status --json: median {m_ours * 1000:.1f} ms over {args.runs} runs")
    print(f"python -c 'import click, aiosqlite, asyncio, sqlite3, json': median {m_base * 1000:.1f} ms")
    print(f"ratio: {m_ours / m_base:.2f}x (target <= 1.3x)")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
