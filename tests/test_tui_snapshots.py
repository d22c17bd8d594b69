"""Snapshots of every screen at 80x24 (and the chat at 200x60), with fixed data: the SVGs under
tests/__snapshots__/ are what a user sees. Regenerate with `pytest --snapshot-update` after a
deliberate change, and look at them."""

from __future__ import annotations

import asyncio

import pytest

from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from tests.tui_helpers import seed_demo, settle


@pytest.fixture(autouse=True)
def relative_home(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """MESOCLAW_HOME as a relative path from a temporary working folder: the screens that name
    config.toml's path (the no-provider hint, setup) then show the same path on every run."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MESOCLAW_HOME", "mesoclaw-home")


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, fixed_today) -> None:
    """An OpenAI key (so some models are available; nothing is sent), one stored conversation, and a
    fixed day (the model browser's status column is each model's lifecycle on that day)."""
    fixed_today("2026-12-01")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-snapshot")

    async def seed() -> None:
        async with await RouterService.open(None) as service:
            await seed_demo(service)

    asyncio.run(seed())


def settled(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot.app, pilot)

    return run_before


def test_chat_without_a_provider(snap_compare) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=settled())


def test_chat_with_a_conversation(snap_compare, demo) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=settled())


def test_chat_with_a_conversation_200x60(snap_compare, demo) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(200, 60), run_before=settled())


def test_router_settings(snap_compare, demo) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=settled("ctrl+o"))


def test_model_browser(snap_compare, demo) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=settled("ctrl+f"))


def test_model_picker(snap_compare, demo) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=settled("ctrl+k", "g", "p", "t"))


def test_conversation_list(snap_compare, demo) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=settled("ctrl+l"))


def test_add_model_form(snap_compare, demo) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=settled("ctrl+f", "ctrl+n"))


def test_light_theme(snap_compare, demo) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=settled("f9"))


def test_router_settings_flag_a_retired_override(snap_compare, demo) -> None:
    async def retired_override() -> None:
        async with await RouterService.open(None) as service:
            await service.set_task_model_override("code", "claude-sonnet-4.5")  # retired 2026-11-30

    asyncio.run(retired_override())
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=settled("ctrl+o"))


@pytest.fixture
def daily(monkeypatch: pytest.MonkeyPatch, fixed_today) -> None:
    """The demo conversation with an alternative of its last exchange and a system prompt, two presets,
    and a daily budget 85% spent."""
    import os
    from pathlib import Path

    from tests.daily_helpers import seed_alternatives, seed_budget, seed_presets

    fixed_today("2026-12-01")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-snapshot")

    async def seed() -> None:
        async with await RouterService.open(None) as service:
            await seed_alternatives(service)
            await seed_presets(service)
            await seed_budget(service, Path(os.environ["MESOCLAW_HOME"]))

    asyncio.run(seed())


def without_toasts(*keys: str):
    """settled(), then the toasts cleared: they expire on a timer, which a busy machine can outrun
    (what they say is checked in test_tui_daily)."""
    async def run_before(pilot) -> None:
        await settled(*keys)(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    return run_before


def test_chat_with_alternatives_and_a_budget_warning(snap_compare, daily) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=without_toasts())


def test_system_prompt_and_presets(snap_compare, daily) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=without_toasts("f4"))


def test_edit_the_last_message(snap_compare, daily) -> None:
    assert snap_compare(MesoclawApp(), terminal_size=(80, 24), run_before=without_toasts("up"))
