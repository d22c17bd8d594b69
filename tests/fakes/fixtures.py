"""Pytest fixtures for the fake provider server. Enable with
``pytest_plugins = ["tests.fakes.fixtures"]`` in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .provider_server import FakeProviderServer, refused_port


@pytest.fixture
def provider_server() -> Iterator[FakeProviderServer]:
    """A fresh fake provider server on 127.0.0.1, stopped after the test."""
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A loopback port where connections are refused."""
    return refused_port()
