"""Ollama's native API: ``/api/chat`` streaming NDJSON, ``/api/tags`` for the pulled models."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ._fields import has_surrogate_escape, limit, scrub
from ._http import get_json, run_stream
from ._parser import StreamParser
from .base import (
    ChatMessage,
    ChatRequest,
    Endpoint,
    ImagePart,
    ListedModel,
    ProviderError,
    StreamEvent,
    TextDelta,
)
from .openai_body import wire_tool
from .tool_calls import arguments_object, wire_tool_call_id

_json_loads = json.loads  # bound once: called for every event


def request_headers(endpoint: Endpoint) -> dict[str, str]:
    # A local server needs no key; Ollama's cloud takes a bearer token.
    return {"authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}


def build_body(request: ChatRequest) -> dict[str, Any]:
    """Ollama's ``/api/chat`` body. Tools are OpenAI's shape; tool_choice and
    parallel_tool_calls have no Ollama equivalent, so only ``none`` has an effect (no tools are
    sent). ``format`` is "json" for json_object, the schema itself for json_schema."""
    messages = [{"role": "system", "content": request.system}] if request.system else []
    names = {call.id: call.name for m in request.messages for call in m.tool_calls}
    messages += [_message(m, names) for m in request.messages]
    body: dict[str, Any] = {"model": request.model, "messages": messages, "stream": True}
    if request.tools and (request.tool_choice is None or request.tool_choice.mode != "none"):
        body["tools"] = [wire_tool(t) for t in request.tools]
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        body["format"] = fmt.schema if fmt.type == "json_schema" else "json"
    options: dict[str, Any] = {}
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if options:
        body["options"] = options
    return body


def _message(m: ChatMessage, names: dict[str, str]) -> dict[str, Any]:
    content = m.content
    if isinstance(content, str) and not m.tool_calls and m.role != "tool":
        return {"role": m.role, "content": content}
    wire: dict[str, Any] = {"role": m.role, "content": m.text}
    images = [] if isinstance(content, str) else [p for p in content if isinstance(p, ImagePart)]
    if images:
        if any(image.data is None for image in images):
            raise ProviderError("bad_request", "Ollama takes images only as inline data (base64), not by URL",
                                provider="ollama")
        wire["images"] = [image.data for image in images]
    if m.tool_calls:
        wire["tool_calls"] = [
            {"id": wire_tool_call_id(c.id), "type": "function",
             "function": {"index": i, "name": c.name, "arguments": arguments_object(c.arguments)}}
            for i, c in enumerate(m.tool_calls)
        ]
    if m.role == "tool":
        wire["tool_call_id"] = wire_tool_call_id(m.tool_call_id or "")
        if m.tool_call_id in names:
            wire["tool_name"] = names[m.tool_call_id]
    return wire


class OllamaStreamParser(StreamParser):
    """One JSON object per line; the line with ``"done": true`` ends the reply and carries the
    counts, either of which may be missing (a cached prompt has no ``prompt_eval_count``).

    Ollama sends each tool call whole (``message.tool_calls``, arguments as an object), with
    an id only in newer versions; each becomes one ToolCallDelta with the arguments as JSON."""

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

    def whole_body(self, raw: bytes) -> list[StreamEvent]:
        # A non-streamed reply is the final line alone: the same parser reads it.
        return self.feed(raw) + self.end()

    def _lines(self, lines: list[bytes]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                obj = _json_loads(line)
                if b"\\u" in line and has_surrogate_escape(line):  # inline: the hot path
                    obj = scrub(obj)
                if obj.get("error"):
                    self.reported(out, obj)
                    break
                message = obj.get("message")
                if message:
                    text = message.get("content")  # "thinking" is not shown
                    if text:
                        out.append(TextDelta(text))
                        self.started = True
                    calls = message.get("tool_calls")
                    if calls:
                        self._tool_calls(out, calls, obj)
                if obj.get("done"):
                    self.take_usage(obj.get("prompt_eval_count"), obj.get("eval_count"))
                    self.finish(out, obj.get("done_reason"))
                    break
            except (ValueError, AttributeError, TypeError):
                self.malformed(out, line)
                break
        return out

    def _tool_calls(self, out: list[StreamEvent], calls: list[Any], obj: dict[str, Any]) -> None:
        if not self.reply_id and obj.get("created_at"):  # names calls Ollama gives no id: one stamp per reply
            self.reply_id = f"{obj.get('model', '')}@{obj['created_at']}"
        for call in calls:
            function = call.get("function") or {}
            arguments = function.get("arguments")
            text = arguments if isinstance(arguments, str) else json.dumps(arguments or {}, ensure_ascii=False)
            self.start_call(out, call.get("id"), function.get("name"), text)


def stream_chat(client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest) -> AsyncIterator[StreamEvent]:
    url = endpoint.base_url.rstrip("/") + "/api/chat"
    return run_stream(
        client, endpoint, url, request_headers(endpoint), lambda: build_body(request), OllamaStreamParser(endpoint)
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
