"""Snapshots of the screens of the daily tools at 80x24, with fixed data: first-run setup, the attach
dialog, the code block picker, the conversation search, and the jobs list and editor. Regenerate
with `pytest --snapshot-update` after a deliberate change, and look at them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from mesoclaw_tui.scheduler import add_job
from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from tests.tui_helpers import DEMO_REPLY, seed_demo, settle, wait_for


@pytest.fixture(autouse=True)
def relative_home(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """A fixed working folder content and a relative MESOCLAW_HOME: the same paths on every run."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MESOCLAW_HOME", "mesoclaw-home")
    (tmp_path / "src").mkdir()
    (tmp_path / "notes.md").write_text("the plan\n")
    (tmp_path / "notes-old.md").write_text("the old plan\n")


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, fixed_today) -> Iterator[None]:
    import os
    import time

    before = os.environ.get("TZ")
    fixed_today("2026-12-01")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-snapshot")
    monkeypatch.setenv("TZ", "UTC")  # job times are shown in local time
    time.tzset()

    async def seed() -> None:
        async with await RouterService.open(None) as service:
            await seed_demo(service)
            await add_job(service, "standup", "daily 09:00", prompt="plan my day: three priorities")
            await add_job(service, "health", "every 15m", kind="heartbeat", enabled=False)
            async with service.store.write() as db:  # a fixed next run: 2026-12-02 09:00 UTC
                await db.execute("UPDATE jobs SET next_run_at = 1796202000")

    asyncio.run(seed())
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def pressing(*keys: str, screen: str | None = None, until=None):
    """Press the keys; then wait for `screen` to be in front and `until(app)` to hold (a debounced
    search, a suggestion worked out in the background)."""
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)
        if screen is not None:
            await wait_for(pilot, lambda: type(app.screen).__name__ == screen, what=screen)
        if until is not None:
            await wait_for(pilot, lambda: until(app), what="the screen to settle")
        await pilot.pause()

    return run_before


def test_first_run_setup(snap_compare) -> None:
    assert snap_compare(MesoclawApp(offer_setup=True), terminal_size=(80, 24),
                        run_before=pressing(screen="SetupScreen"))


def test_attach_dialog(snap_compare, demo) -> None:
    def suggested(app) -> bool:
        return app.screen.query_one("Input")._suggestion == "notes-old.md"

    assert snap_compare(MesoclawApp(), terminal_size=(80, 24),
                        run_before=pressing("ctrl+u", "n", "o", screen="AttachDialog", until=suggested))


def test_code_block_picker(snap_compare, demo) -> None:
    assert DEMO_REPLY.count("```") == 2
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=pressing("ctrl+y", screen="CodeBlockPicker"))


def test_conversation_search(snap_compare, demo) -> None:
    def searched(app) -> bool:
        options = app.screen.query_one("#options")
        return options.option_count == 1 and "3 matches" in str(options.get_option_at_index(0).prompt)

    assert snap_compare(MesoclawApp(), terminal_size=(80, 24),
                        run_before=pressing("ctrl+l", "slash", *"sort", screen="ConversationPicker", until=searched))


def test_jobs_list(snap_compare, demo) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=pressing("ctrl+e", screen="JobsDialog"))


def test_jobs_editor(snap_compare, demo) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24),
                        run_before=pressing("ctrl+e", "down", "e", screen="JobEditor"))
