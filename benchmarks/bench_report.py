"""What every benchmark prints besides its figures: the machine (core count, load average), the spread
of a set of measurements (min / median / max), and each target with whether it is met.

    from bench_report import machine, spread, target      # the script's folder is on sys.path

    print(machine())
    print(f"time to first token: {spread(samples, 1000, 'ms')}")
    target("engine overhead (median)", overhead_ms, 1.0, "ms")

A target line reads `target <label>: <value> <unit> (<= <limit>): met` (or `NOT met`); `at_least=True`
flips the comparison for figures where more is better (requests per second). All print to stdout.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable


def machine() -> str:
    """The shape of the machine the figures come from (it may be shared: the load says how busy), and
    how fast its CPU is right now (`speed_check`)."""
    try:
        affinity = f", {len(os.sched_getaffinity(0))} usable"
    except AttributeError:  # not on Linux
        affinity = ""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores{affinity}, load average {load}, "
            f"speed check {speed_check():.1f} ms")


def speed_check() -> float:
    """Milliseconds for a fixed piece of pure-Python work (the median of 7). A virtual machine's CPU is
    shared with its host's other guests, and the same code on the same machine measured 1.5-1.7x slower
    an hour apart with the load average near 0 (benchmarks/README.md): this figure says which state the
    other figures were taken in (compare it between runs; benchmarks/README.md lists what it read)."""
    def work() -> float:
        start = time.perf_counter()
        table: dict[int, int] = {}
        for i in range(100_000):
            table[i % 977] = table.get(i % 977, 0) + i
        return time.perf_counter() - start

    return statistics.median(work() for _ in range(7)) * 1000


def spread(values: Iterable[float], scale: float = 1.0, unit: str = "", digits: int = 2) -> str:
    """`min A / median B / max C unit (n=N)`, each value multiplied by `scale` (1000: seconds -> ms)."""
    xs = sorted(v * scale for v in values)
    if not xs:
        return "no samples"
    fmt = f"{{:.{digits}f}}"
    suffix = f" {unit}" if unit else ""
    return (f"min {fmt.format(xs[0])} / median {fmt.format(statistics.median(xs))} / max {fmt.format(xs[-1])}"
            f"{suffix} (n={len(xs)})")


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method."""
    xs = sorted(values)
    rank = max(1, min(len(xs), round(q / 100 * len(xs) + 0.5)))
    return xs[rank - 1]


def target(label: str, value: float, limit: float, unit: str = "", *, at_least: bool = False,
           digits: int = 2) -> bool:
    """Print whether `value` meets `limit` (at most, or with at_least at least); return it."""
    met = value >= limit if at_least else value <= limit
    sign = ">=" if at_least else "<="
    suffix = f" {unit}" if unit else ""
    print(f"target {label}: {value:.{digits}f}{suffix} ({sign} {limit:g}{suffix}): {'met' if met else 'NOT met'}")
    return met
