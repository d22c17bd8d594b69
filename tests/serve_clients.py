"""What the real-client tests of `mesoclaw serve` share: one server in front of one fake provider
server that speaks all three protocols, a model per protocol, and the tools they call.

The server is started once per test module (it costs about a second); each test scripts the fake
upstream and names the model of the protocol it wants, so the same request goes out as OpenAI,
Anthropic or Ollama wire format in turn.
"""

from __future__ import annotations

import base64
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mesoclaw_tui.server import BackgroundServer
from tests.conftest import PROVIDER_ENV
from tests.fakes.provider_server import FakeProviderServer

# protocol -> (the provider speaking it, a model that has tools, parallel tool calls, JSON and images)
PROTOCOLS = {"openai": ("openai", "openai:gpt-6-luna"), "anthropic": ("anthropic", "claude-haiku-5.5"),
             "ollama": ("ollama", "ollama:llava:7b")}
# A user-added Ollama model: its capabilities are not recorded, so the router does not rule it out.
OLLAMA_USER_MODEL = ("ollama", "llava:7b")
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000000000500010d0a2db40000000049454e44ae426082")).decode()
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@dataclass
class Served:
    server: BackgroundServer
    fake: FakeProviderServer
    home: Path
    env: dict[str, str]

    def chat_path(self, protocol: str) -> str:
        return self.fake.chat_path(PROTOCOLS[protocol][0])

    def upstream(self, protocol: str) -> Any:
        """The JSON body the provider of `protocol` got last."""
        return self.fake.requests_to(self.chat_path(protocol))[-1].json

    def usage_rows(self) -> list[tuple[str, str, str | None]]:
        with sqlite3.connect(self.home / "mesoclaw.db") as conn:
            return conn.execute("SELECT source, outcome, provider FROM usage ORDER BY id").fetchall()


def start(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[Served]:
    """A fake provider server and `mesoclaw serve` in front of it, with all three protocols configured (and OpenRouter, for its models that lack a capability)."""
    with FakeProviderServer() as fake, pytest.MonkeyPatch.context() as patch:
        home = tmp / "home"
        env = {"MESOCLAW_HOME": str(home), **fake.env("openai", "anthropic", "ollama", "openrouter", api_key="sk-test"),
               **(extra_env or {})}
        for name in PROVIDER_ENV:
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        _add_user_model(home)
        with BackgroundServer() as server:
            yield Served(server, fake, home, env)


def _add_user_model(home: Path) -> None:
    import asyncio

    from mesoclaw_tui.service import RouterService

    async def add() -> None:
        async with await RouterService.open() as service:
            await service.add_user_model(*OLLAMA_USER_MODEL, "low")

    asyncio.run(add())


def keep_env(monkeypatch: pytest.MonkeyPatch, served: Served) -> None:
    """The per-test isolated environment, with the module server's settings in it again."""
    for name, value in served.env.items():
        monkeypatch.setenv(name, value)
    assert os.environ["MESOCLAW_HOME"] == str(served.home)
