"""Drain a provider stream into one value that tests can assert on."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import httpx

from mesoclaw_tui.providers import (
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
