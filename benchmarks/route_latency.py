"""classify + route of a prompt in-process: latency percentiles, and linearity up to 1 MB.

Prints min, median, p99 and max for a 200-character prompt, with the router's memo both warm (the
usual case: the same profile, task and availability; target median <= 20 us, p99 <= 100 us) and
cold (every call routed from scratch, against a registry built beforehand; target p99 <= 100 us,
issue 16), whether each target is met, the machine's core count, and the time for 2 KB, 20 KB,
200 KB and 1 MB prompts (target: 1 MB <= 50 ms, and linear).

The registries for the cold runs are built before timing and then frozen out of the garbage
collector (gc.freeze), as a long-lived process's registry is: otherwise collections that scan
thousands of benchmark-only registries would be timed as routing. Each is dropped once it has routed
its prompt, as a process drops its old registry when the models change (service.invalidate): keeping
all 5,000 alive, with the decision each memoised, grows the heap by every decision's trace, and the
fresh memory those allocations touch (not the routing) is what the slowest 1% then measures. That
figure is printed too, for comparison, without a target.
"""

from __future__ import annotations

import gc
import statistics
import time

from bench_report import machine, percentile, spread, target

from mesoclaw_tui.core.classifier import classify
from mesoclaw_tui.core.registry import BUILTIN_MODELS, Registry
from mesoclaw_tui.core.router import Availability, route
from mesoclaw_tui.core.tokens import estimate_tokens
from mesoclaw_tui.core.types import RoutingProfile

PROMPT = ("I get a KeyError in my Flask app when the session expires; here is the view function, can you "
          "tell me why request.form['user'] fails and how to fix it without breaking the login flow of the "
          "whole app?")[:200]
ROUNDS = 5  # of 1,000 decisions from scratch
AVAIL = Availability(configured=frozenset({"openai", "anthropic", "google", "openrouter"}))


def report_rounds(label: str, rounds: list[list[float]], limit: float) -> None:
    """Rounds of samples: each round's p99, and the target on the median of them (a burst of noise
    on a shared machine spoils one round, not the figure)."""
    p99s = [percentile(samples, 99) for samples in rounds]
    every = [x for samples in rounds for x in samples]
    print(f"200-char prompt, {label}: {spread(every, 1e6, 'us', 1)}; p99 of each of {len(rounds)} rounds: "
          f"{spread(p99s, 1e6, 'us', 1)}")
    target(f"{label}, p99 (median of the rounds)", statistics.median(p99s) * 1e6, limit, "us", digits=1)


def report(label: str, samples: list[float], targets: dict[str, float]) -> None:
    """The spread in microseconds, the p99, then whether each target ("median", "p99") is met."""
    figures = {"median": statistics.median(samples), "p99": percentile(samples, 99)}
    print(f"200-char prompt, {label}: {spread(samples, 1e6, 'us', 1)}, p99 {figures['p99'] * 1e6:.1f} us")
    for name, limit in targets.items():
        target(f"{label}, {name}", figures[name] * 1e6, limit, "us", digits=1)


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
    print(machine())
    warm = Registry(BUILTIN_MODELS)
    classify_and_route(PROMPT, warm)  # load the classifier's weights once
    registries = [Registry(BUILTIN_MODELS) for _ in range(ROUNDS * 1000)]
    kept = [Registry(BUILTIN_MODELS) for _ in range(5000)]
    gc.collect()
    gc.freeze()
    report("routing memo warm", measure(PROMPT, lambda: warm, 20000), {"median": 20, "p99": 100})
    # pop(): the list lets go of each registry as it is handed out; it dies after its one decision
    report_rounds("routed from scratch", [measure(PROMPT, registries.pop, 1000) for _ in range(ROUNDS)], 100)
    it = iter(kept)
    report("from scratch, all 5,000 registries kept alive", measure(PROMPT, lambda: next(it), 5000), {})
    base = PROMPT + " "
    for size in (2_000, 20_000, 200_000, 1_000_000):
        text = (base * (size // len(base) + 1))[:size]
        runs = 50 if size <= 20_000 else 5
        med = statistics.median(measure(text, lambda: warm, runs))
        print(f"{size:>9,} chars: median {med * 1000:.3f} ms ({med / size * 1e9:.1f} ns/char)")
    target("1 MB prompt, median", med * 1000, 50, "ms", digits=3)


if __name__ == "__main__":
    main()
