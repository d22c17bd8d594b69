"""`mesoclaw serve` while other processes write the same database: failed requests and lost usage rows.

Three kinds of process share one database: `mesoclaw serve` (answering REQUESTS non-streaming
requests, CONCURRENCY at a time, from a local provider server), WRITERS shell-style loops of CLI
commands that write (`router profile set`, `router task --set/--clear`, `schedule add/rm`, and
`ask` against the same provider server), and this load generator. Each reply serve answers must
reach its client and leave one usage row; each CLI command must exit 0.

Before the store retried busy writes, serve answered 16 of 4,245 requests with 500 "database is
locked" (and recorded no usage for them). Target: 0 failed requests, 0 missing usage rows, 0 failed
CLI commands.

    REQUESTS=4000 WRITERS=4 CONCURRENCY=8 python benchmarks/db_contention.py
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_report as report  # noqa: E402

from benchmarks.serve_throughput import Target, start_provider, start_serve  # noqa: E402

REQUESTS = int(os.environ.get("REQUESTS", "4000"))
WRITERS = int(os.environ.get("WRITERS", "4"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))

# What each writer loop runs, in turn: every command writes to the database.
COMMANDS = (
    ("router", "profile", "set", "eco"),
    ("router", "task", "code", "--set", "gpt-4o"),
    ("schedule", "add", "job-{n}", "--every", "1h", "say hi"),
    ("ask", "-q", "hello from a writer"),
    ("router", "profile", "set", "balanced"),
    ("router", "task", "code", "--clear"),
    ("schedule", "rm", "job-{n}"),
)


class Writers:
    """WRITERS threads, each running CLI commands one after the other until stopped."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.stop = threading.Event()
        self.ran = 0
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self.loop, args=(i,), daemon=True) for i in range(WRITERS)]

    def loop(self, number: int) -> None:
        for step in itertools.cycle(COMMANDS):
            if self.stop.is_set():
                return
            args = [a.format(n=number) for a in step]
            done = subprocess.run([sys.executable, "-m", "mesoclaw_tui", *args], env=self.env, cwd=ROOT,
                                  capture_output=True, text=True)
            self.ran += 1
            if done.returncode != 0:
                self.failures.append(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[-300:]}")

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


async def load(target: Target, total: int) -> tuple[int, int]:
    """`total` requests, CONCURRENCY at a time, each on its own keep-alive connection; (ok, failed)."""
    counter = itertools.count()
    ok = failed = 0

    async def worker() -> None:
        nonlocal ok, failed
        conn = await target.connect()
        try:
            while next(counter) < total:
                try:
                    good = await target.call(conn)
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                    good = False
                    conn[1].close()
                    conn = await target.connect()
                if good:
                    ok += 1
                else:
                    failed += 1
        finally:
            conn[1].close()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return ok, failed


def serve_rows(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("SELECT COUNT(*) FROM usage WHERE source = 'serve'").fetchone()[0]


async def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="mesoclaw-contention-"))
    provider, provider_env = start_provider()
    env = {**os.environ, "MESOCLAW_HOME": str(home), **provider_env}
    serve, base = start_serve(env)
    target = Target(base + "/chat/completions",
                    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}, {},
                    streamed=False)
    try:
        warm_up = sum(await load(target, 20))  # serve is up and warm
        started = time.perf_counter()
        with Writers(env) as writers:
            ok, failed = await load(target, REQUESTS)
        seconds = time.perf_counter() - started
    finally:
        serve.terminate()  # serve writes usage rows just after each reply; stopping flushes the rest
        serve.wait(15)
        provider.stdin.close()  # type: ignore[union-attr]
        provider.wait(10)
    try:
        rows = serve_rows(home / "mesoclaw.db") - warm_up
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"mesoclaw serve with {WRITERS} CLI writer loops on one database; {report.machine()}")
    print(f"requests: {ok + failed} in {seconds:.1f} s, {CONCURRENCY} in flight: ok {ok}, failed {failed}")
    print(f"usage rows written by serve: {rows} (missing: {ok + failed - rows})")
    print(f"CLI commands run meanwhile: {writers.ran}, failed: {len(writers.failures)}")
    for failure in writers.failures[:5]:
        print(f"  {failure}")
    met = failed == 0 and rows == ok + failed and not writers.failures
    print("(counts of one run: no spread to show)")
    print(f"target 0 failed requests, 0 missing rows, 0 failed commands: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())
