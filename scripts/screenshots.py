"""Take the SVG screenshots in screenshots/ from the real app.

The app runs headless (Textual's run_test) against a throwaway MESOCLAW_HOME holding one stored
conversation, with OpenAI pointed at the local fake provider server, so the last reply really
streams through the engine; the setup screen is taken with no provider at all, in a throwaway home
folder. Run from the repository root:

    python3 scripts/screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LIVE_REPLY = """A prompt that names a language is a **code** task, so the balanced profile tries
`claude-sonnet-5.5` first; without an Anthropic key the router falls through to `gpt-6.1-sol`.

| key    | does                      |
|--------|---------------------------|
| ctrl+r | eco → balanced → premium  |
| ctrl+k | pick the model yourself   |
"""

SHOTS = [
    # name, size, keys pressed after start
    ("chat", (80, 24), ()),
    ("router", (80, 24), ("ctrl+o",)),
    ("models", (80, 24), ("ctrl+f",)),
    ("model-picker", (80, 24), ("ctrl+k", "g", "p", "t")),
    ("chat-200x60", (200, 60), ()),
    ("conversation-search", (80, 24), ("ctrl+l", "slash", *"sort names")),
    # f5 regenerates the last reply through the real engine: the first reply is kept, the new one is 2/2
    ("chat-alternatives", (80, 24), ("f5",)),
    # the dialogs of the user guide (docs/app_usage.md): f4 with two presets and a system prompt being typed,
    # ctrl+u completing a path (relative to the repository root), ctrl+y on the demo reply's code block
    ("system-prompt", (80, 24), ("f4", *"You are a concise Python mentor.")),
    ("attach", (80, 24), ("ctrl+u", *"docs/a")),
    ("code-blocks", (80, 24), ("ctrl+y",)),
]
# After the shots above: a daily budget of $1.00 with $0.85 spent today (tests/daily_helpers.py)
BUDGET_SHOT = ("budget-warning", (80, 24), ())
TOASTS = ("chat-alternatives", "budget-warning")


async def shoot(out: Path) -> list[Path]:
    from mesoclaw_tui.service import RouterService
    from mesoclaw_tui.tui.app import MesoclawApp
    from tests.daily_helpers import seed_budget, seed_presets
    from tests.fakes.provider_server import FakeProviderServer, Stream
    from tests.tui_helpers import seed_demo, settle, wait_for

    written = []
    with tempfile.TemporaryDirectory() as home, FakeProviderServer() as server:
        os.environ["MESOCLAW_HOME"] = home
        for name in [n for n in os.environ if n.endswith(("_API_KEY", "_BASE_URL")) or n == "OLLAMA_HOST"]:
            del os.environ[name]
        os.environ.update(server.env("openai", api_key="sk-screenshots"))
        server.default("*/chat/completions", Stream("openai", LIVE_REPLY, usage=(41, 87)))
        async with await RouterService.open(None) as service:
            await seed_demo(service)
            await seed_presets(service)
        first = True
        for name, size, keys in [*SHOTS, BUDGET_SHOT]:
            if name == BUDGET_SHOT[0]:
                async with await RouterService.open(None) as service:
                    await seed_budget(service, Path(home))
            app = MesoclawApp()
            # toasts are drawn in the shots of the daily tools (what they say is part of them)
            async with app.run_test(size=size, notifications=name in TOASTS) as pilot:
                await settle(app, pilot)
                if first:  # stream one reply through the real engine; later runs show it stored
                    await pilot.press(*"which model answers a python question?", "enter")
                    await wait_for(pilot, lambda app=app: app.screen._reply_worker is not None)
                    await wait_for(pilot, lambda app=app: not app.screen.streaming, timeout=10)
                    first = False
                for key in ("ctrl+t", *keys):  # each shot starts from the chat (the app opens where it was left)
                    await pilot.press(key)
                    await settle(app, pilot)
                await pilot.pause(0.3)
                path = out / f"{name}.svg"
                app.save_screenshot(str(path))
                written.append(path)
    written.append(await shoot_setup(out))
    return written


async def shoot_setup(out: Path) -> Path:
    """The first run: no provider anywhere, a home folder of its own (config.toml shows as ~/.config/…)."""
    from mesoclaw_tui.tui.app import MesoclawApp
    from tests.tui_helpers import settle, wait_for

    with tempfile.TemporaryDirectory() as home:
        saved = dict(os.environ)
        for name in [n for n in os.environ if n.endswith(("_API_KEY", "_BASE_URL")) or n.startswith("XDG_")
                     or n in ("OLLAMA_HOST", "MESOCLAW_HOME")]:
            del os.environ[name]
        os.environ["HOME"] = home
        try:
            app = MesoclawApp(offer_setup=True)
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(app, pilot)
                await wait_for(pilot, lambda: type(app.screen).__name__ == "SetupScreen")
                await pilot.pause(0.2)
                path = out / "setup.svg"
                app.save_screenshot(str(path))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return path


def main() -> None:
    out = (Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(REPO)  # the attach dialog completes paths relative to where the app runs
    for path in asyncio.run(shoot(out)):
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


if __name__ == "__main__":
    main()
