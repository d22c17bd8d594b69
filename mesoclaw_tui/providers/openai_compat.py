"""OpenAI Chat Completions, as spoken by OpenAI, Groq, OpenRouter, Vercel and Google's
OpenAI-compatible endpoint: request shape, SSE stream parsing, model lists."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from . import google
from ._fields import has_surrogate_escape, limit, loads, per_million, scrub
from ._http import get_json, run_stream
from ._parser import StreamParser
from .base import ChatRequest, Endpoint, ListedModel, ProviderError, StreamEvent, TextDelta, ToolCallDelta
from .openai_body import build_body, is_reasoning_model
from .sse import ServerSentEvent, SSEDecoder

_json_loads = json.loads  # bound once: called for every event

__all__ = ["OPENROUTER_HEADERS", "OpenAIStreamParser", "build_body", "is_reasoning_model", "list_models",
           "request_headers", "stream_chat"]

# OpenRouter's app attribution; X-Title is the legacy spelling it still honours.
OPENROUTER_HEADERS = {
    "HTTP-Referer": "https://github.com/mesoclaw/mesoclaw",
    "X-OpenRouter-Title": "mesoclaw",
    "X-Title": "mesoclaw",
}


def request_headers(endpoint: Endpoint) -> dict[str, str]:
    headers = {"authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    if endpoint.provider == "openrouter":
        headers.update(OPENROUTER_HEADERS)
    return headers


class OpenAIStreamParser(StreamParser):
    """Chat-completion chunks -> events. Usage is taken from whichever chunks carry it (a
    separate ``choices: []`` chunk, Groq's finish chunk or ``x_groq.usage``, OpenRouter's last
    chunk, Google's every chunk); the values are totals, so the last one wins.

    Tool calls stream as ``delta.tool_calls`` entries keyed by ``index``: the first names the
    call (``id``, ``function.name``), the rest add ``function.arguments`` fragments."""

    __slots__ = ("_sse", "_finish", "_calls")

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._sse = SSEDecoder()
        self._finish: str | None = None
        self._calls: dict[Any, tuple[int, Any]] = {}  # the provider's key -> (our index, its id)

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return self._events(self._sse.feed(chunk))

    def end(self) -> list[StreamEvent]:
        out = self._events(self._sse.end())
        self.truncated(out, f"[DONE] (finish_reason was {self._finish!r})" if self._finish else "[DONE]")
        return out

    def _events(self, sse_events: list[ServerSentEvent]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for sse in sse_events:
            data = sse.data
            if sse.event == "error":  # Groq: "event: error", then EOF without [DONE]
                self.reported(out, _loads_or_text(data))
                break
            if data.startswith("[DONE]"):
                self.finish(out, self._finish)
                break
            try:
                chunk = _json_loads(data)
                if "\\u" in data and has_surrogate_escape(data):  # inline: the hot path
                    chunk = scrub(chunk)
                if chunk.get("error"):  # OpenAI/OpenRouter: an error chunk inside a 200 stream
                    self._take_usage(chunk.get("usage"))
                    self.reported(out, chunk)
                    break
                usage = chunk.get("usage")
                if usage is None:
                    x_groq = chunk.get("x_groq")
                    usage = x_groq.get("usage") if isinstance(x_groq, dict) else None
                if usage:
                    self.take_usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta")
                    if delta:
                        text = delta.get("content")  # reasoning and refusals: not shown
                        if text:
                            out.append(TextDelta(text))
                            self.started = True
                        calls = delta.get("tool_calls")
                        if calls:
                            self._tool_call_deltas(out, calls, chunk.get("id"))
                    reason = choice.get("finish_reason")
                    if reason:
                        self._finish = reason
            except (ValueError, AttributeError, TypeError):  # not JSON, or not the chunk shape
                self.malformed(out, data)
                break
        return out

    def _tool_call_deltas(self, out: list[StreamEvent], calls: list[Any], reply_id: Any) -> None:
        if not self.reply_id and isinstance(reply_id, str):
            self.reply_id = reply_id
        for call in calls:
            function = call.get("function") or {}
            arguments = _arguments_text(function.get("arguments"))
            call_id = call.get("id")
            # Keyed by the provider's index. A gateway that sends none is keyed by the call's id;
            # a delta with neither starts a call if it names one, else continues the latest.
            key = call.get("index")
            if not isinstance(key, int):
                if call_id or function.get("name") or not self._calls:
                    key = call_id or f"#{len(self._calls)}"
                else:
                    key = next(reversed(self._calls))
            known = self._calls.get(key)
            # The same index with another id is a new call (seen from gateways that number
            # every call 0), never a continuation.
            if known is None or (call_id and known[1] and call_id != known[1]):
                self._calls[key] = (self.start_call(out, call_id, function.get("name"), arguments), call_id)
            elif arguments:
                out.append(ToolCallDelta(known[0], None, None, arguments))

    def _take_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            self.take_usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))

    def whole(self, body: Any) -> list[StreamEvent]:
        """A non-streamed ``chat.completion``: its message as one text delta and whole calls."""
        out: list[StreamEvent] = []
        self.reply_id = str(body.get("id") or "")
        self._take_usage(body.get("usage"))
        for choice in body.get("choices") or ():
            message = choice.get("message") or {}
            text = message.get("content")
            if isinstance(text, str) and text:
                out.append(TextDelta(text))
                self.started = True
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                self.start_call(out, call.get("id"), function.get("name"),
                                _arguments_text(function.get("arguments")))
            self._finish = choice.get("finish_reason") or self._finish
        self.finish(out, self._finish)
        return out


def _arguments_text(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    # Some OpenAI-compatible servers send the arguments as an object rather than JSON text.
    return "" if arguments is None else json.dumps(arguments, ensure_ascii=False)


def _loads_or_text(data: str) -> Any:
    try:
        return loads(data)
    except ValueError:
        return {"error": data}


def stream_chat(client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest) -> AsyncIterator[StreamEvent]:
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    return run_stream(
        client, endpoint, url, request_headers(endpoint), lambda: build_body(endpoint, request),
        OpenAIStreamParser(endpoint),
    )


# --- model lists -------------------------------------------------------------------------


def _plain(entry: dict[str, Any]) -> ListedModel | None:
    return ListedModel(entry["id"])


def _groq(entry: dict[str, Any]) -> ListedModel | None:
    if entry.get("active") is False:
        return None
    return ListedModel(entry["id"], limit(entry.get("context_window")), limit(entry.get("max_completion_tokens")))


def _openrouter(entry: dict[str, Any]) -> ListedModel | None:
    top = entry.get("top_provider") if isinstance(entry.get("top_provider"), dict) else {}
    pricing = entry.get("pricing") if isinstance(entry.get("pricing"), dict) else {}
    return ListedModel(
        entry["id"], limit(entry.get("context_length")), limit(top.get("max_completion_tokens")),
        per_million(pricing.get("prompt")), per_million(pricing.get("completion")),
    )


def _vercel(entry: dict[str, Any]) -> ListedModel | None:
    if entry.get("type", "language") != "language":  # embedding and image models have no chat
        return None
    pricing = entry.get("pricing") if isinstance(entry.get("pricing"), dict) else {}
    return ListedModel(
        entry["id"], limit(entry.get("context_window")), limit(entry.get("max_tokens")),
        per_million(pricing.get("input")), per_million(pricing.get("output")),
    )


_ENTRY_READERS: dict[str, Callable[[dict[str, Any]], ListedModel | None]] = {
    "groq": _groq,
    "openrouter": _openrouter,
    "vercel": _vercel,
}


async def list_models(client: httpx.AsyncClient, endpoint: Endpoint, *, timeout: float = 5.0) -> list[ListedModel]:
    if endpoint.provider == "google":  # the native list has token limits; the compat one does not
        return await google.list_models(client, endpoint, timeout=timeout)
    url = endpoint.base_url.rstrip("/") + "/models"
    payload = await get_json(client, endpoint, url, headers=request_headers(endpoint), timeout=timeout)
    entries = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        raise ProviderError("server", f"unexpected model list from {url}", provider=endpoint.provider)
    read = _ENTRY_READERS.get(endpoint.provider, _plain)
    models = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            model = read(entry)
            if model is not None:
                models.append(model)
    return models
