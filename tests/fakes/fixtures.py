"""Pytest fixtures for the fake provider server and the client that talks to it. Enable with
``pytest_plugins = ["tests.fakes.fixtures"]`` in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from .provider_server import FakeProviderServer, refused_port


def configure(monkeypatch: pytest.MonkeyPatch, server: FakeProviderServer, *providers: str,
              api_key: str = "sk-test") -> None:
    """Point `providers` (OpenAI if none is named) at `server`, each with `api_key`, through the
    environment mesoclaw reads."""
    for key, value in server.env(*(providers or ("openai",)), api_key=api_key).items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def provider_server() -> Iterator[FakeProviderServer]:
    """A fresh fake provider server on 127.0.0.1, stopped after the test."""
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def fake_keys() -> tuple[str, ...]:
    """The providers `fake` points at itself: OpenAI, unless a test module overrides this fixture."""
    return ("openai",)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, provider_server: FakeProviderServer,
         fake_keys: tuple[str, ...]) -> FakeProviderServer:
    """`provider_server`, with the providers of `fake_keys` pointed at it (key "sk-test")."""
    if fake_keys:
        configure(monkeypatch, provider_server, *fake_keys)
    return provider_server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client mesoclaw talks to providers with (make_client), closed after the test."""
    from mesoclaw_tui.providers import make_client

    async with make_client() as c:
        yield c


@pytest.fixture
def closed_port() -> int:
    """A loopback port where connections are refused."""
    return refused_port()
