"""What the budget check costs each request (RouterService.budget_check, which the engine calls before
every request): with no budget set, with a budget and nothing changed since the last check (cached),
and right after the database changed (one range scan of the usage_spend index), for a month holding
ROWS usage rows.

    python3 benchmarks/budget_check.py [ROWS]     (default 20,000 rows this month)

Prints the median and p95 in microseconds of each case, the query plan of the spend query, and the
machine's core count and load average (the machine may be shared).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RUNS = 400


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered) * 1e6:8.1f} µs   p95 {p95 * 1e6:8.1f} µs"


async def _timed(check, before=None) -> list[float]:
    samples = []
    for _ in range(RUNS):
        if before is not None:
            await before()
        started = time.perf_counter()
        await check()
        samples.append(time.perf_counter() - started)
    return samples


async def main(rows: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="mesoclaw-budget-bench-"))
    os.environ["MESOCLAW_HOME"] = str(home)
    from mesoclaw_tui.core.types import RoutingProfile
    from mesoclaw_tui.service import RouterService

    service = await RouterService.open(None)
    profile = RoutingProfile.BALANCED
    try:
        now = time.time()
        month_start = now - 20 * 86_400
        async with service.store.write() as db:
            await db.executemany(
                "INSERT INTO usage (created_at, source, profile, provider, model, cost_usd, outcome) "
                "VALUES (?, 'chat', ?, 'openai', 'gpt-6.1-sol', ?, 'ok')",
                [(random.uniform(month_start, now), random.choice(("eco", "balanced", "premium")),
                  None if random.random() < 0.02 else random.uniform(0.0001, 0.01)) for _ in range(rows)])
        none = await _timed(lambda: service.budget_check(profile))
        (home / "config.toml").write_text("[budget]\ndaily = 5\nmonthly = 100\n[budget.premium]\ndaily = 1\n")
        await service.budget_check(profile)
        cached = await _timed(lambda: service.budget_check(profile))

        async def commit() -> None:  # another reply recorded: the spend must be read again
            await service.store.record_reply({"created_at": time.time(), "source": "chat", "profile": "eco",
                                              "provider": "openai", "model": "gpt-6-luna", "cost_usd": 0.0001,
                                              "outcome": "ok"}, None)

        fresh = await _timed(lambda: service.budget_check(profile), before=commit)
        plan = await service.store.rows(
            "EXPLAIN QUERY PLAN SELECT profile, TOTAL(cost_usd) FROM usage WHERE created_at >= ? GROUP BY profile",
            (month_start,))
    finally:
        await service.close()
    print(f"budget check per request, {rows:,} usage rows this month ({RUNS} runs each)")
    print(f"  no budget set (one stat of config.toml):      {_summary(none)}")
    print(f"  budget set, nothing changed (cached):         {_summary(cached)}")
    print(f"  budget set, after a commit (index range scan):{_summary(fresh)}")
    print("  plan: " + "; ".join(str(r[3]) for r in plan))
    print(f"cores: {os.cpu_count()}, load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
