"""Ollama's native API: ``/api/chat`` streaming NDJSON, ``/api/tags`` for the pulled models."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ._fields import limit
from ._http import get_json, run_stream
from ._parser import StreamParser
from .base import ChatRequest, Endpoint, ListedModel, ProviderError, StreamEvent, TextDelta


def request_headers(endpoint: Endpoint) -> dict[str, str]:
    # A local server needs no key; Ollama's cloud takes a bearer token.
    return {"authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}


def build_body(request: ChatRequest) -> dict[str, Any]:
    messages = [{"role": "system", "content": request.system}] if request.system else []
    messages += [{"role": m.role, "content": m.content} for m in request.messages]
    body: dict[str, Any] = {"model": request.model, "messages": messages, "stream": True}
    options: dict[str, Any] = {}
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if options:
        body["options"] = options
    return body


class OllamaStreamParser(StreamParser):
    """One JSON object per line; the line with ``"done": true`` ends the reply and carries the
    counts, either of which may be missing (a cached prompt has no ``prompt_eval_count``)."""

    __slots__ = ("_partial",)

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._partial = b""

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        if b"\n" not in chunk:
            self._partial += chunk
            return []
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        return self._lines(lines)

    def end(self) -> list[StreamEvent]:
        # A last line without its newline is still complete if it parses.
        out = self._lines([self._partial]) if self._partial.strip() else []
        self._partial = b""
        self.truncated(out, '"done": true')
        return out

    def _lines(self, lines: list[bytes]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if obj.get("error"):
                    self.reported(out, obj)
                    break
                message = obj.get("message")
                if message:
                    text = message.get("content")  # "thinking" is not shown
                    if text:
                        out.append(TextDelta(text))
                        self.started = True
                if obj.get("done"):
                    self.take_usage(obj.get("prompt_eval_count"), obj.get("eval_count"))
                    self.finish(out, obj.get("done_reason"))
                    break
            except (ValueError, AttributeError, TypeError):
                self.malformed(out, line)
                break
        return out


def stream_chat(client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest) -> AsyncIterator[StreamEvent]:
    url = endpoint.base_url.rstrip("/") + "/api/chat"
    return run_stream(
        client, endpoint, url, request_headers(endpoint), build_body(request), OllamaStreamParser(endpoint)
    )


async def list_models(client: httpx.AsyncClient, endpoint: Endpoint, *, timeout: float = 5.0) -> list[ListedModel]:
    url = endpoint.base_url.rstrip("/") + "/api/tags"
    payload = await get_json(client, endpoint, url, headers=request_headers(endpoint), timeout=timeout)
    entries = payload.get("models") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        raise ProviderError("server", f"unexpected model list from {url}", provider=endpoint.provider)
    models = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        name = entry.get("name") or entry.get("model")
        if isinstance(name, str):
            details = entry.get("details") if isinstance(entry.get("details"), dict) else {}
            models.append(ListedModel(name, limit(details.get("context_length"))))
    return models
