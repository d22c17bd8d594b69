"""Drain a provider stream into one value that tests can assert on."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from mesoclaw_tui.providers import (
    ChatMessage,
    ChatRequest,
    Endpoint,
    ProviderError,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallAccumulator,
    Usage,
    stream_chat,
)

if TYPE_CHECKING:
    from .provider_server import FakeProviderServer

REQUEST = ChatRequest("test-model", (ChatMessage("user", "hi"),))
TEST_KEY = "sk-test-key-0000"


@dataclass
class Collected:
    events: list[StreamEvent] = field(default_factory=list)
    error: ProviderError | None = None

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        calls = ToolCallAccumulator()
        calls.feed(self.events)
        return calls.calls

    @property
    def usage(self) -> Usage | None:
        found = [e for e in self.events if isinstance(e, Usage)]
        return found[-1] if found else None

    @property
    def end(self) -> StreamEnd | None:
        found = [e for e in self.events if isinstance(e, StreamEnd)]
        return found[-1] if found else None


async def collect(client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest) -> Collected:
    """Every event until the stream ends; a ProviderError is kept, not raised."""
    result = Collected()
    try:
        async with contextlib.aclosing(stream_chat(client, endpoint, request)) as events:
            async for event in events:
                result.events.append(event)
    except ProviderError as exc:
        result.error = exc
    return result


def endpoint(server: FakeProviderServer, provider: str, key: str | None = TEST_KEY) -> Endpoint:
    """`provider` as served by the fake provider server."""
    return Endpoint(provider, server.base_url(provider), key)


async def run(server: FakeProviderServer, client: httpx.AsyncClient, provider: str, behaviour: object,
              request: ChatRequest = REQUEST) -> Collected:
    """Script `behaviour` for `provider`'s chat path, then stream `request` to it and collect the events."""
    server.script(server.chat_path(provider), behaviour)  # type: ignore[arg-type]
    return await collect(client, endpoint(server, provider), request)
