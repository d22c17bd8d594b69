"""Cold start of a headless command vs importing its bare dependencies, measured in the same run.

Prints the median wall time of `mesoclaw router status --json` (the installed console script, a
fresh database prepared first) and of `python -c "import click, aiosqlite, asyncio, sqlite3, json"`,
runs interleaved so machine noise hits both alike, and their ratio (target <= 1.3x).

With `--against DIR` (a checkout of another commit, e.g. `git archive BASE | tar -x -C DIR`) it
instead runs `router status --json` from this tree and from DIR, interleaved, and prints both
medians and their ratio: how a change moved the cold start (target: not slower, ratio <= 1.0
within the noise the min-max spread shows).
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

import bench_report as report


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--against", metavar="DIR", help="compare with router status run from this source tree")
    args = parser.parse_args()
    if args.against:
        compare_trees(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), args.against, args.runs)
        return
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
    print(report.machine())
    print(f"mesoclaw router status --json: {report.spread(ours, 1000, 'ms', 1)}")
    print(f"python -c 'import click, aiosqlite, asyncio, sqlite3, json': {report.spread(base, 1000, 'ms', 1)}")
    report.target("cold start, ratio of the medians", m_ours / m_base, 1.3, "x")
    shutil.rmtree(home, ignore_errors=True)


def compare_trees(ours: str, theirs: str, runs: int) -> None:
    code = 'import sys; from mesoclaw_tui.cli.main import main; sys.exit(main(["router", "status", "--json"]))'
    times: dict[str, list[float]] = {ours: [], theirs: []}
    envs = {}
    for tree in times:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "PYTHONDONTWRITEBYTECODE"}
        env.update(MESOCLAW_HOME=tempfile.mkdtemp(prefix="mesoclaw-bench-"), OPENAI_API_KEY="sk-bench-0000",
                   PYTHONPATH=tree)
        envs[tree] = env
        timed([sys.executable, "-c", code], env)  # database, byte-code and page cache, first
    for _ in range(runs):
        for tree in times:
            times[tree].append(timed([sys.executable, "-c", code], envs[tree]))
    print(report.machine())
    for tree, label in ((ours, "this tree"), (theirs, theirs)):
        print(f"router status --json from {label}: {report.spread(times[tree], 1000, 'ms', 1)}")
    pairs = [a / b for a, b in zip(times[ours], times[theirs], strict=True)]
    print(f"ratio this/other, pair by pair: {report.spread(pairs, 1, 'x', 3)}")
    report.target("this tree vs the other, median ratio of pairs (within the noise)", statistics.median(pairs),
                  1.0, "x", digits=3)
    for env in envs.values():
        shutil.rmtree(env["MESOCLAW_HOME"], ignore_errors=True)


if __name__ == "__main__":
    main()
