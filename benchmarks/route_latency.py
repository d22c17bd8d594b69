"""classify + route of a prompt in-process: latency percentiles, and linearity up to 1 MB.

Prints min, median, p99 and max for a 200-character prompt, with the router's memo both warm (the
usual case: the same profile, task and availability; target median <= 20 us, p99 <= 100 us) and
cold (every call routed from scratch, against a registry built beforehand; target p99 <= 100 us,
issue 16), whether each target is met, the machine's core count, and the time for 2 KB, 20 KB,
200 KB and 1 MB prompts (target: 1 MB <= 50 ms, and linear).

The registries for the cold runs are built before timing and then frozen out of the garbage
collector (gc.freeze), as a long-lived process's registry is: otherwise collections that scan
thousands of benchmark-only registries would be timed as routing.
"""

from __future__ import annotations

import gc
import os
import statistics
import time

from mesoclaw_tui.core.classifier import classify
from mesoclaw_tui.core.registry import BUILTIN_MODELS, Registry
from mesoclaw_tui.core.router import Availability, route
from mesoclaw_tui.core.tokens import estimate_tokens
from mesoclaw_tui.core.types import RoutingProfile

PROMPT = ("I get a KeyError in my Flask app when the session expires; here is the view function, can you "
          "tell me why request.form['user'] fails and how to fix it without breaking the login flow of the "
          "whole app?")[:200]
AVAIL = Availability(configured=frozenset({"openai", "anthropic", "google", "openrouter"}))


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def report(label: str, samples: list[float], targets: dict[str, float]) -> None:
    """One line of figures in microseconds, then whether each target ("median", "p99") is met."""
    med, p99 = percentiles(samples)
    figures = {"min": min(samples), "median": med, "p99": p99, "max": max(samples)}
    shown = ", ".join(f"{k} {v * 1e6:.1f} us" for k, v in figures.items())
    verdict = "; ".join(f"{k} <= {limit:g} us {'met' if figures[k] * 1e6 <= limit else 'NOT met'}"
                        for k, limit in targets.items())
    print(f"200-char prompt, {label}: {shown} (target: {verdict})")


def classify_and_route(text: str, registry: Registry) -> object:
    c = classify(text)
    return route(RoutingProfile.BALANCED, c.task, {}, {}, AVAIL, estimate_tokens(text), registry)


def measure(text: str, registry_factory, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        registry = registry_factory()
        start = time.perf_counter()
        classify_and_route(text, registry)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    assert len(PROMPT) == 200
    print(f"{os.cpu_count()} cores (shared with whatever else runs)")
    warm = Registry(BUILTIN_MODELS)
    classify_and_route(PROMPT, warm)  # load the classifier's weights once
    registries = [Registry(BUILTIN_MODELS) for _ in range(5000)]
    it = iter(registries)
    gc.collect()
    gc.freeze()
    report("routing memo warm", measure(PROMPT, lambda: warm, 20000), {"median": 20, "p99": 100})
    report("routed from scratch", measure(PROMPT, lambda: next(it), 5000), {"p99": 100})
    base = PROMPT + " "
    for size in (2_000, 20_000, 200_000, 1_000_000):
        text = (base * (size // len(base) + 1))[:size]
        runs = 50 if size <= 20_000 else 5
        med = statistics.median(measure(text, lambda: warm, runs))
        print(f"{size:>9,} chars: median {med * 1000:.3f} ms ({med / size * 1e9:.1f} ns/char)")


if __name__ == "__main__":
    main()
