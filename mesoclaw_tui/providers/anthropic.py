"""Anthropic Messages API: request shape, SSE stream parsing, model list."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ._fields import limit
from ._http import get_json, run_stream
from ._parser import StreamParser
from .base import ChatRequest, Endpoint, ListedModel, ProviderError, StreamEvent, TextDelta
from .sse import ServerSentEvent, SSEDecoder

ANTHROPIC_VERSION = "2023-06-01"
# max_tokens is required; callers pass the model's max output when they know it.
DEFAULT_MAX_TOKENS = 4096
_MAX_PAGES = 20


def request_headers(endpoint: Endpoint) -> dict[str, str]:
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    if endpoint.api_key:
        headers["x-api-key"] = endpoint.api_key
    return headers


def build_body(request: ChatRequest) -> dict[str, Any]:
    # The Messages API rejects a "system" role; every system text goes to the top-level field.
    system = [request.system] if request.system else []
    messages = []
    for m in request.messages:
        if m.role == "system":
            system.append(m.content)
        else:
            messages.append({"role": m.role, "content": m.content})
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
        "stream": True,
    }
    if system:
        body["system"] = "\n\n".join(system)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    return body


class AnthropicStreamParser(StreamParser):
    """Messages events -> events. Input tokens come from ``message_start``; output tokens from
    the last ``message_delta`` (a running total, replacing the earlier value)."""

    __slots__ = ("_sse", "_stop")

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._sse = SSEDecoder()
        self._stop: str | None = None

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return self._events(self._sse.feed(chunk))

    def end(self) -> list[StreamEvent]:
        out = self._events(self._sse.end())
        self.truncated(out, "message_stop")
        return out

    def _events(self, sse_events: list[ServerSentEvent]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for sse in sse_events:
            try:
                data = json.loads(sse.data)
                # The data's own "type" is authoritative: it always repeats the event name.
                kind = data.get("type")
                if kind == "content_block_delta":
                    delta = data["delta"]
                    if delta.get("type") == "text_delta" and delta.get("text"):
                        out.append(TextDelta(delta["text"]))
                        self.started = True
                elif kind == "message_start":
                    self._take_usage(data["message"].get("usage"))
                elif kind == "message_delta":
                    self._stop = data.get("delta", {}).get("stop_reason") or self._stop
                    self._take_usage(data.get("usage"))
                elif kind == "message_stop":
                    self.finish(out, self._stop)
                    break
                elif kind == "error" or sse.event == "error":
                    self.reported(out, data)
                    break
                # ping, content_block_start/stop and unknown event types carry nothing to show.
            except (ValueError, AttributeError, TypeError, KeyError):
                if sse.event == "error":  # not JSON, but still the provider's own words
                    self.reported(out, {"error": sse.data})
                else:
                    self.malformed(out, sse.data)
                break
        return out

    def _take_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            self.take_usage(usage.get("input_tokens"), usage.get("output_tokens"))


def stream_chat(client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest) -> AsyncIterator[StreamEvent]:
    url = endpoint.base_url.rstrip("/") + "/v1/messages"
    return run_stream(
        client, endpoint, url, request_headers(endpoint), build_body(request), AnthropicStreamParser(endpoint)
    )


async def list_models(client: httpx.AsyncClient, endpoint: Endpoint, *, timeout: float = 5.0) -> list[ListedModel]:
    url = endpoint.base_url.rstrip("/") + "/v1/models"
    params = {"limit": "1000"}
    models: list[ListedModel] = []
    for _ in range(_MAX_PAGES):
        payload = await get_json(
            client, endpoint, url, headers=request_headers(endpoint), params=params, timeout=timeout
        )
        entries = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(entries, list):
            raise ProviderError("server", f"unexpected model list from {url}", provider=endpoint.provider)
        models += [
            ListedModel(e["id"], limit(e.get("max_input_tokens")), limit(e.get("max_tokens")))
            for e in entries
            if isinstance(e, dict) and isinstance(e.get("id"), str)
        ]
        last = payload.get("last_id")
        if not payload.get("has_more") or not last or last == params.get("after_id"):
            break
        params = {"limit": "1000", "after_id": last}
    return models
