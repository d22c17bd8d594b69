"""Pytest fixtures for a RouterService and an Engine on the test's own database (enabled in
tests/conftest.py's pytest_plugins; a test module asks for them by name and never imports them).

A module that talks to providers says which ones by overriding `service_providers` (the router picks
among the providers that have a key, so which ones have a key is part of what a test checks), and
how long its engine waits for a silent provider by overriding `engine_read_timeout`:

    @pytest.fixture
    def service_providers() -> tuple[str, ...]:
        return ("openai", "anthropic")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mesoclaw_tui.engine import Engine
from mesoclaw_tui.service import RouterService

TEST_KEY = "sk-test-key-0001"


@pytest.fixture
def service_providers() -> tuple[str, ...]:
    """The providers `service` gives a key and points at the fake provider server: none by default."""
    return ()


@pytest.fixture
def engine_read_timeout() -> float:
    """How long `engine` waits for the next byte from a provider before it counts as timed out."""
    return 2.0


@pytest.fixture
def sleeps() -> list[float]:
    """The waits `engine` was asked for (a 429's Retry-After), in order; none of them is slept."""
    return []


@pytest.fixture
async def service(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, isolated_env: Path,
                  service_providers: tuple[str, ...]) -> AsyncIterator[RouterService]:
    """A RouterService on this test's MESOCLAW_HOME, closed after the test; with service_providers, the
    fake provider server (`provider_server`) is started first and those providers point at it."""
    if service_providers:
        # asked for only here, so a test without providers starts no server
        server = request.getfixturevalue("provider_server")
        for key, value in server.env(*service_providers, api_key=TEST_KEY).items():
            monkeypatch.setenv(key, value)
    opened = await RouterService.open()
    yield opened
    await opened.close()


@pytest.fixture
async def engine(service: RouterService, sleeps: list[float],
                 engine_read_timeout: float) -> AsyncIterator[Engine]:
    """An Engine over `service` with its own HTTP client; it records its waits in `sleeps` instead of
    sleeping, so a retry costs the test no time."""

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    timeout = httpx.Timeout(connect=2.0, read=engine_read_timeout, write=2.0, pool=2.0)
    client = httpx.AsyncClient(timeout=timeout)
    yield Engine(service, client, sleep=record_sleep)
    await client.aclose()
