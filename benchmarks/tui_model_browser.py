"""Search as you type in the model browser with 5,000 user-added models.

Each keystroke goes to the search box as a terminal would deliver it; the time is taken until the
table shows the new matches (the filter ran and the next frame was drawn). Prints median and p95
(target: every keystroke within 30 ms).

    python3 benchmarks/tui_model_browser.py [MODELS]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_report as report  # noqa: E402

QUERIES = ["model-04", "openrouter", "high 12", "vendor-7 medium", "zzz-no-match", "llama"]


async def seed(count: int) -> None:
    from mesoclaw_tui.service import RouterService, validate_user_model

    providers = ["openai", "anthropic", "groq", "openrouter", "vercel", "ollama", "google"]
    rows = [validate_user_model({
        "provider": providers[i % len(providers)], "model_id": f"vendor-{i % 10}/model-{i:05d}",
        "cost_tier": ("low", "medium", "high")[i % 3], "context_window": 8_000 * (1 + i % 16),
        "max_output": None, "input_price": None if i % 5 == 0 else round(0.05 * (i % 40), 2),
        "output_price": None if i % 5 == 0 else round(0.2 * (i % 40), 2), "best_for": "benchmark",
    }) for i in range(count)]
    async with await RouterService.open(None) as service:
        await service.store.replace_user_models(rows)


async def run(count: int) -> None:
    from textual import events

    from mesoclaw_tui.tui.app import MesoclawApp
    from mesoclaw_tui.tui.screens.models import ModelsScreen

    await seed(count)
    drawn: list[float] = []
    original = ModelsScreen.apply_filter

    def timed_apply_filter(self: ModelsScreen) -> None:
        original(self)
        self.call_after_refresh(lambda: drawn.append(time.perf_counter()))

    ModelsScreen.apply_filter = timed_apply_filter  # type: ignore[method-assign]
    app = MesoclawApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready()
        started = time.perf_counter()
        await pilot.press("ctrl+f")
        while not (isinstance(app.screen, ModelsScreen) and app.screen.entries):
            await asyncio.sleep(0.005)
        await app.workers.wait_for_complete()
        await pilot.pause()
        opened = time.perf_counter() - started
        screen = app.screen
        total = len(screen.entries)
        latencies: list[float] = []

        async def key(name: str, character: str | None) -> None:
            drawn.clear()
            sent = time.perf_counter()
            app.post_message(events.Key(name, character))
            while not drawn:
                await asyncio.sleep(0.0005)
            latencies.append(drawn[0] - sent)
            await asyncio.sleep(0.03)  # a fast typist: ~30 keys a second

        for query in QUERIES:
            for character in query:
                await key("space" if character == " " else character, character)
            for _ in query:
                await key("backspace", None)
        matches = len(screen.matches)
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(report.machine())
    print(f"model browser with {total:,} models ({count:,} user-added); opened in {opened * 1000:.0f} ms")
    print(f"  keystroke -> table updated on screen: {report.spread(latencies, 1000, 'ms', 1)}, "
          f"p95 {p95 * 1000:5.1f} ms; {matches} rows match the empty search")
    report.target("every keystroke on screen (max)", latencies[-1] * 1000, 30, "ms", digits=1)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    with tempfile.TemporaryDirectory() as home:
        os.environ["MESOCLAW_HOME"] = home
        asyncio.run(run(count))


if __name__ == "__main__":
    main()
