"""Anthropic Messages API: request shape, SSE stream parsing, model list."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ._fields import has_surrogate_escape, limit, scrub
from ._http import get_json, run_stream
from ._parser import StreamParser
from .anthropic_body import ANTHROPIC_VERSION, DEFAULT_MAX_TOKENS, build_body, json_tool
from .base import ChatRequest, Endpoint, ListedModel, ProviderError, StreamEvent, TextDelta, ToolCallDelta
from .sse import ServerSentEvent, SSEDecoder

__all__ = ["ANTHROPIC_VERSION", "DEFAULT_MAX_TOKENS", "AnthropicStreamParser", "build_body", "list_models",
           "request_headers", "stream_chat"]

_MAX_PAGES = 20
_json_loads = json.loads  # bound once: called for every event
_AS_TEXT = -1  # a tool_use block that carries the JSON answer (anthropic_body's forced tool)


def request_headers(endpoint: Endpoint) -> dict[str, str]:
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    if endpoint.api_key:
        headers["x-api-key"] = endpoint.api_key
    return headers


class AnthropicStreamParser(StreamParser):
    """Messages events -> events. Input tokens come from ``message_start``; output tokens from
    the last ``message_delta`` (a running total, replacing the earlier value).

    A ``tool_use`` content block starts a tool call (its ``id`` and ``name``), whose input then
    streams as ``input_json_delta`` fragments; tool calls are numbered 0, 1, … apart from the
    text blocks around them. The forced tool that carries a JSON answer streams as text."""

    __slots__ = ("_sse", "_stop", "_blocks", "_json_tool")

    def __init__(self, endpoint: Endpoint, json_tool: str | None = None) -> None:
        super().__init__(endpoint)
        self._sse = SSEDecoder()
        self._stop: str | None = None
        self._blocks: dict[Any, int] = {}  # a tool_use block's index -> its call's index, or _AS_TEXT
        self._json_tool = json_tool

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
                raw = sse.data
                data = _json_loads(raw)
                if "\\u" in raw and has_surrogate_escape(raw):  # inline: the hot path
                    data = scrub(data)
                # Almost every event is a text delta: handled here, without a call.
                if data.get("type") == "content_block_delta" and data["delta"].get("type") == "text_delta":
                    text = data["delta"].get("text")
                    if text:
                        out.append(TextDelta(text))
                        self.started = True
                elif self._event(out, data, sse.event):
                    break
            except (ValueError, AttributeError, TypeError, KeyError):
                if sse.event == "error":  # not JSON, but still the provider's own words
                    self.reported(out, {"error": sse.data})
                else:
                    self.malformed(out, sse.data)
                break
        return out

    def _event(self, out: list[StreamEvent], data: Any, event: str) -> bool:
        """Handle one event; True when the stream is over (finished or failed)."""
        # The data's own "type" is authoritative: it always repeats the event name.
        kind = data.get("type")
        if kind == "content_block_delta":
            self._delta(out, data["index"], data["delta"])
        elif kind == "content_block_start":
            self._block_start(out, data["index"], data["content_block"])
        elif kind == "message_start":
            self.reply_id = str(data["message"].get("id") or "")
            self._take_usage(data["message"].get("usage"))
        elif kind == "message_delta":
            self._stop = data.get("delta", {}).get("stop_reason") or self._stop
            self._take_usage(data.get("usage"))
        elif kind == "message_stop":
            self.finish(out, self._stop)
            return True
        elif kind == "error" or event == "error":
            self.reported(out, data)
            return True
        # ping, content_block_stop, thinking and unknown event types carry nothing to show.
        return False

    def _delta(self, out: list[StreamEvent], index: Any, delta: dict[str, Any]) -> None:
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            if text:
                out.append(TextDelta(text))
                self.started = True
        elif kind == "input_json_delta":
            fragment = delta.get("partial_json")
            call = self._blocks.get(index)
            if fragment and call is not None:
                out.append(TextDelta(fragment) if call == _AS_TEXT else ToolCallDelta(call, None, None, fragment))
                self.started = True

    def _block_start(self, out: list[StreamEvent], index: Any, block: dict[str, Any]) -> None:
        if block.get("type") != "tool_use":
            return
        if self._json_tool is not None and block.get("name") == self._json_tool:
            self._blocks[index] = _AS_TEXT
        else:
            self._blocks[index] = self.start_call(out, block.get("id"), block.get("name"))

    def _take_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            self.take_usage(usage.get("input_tokens"), usage.get("output_tokens"))

    def whole(self, body: Any) -> list[StreamEvent]:
        """A non-streamed Message: its text blocks as text deltas and its tool_use blocks as whole calls."""
        out: list[StreamEvent] = []
        self.reply_id = str(body.get("id") or "")
        self._take_usage(body.get("usage"))
        for block in body.get("content") or ():
            kind = block.get("type")
            if kind == "text" and block.get("text"):
                out.append(TextDelta(block["text"]))
                self.started = True
            elif kind == "tool_use":
                arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
                if self._json_tool is not None and block.get("name") == self._json_tool:
                    out.append(TextDelta(arguments))
                    self.started = True
                else:
                    self.start_call(out, block.get("id"), block.get("name"), arguments)
        self.finish(out, body.get("stop_reason"))
        return out


def stream_chat(client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest) -> AsyncIterator[StreamEvent]:
    url = endpoint.base_url.rstrip("/") + "/v1/messages"
    return run_stream(
        client, endpoint, url, request_headers(endpoint), lambda: build_body(request),
        AnthropicStreamParser(endpoint, json_tool(request)),
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
