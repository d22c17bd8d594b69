"""OpenAI Chat Completions, as spoken by OpenAI, Groq, OpenRouter, Vercel and Google's
OpenAI-compatible endpoint: request shape, SSE stream parsing, model lists."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from . import google
from ._fields import limit, per_million
from ._http import get_json, run_stream
from ._parser import StreamParser
from .base import ChatRequest, Endpoint, ListedModel, ProviderError, StreamEvent, TextDelta
from .sse import ServerSentEvent, SSEDecoder

# OpenRouter's app attribution; X-Title is the legacy spelling it still honours.
OPENROUTER_HEADERS = {
    "HTTP-Referer": "https://github.com/mesoclaw/mesoclaw",
    "X-OpenRouter-Title": "mesoclaw",
    "X-Title": "mesoclaw",
}
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
# These reject both the system and the developer role, so the system prompt joins the first user turn.
_NO_SYSTEM_ROLE_PREFIXES = ("o1-mini", "o1-preview")


def is_reasoning_model(model: str) -> bool:
    return model.lower().rsplit("/", 1)[-1].startswith(_REASONING_PREFIXES)


def request_headers(endpoint: Endpoint) -> dict[str, str]:
    headers = {"authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    if endpoint.provider == "openrouter":
        headers.update(OPENROUTER_HEADERS)
    return headers


def build_body(endpoint: Endpoint, request: ChatRequest) -> dict[str, Any]:
    # The reasoning-model rules are OpenAI's own API; gateways translate parameters themselves.
    reasoning = endpoint.provider == "openai" and is_reasoning_model(request.model)
    system_role = "developer" if reasoning else "system"
    messages = [{"role": system_role, "content": request.system}] if request.system else []
    messages += [
        {"role": system_role if m.role == "system" else m.role, "content": m.content}
        for m in request.messages
    ]
    if reasoning and request.model.lower().startswith(_NO_SYSTEM_ROLE_PREFIXES):
        messages = _fold_system_into_first_user_turn(messages, system_role)
    body: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.max_tokens is not None:
        body["max_completion_tokens" if reasoning else "max_tokens"] = request.max_tokens
    if request.temperature is not None and not reasoning:
        body["temperature"] = request.temperature
    return body


def _fold_system_into_first_user_turn(messages: list[dict[str, str]], system_role: str) -> list[dict[str, str]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == system_role)
    rest = [m for m in messages if m["role"] != system_role]
    for i, message in enumerate(rest):
        if system and message["role"] == "user":
            rest[i] = {"role": "user", "content": f"{system}\n\n{message['content']}"}
            break
    return rest


class OpenAIStreamParser(StreamParser):
    """Chat-completion chunks -> events. Usage is taken from whichever chunks carry it (a
    separate ``choices: []`` chunk, Groq's finish chunk or ``x_groq.usage``, OpenRouter's last
    chunk, Google's every chunk); the values are totals, so the last one wins."""

    __slots__ = ("_sse", "_finish")

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._sse = SSEDecoder()
        self._finish: str | None = None

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
                chunk = json.loads(data)
                if chunk.get("error"):  # OpenAI/OpenRouter: an error chunk inside a 200 stream
                    usage = chunk.get("usage")
                    if isinstance(usage, dict):
                        self.take_usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
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
                        text = delta.get("content")  # reasoning, tool calls, refusals: not shown
                        if text:
                            out.append(TextDelta(text))
                            self.started = True
                    reason = choice.get("finish_reason")
                    if reason:
                        self._finish = reason
            except (ValueError, AttributeError, TypeError):  # not JSON, or not the chunk shape
                self.malformed(out, data)
                break
        return out


def _loads_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return {"error": data}


def stream_chat(client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest) -> AsyncIterator[StreamEvent]:
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    return run_stream(
        client, endpoint, url, request_headers(endpoint), build_body(endpoint, request),
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
