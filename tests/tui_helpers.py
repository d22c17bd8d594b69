"""Shared helpers for the TUI tests: a fake provider wired into the environment, and waiting on
the app without sleeping longer than needed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mesoclaw_tui.tui.app import MesoclawApp
from tests.fakes.provider_server import FakeProviderServer


@contextmanager
def fake_providers(monkeypatch: pytest.MonkeyPatch, *providers: str) -> Iterator[FakeProviderServer]:
    """A fake provider server on 127.0.0.1, configured through the environment the app reads at start.
    Test modules wrap it in their own `openai_server` fixture."""
    with FakeProviderServer() as server:
        for name, value in server.env(*(providers or ("openai",)), api_key="test-key").items():
            monkeypatch.setenv(name, value)
        yield server


async def wait_for(pilot: Any, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Let the app run until predicate() is truthy; fail after timeout seconds (the default only bounds a
    hang on a loaded machine: pass a timeout only where the time is what the test checks)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.02)


async def settle(app: MesoclawApp, pilot: Any) -> None:
    """The service is open and every worker that loads or previews has finished (a worker waiting on
    an open dialog is left alone)."""
    from textual.worker import WorkerFailed

    from mesoclaw_tui.tui.screens.chat import ChatScreen

    await app.ready()
    chat = next((s for s in app.screen_stack if isinstance(s, ChatScreen)), None)
    if chat is not None:  # the prompt replaces the slot the first frame draws a moment after it
        await wait_for(pilot, lambda: chat._prompt_mounted, what="the prompt to replace its slot")
    for _ in range(3):
        for worker in [w for w in app.workers if w.group != "dialog" and not w.is_finished]:
            try:
                await worker.wait()
            except (WorkerFailed, Exception):  # a cancelled or failed worker is finished too
                pass
        await pilot.pause()


def screen_text(app: MesoclawApp) -> str:
    """What the screen in front shows, as plain text (the way a user reads it)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def no_unexpected_errors(app: MesoclawApp) -> None:
    assert not app.unexpected_errors, app.unexpected_errors


DEMO_REPLY = """Use `sorted()` for a new list, or `list.sort()` to sort in place:

```python
names = ["carol", "alice", "bob"]
print(sorted(names))          # ['alice', 'bob', 'carol']
names.sort(key=len, reverse=True)
```

- `key=` picks what to compare
- `reverse=True` sorts descending
"""


async def seed_demo(service: Any) -> int:
    """One conversation with fixed content and usage (no clocks in view), for snapshots."""
    store = service.store
    conversation_id = await store.create_conversation("Sorting a list in Python")
    await store.add_message(conversation_id, "user", "How do I sort a list of names in Python?", task="code")
    usage = {"created_at": 0.0, "source": "chat", "task": "code", "profile": "balanced", "provider": "openai",
             "model": "gpt-6.1-sol", "input_tokens": 18, "output_tokens": 96, "estimated": 0, "cost_usd": 0.000996,
             "outcome": "ok", "fallbacks": 1, "conversation_id": conversation_id,
             "attempts": '[{"provider": "anthropic", "model": "claude-sonnet-5-5", "outcome": "auth", '
                         '"error": "invalid x-api-key", "ms": 40}, {"provider": "openai", "model": "gpt-6.1-sol", '
                         '"outcome": "ok", "error": null, "ms": 900}]'}
    await store.record_reply(usage, {"conversation_id": conversation_id, "role": "assistant", "content": DEMO_REPLY,
                                     "provider": "openai", "model": "gpt-6.1-sol", "task": "code", "status": "complete"})
    await store.add_message(conversation_id, "user", "And case-insensitively?", task="code")
    usage2 = dict(usage, input_tokens=None, output_tokens=None, cost_usd=None, fallbacks=0, attempts="[]")
    await store.record_reply(usage2, {"conversation_id": conversation_id, "role": "assistant",
                                      "content": "Pass `key=str.lower`: `sorted(names, key=str.lower)`",
                                      "provider": "openai", "model": "gpt-6.1-sol", "task": "code", "status": "cancelled",
                                      "error": "cancelled by the user"})
    return conversation_id
