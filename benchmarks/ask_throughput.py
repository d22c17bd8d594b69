"""`mesoclaw ask > /dev/null` against a local server streaming small deltas as fast as it can.

Prints deltas per second (target >= 50,000) — the stream's wall time with the command's start-up
and first token (measured by a one-delta run in the same session) taken off — and the peak RSS of
the process for 5,000, 50,000 and 200,000 deltas, to show memory stays flat apart from the text
itself (which is kept: it is saved to the conversation).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_report as report  # noqa: E402

from tests.fakes.provider_server import FakeProviderServer, Stream  # noqa: E402


def run(env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and the child's peak RSS (KiB), measured in a fresh helper process."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    exe = os.path.join(os.path.dirname(sys.executable), "mesoclaw")
    out = subprocess.run([sys.executable, "-c", code, exe, "ask", "-q", "--model", "gpt-4o-mini", "go"],
                         env=env, capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    home = tempfile.mkdtemp(prefix="mesoclaw-bench-")
    with FakeProviderServer() as server:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.update(MESOCLAW_HOME=home, **server.env("openai", api_key="sk-bench-0001"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        route = server.chat_path("openai")

        def timed(n: int, repeats: int = 3) -> tuple[float, int]:
            server.default(route, Stream("openai", n=n, piece="tok ", rate=None))
            results = [run(env) for _ in range(repeats)]
            print(f"    {n:>7,} deltas, wall: {report.spread([r[0] for r in results], 1000, 'ms', 0)}")
            return statistics.median(r[0] for r in results), max(r[1] for r in results)

        print(report.machine())
        timed(1, 1)  # warm: byte-compile, create the database
        base, base_rss = timed(1, 5)
        print(f"1 delta (start-up + first token): {base * 1000:.0f} ms, peak RSS {base_rss / 1024:.1f} MiB")
        for n in (5_000, 50_000, 200_000):
            wall, rss = timed(n)
            rate = n / max(wall - base, 1e-9)
            print(f"{n:>7,} deltas: {wall * 1000:.0f} ms -> {rate:,.0f} deltas/s, peak RSS {rss / 1024:.1f} MiB")
            if n == 50_000:
                report.target("deltas per second (50,000 deltas, median of 3)", rate, 50_000, "deltas/s",
                              at_least=True, digits=0)


if __name__ == "__main__":
    main()
