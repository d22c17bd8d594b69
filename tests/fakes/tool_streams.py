"""Scripted tool-call replies for the fake provider server, in each protocol's wire format,
streamed or as one non-streamed body.

    from tests.fakes.tool_streams import Call, ToolCallReply

    server.script(server.chat_path("anthropic"),
                  ToolCallReply("anthropic", [Call("get_weather", {"city": "Paris"}),
                                              Call("get_time", {"tz": "CET"})],
                                text="Let me look.", split=12))

The shapes follow the recorded streams in ``recordings/`` (OpenAI's
``openai_chat_stream_toolcall_then_usage.sse``, Anthropic's
``anthropic_messages_stream_tool_use.sse``) and the providers' documented bodies:

* OpenAI: a role chunk, the text preface, then per call a chunk with ``index``, ``id``,
  ``type``, ``function.name`` and ``arguments: ""``, then ``split`` argument fragments keyed by
  ``index``; a ``finish_reason`` chunk, a ``choices: []`` usage chunk, ``[DONE]``.
* Anthropic: ``message_start``; a text block for the preface; per call a ``tool_use`` block
  (``input: {}``) whose input streams as ``input_json_delta`` fragments (a lone ``""`` for a call
  without arguments, as recorded); ``message_delta`` with ``stop_reason`` and the output
  count; ``message_stop``.
* Ollama: text lines, then one line whose ``message.tool_calls`` holds every call whole
  (arguments as an object; ``id`` only when ``ids=True``, as in newer servers), then the
  ``done: true`` line (``done_reason: "stop"``, as Ollama says even after tool calls).

``stream=False`` answers with the protocol's non-streamed body instead (``chat.completion``,
a Message, Ollama's single object). ``calls=[]`` gives a plain text reply in the same forms.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .provider_server import Behaviour, Exchange

Protocol = Literal["openai", "anthropic", "ollama"]


@dataclass
class Call:
    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)  # an object, or the exact JSON text
    id: str | None = None  # default: a provider-style id from the call's index

    def text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=(",", ":")) if self.arguments else ""

    def object(self) -> Any:
        if not isinstance(self.arguments, str):
            return self.arguments
        return json.loads(self.arguments) if self.arguments.strip() else {}


def pieces(text: str, split: int) -> list[str]:
    """``text`` cut into ``split`` fragments of nearly equal length (at most one per character)."""
    if not text:
        return []
    split = max(1, min(split, len(text)))
    size, extra = divmod(len(text), split)
    out, start = [], 0
    for i in range(split):
        end = start + size + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out


def _sse(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(obj, separators=(',', ':'))}\n\n".encode()


@dataclass
class ToolCallReply(Behaviour):
    protocol: Protocol
    calls: Sequence[Call] = ()
    text: str = ""  # a text preface before the calls (or the whole reply when there are none)
    split: int = 4  # argument fragments per call (streamed OpenAI and Anthropic)
    usage: tuple[int, int] = (50, 20)
    finish: str | None = None  # default: the protocol's usual reason for this reply
    stream: bool = True
    ids: bool = True  # Ollama: newer servers give ids, older ones none
    model: str | None = None

    def call_id(self, i: int, call: Call) -> str | None:
        if call.id is not None:
            return call.id
        prefix = {"openai": "call_fake", "anthropic": "toolu_fake", "ollama": "call_ol"}[self.protocol]
        return f"{prefix}{i:04d}" if self.protocol != "ollama" or self.ids else None

    def reason(self) -> str:
        if self.finish is not None:
            return self.finish
        if self.protocol == "openai":
            return "tool_calls" if self.calls else "stop"
        if self.protocol == "anthropic":
            return "tool_use" if self.calls else "end_turn"
        return "stop"

    async def respond(self, ex: Exchange) -> bool:
        body = ex.request.json if ex.request.body else {}
        model = self.model or (body.get("model") if isinstance(body, dict) else None) or "fake-model"
        if not self.stream:
            payload = json.dumps(getattr(self, f"_{self.protocol}_body")(model)).encode()
            ex.start(200, content_type="application/json", framing="length", length=len(payload))
            await ex.send(payload)
            return await ex.end()
        frames: list[bytes] = getattr(self, f"_{self.protocol}_frames")(model)
        ctype = "application/x-ndjson" if self.protocol == "ollama" else "text/event-stream; charset=utf-8"
        ex.start(200, content_type=ctype, framing="chunked")
        for frame in frames:
            await ex.send(frame)
        return await ex.end()

    # --- OpenAI ---------------------------------------------------------------------------

    def _openai_chunk(self, model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse({"id": "chatcmpl-faketools", "object": "chat.completion.chunk", "created": 1_700_000_000,
                     "model": model, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                  "finish_reason": finish}], "usage": None})

    def _openai_frames(self, model: str) -> list[bytes]:
        frames = [self._openai_chunk(model, {"role": "assistant", "content": "" if self.text else None})]
        frames += [self._openai_chunk(model, {"content": piece}) for piece in pieces(self.text, self.split)]
        for i, call in enumerate(self.calls):
            frames.append(self._openai_chunk(model, {"tool_calls": [
                {"index": i, "id": self.call_id(i, call), "type": "function",
                 "function": {"name": call.name, "arguments": ""}}]}))
            frames += [self._openai_chunk(model, {"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
                       for piece in pieces(call.text() or "{}", self.split)]
        frames.append(self._openai_chunk(model, {}, self.reason()))
        prompt, completion = self.usage
        frames.append(_sse({"id": "chatcmpl-faketools", "object": "chat.completion.chunk", "created": 1_700_000_000,
                            "model": model, "choices": [], "usage": {
                                "prompt_tokens": prompt, "completion_tokens": completion,
                                "total_tokens": prompt + completion}}))
        return [*frames, b"data: [DONE]\n\n"]

    def _openai_body(self, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None, "refusal": None}
        if self.calls:
            message["tool_calls"] = [{"id": self.call_id(i, c), "type": "function",
                                      "function": {"name": c.name, "arguments": c.text() or "{}"}}
                                     for i, c in enumerate(self.calls)]
        prompt, completion = self.usage
        return {"id": "chatcmpl-faketools", "object": "chat.completion", "created": 1_700_000_000, "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": self.reason()}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}}

    # --- Anthropic ------------------------------------------------------------------------

    def _anthropic_frames(self, model: str) -> list[bytes]:
        prompt, completion = self.usage
        message = {"model": model, "id": "msg_faketools", "type": "message", "role": "assistant", "content": [],
                   "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": prompt, "output_tokens": 1}}
        frames = [_sse({"type": "message_start", "message": message}, "message_start")]
        block = 0
        if self.text:
            frames.append(_sse({"type": "content_block_start", "index": 0,
                                "content_block": {"type": "text", "text": ""}}, "content_block_start"))
            frames += [_sse({"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": piece}}, "content_block_delta")
                       for piece in pieces(self.text, self.split)]
            frames.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
            block = 1
        frames.append(_sse({"type": "ping"}, "ping"))
        for i, call in enumerate(self.calls):
            index = block + i
            frames.append(_sse({"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": self.call_id(i, call), "name": call.name, "input": {}}},
                "content_block_start"))
            frames += [_sse({"type": "content_block_delta", "index": index,
                             "delta": {"type": "input_json_delta", "partial_json": piece}}, "content_block_delta")
                       for piece in (pieces(call.text(), self.split) or [""])]
            frames.append(_sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        frames.append(_sse({"type": "message_delta", "delta": {"stop_reason": self.reason(), "stop_sequence": None},
                            "usage": {"output_tokens": completion}}, "message_delta"))
        frames.append(_sse({"type": "message_stop"}, "message_stop"))
        return frames

    def _anthropic_body(self, model: str) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": self.text}] if self.text else []
        content += [{"type": "tool_use", "id": self.call_id(i, c), "name": c.name, "input": c.object()}
                    for i, c in enumerate(self.calls)]
        prompt, completion = self.usage
        return {"id": "msg_faketools", "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": self.reason(), "stop_sequence": None,
                "usage": {"input_tokens": prompt, "output_tokens": completion}}

    # --- Ollama ---------------------------------------------------------------------------

    def _ollama_calls(self) -> list[dict[str, Any]]:
        calls = []
        for i, call in enumerate(self.calls):
            entry: dict[str, Any] = {"function": {"index": i, "name": call.name, "arguments": call.object()}}
            call_id = self.call_id(i, call)
            if call_id is not None:
                entry = {"id": call_id, **entry}
            calls.append(entry)
        return calls

    def _ollama_frames(self, model: str) -> list[bytes]:
        def line(message: dict[str, Any], **extra: Any) -> bytes:
            obj = {"model": model, "created_at": "2026-12-01T10:00:00.123456789Z",
                   "message": {"role": "assistant", **message}, **extra}
            return json.dumps(obj, separators=(",", ":")).encode() + b"\n"

        frames = [line({"content": piece}, done=False) for piece in pieces(self.text, self.split)]
        if self.calls:
            frames.append(line({"content": "", "tool_calls": self._ollama_calls()}, done=False))
        prompt, completion = self.usage
        frames.append(line({"content": ""}, done=True, done_reason=self.reason(), total_duration=1000,
                           prompt_eval_count=prompt, eval_count=completion))
        return frames

    def _ollama_body(self, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.calls:
            message["tool_calls"] = self._ollama_calls()
        prompt, completion = self.usage
        return {"model": model, "created_at": "2026-12-01T10:00:00.123456789Z", "message": message, "done": True,
                "done_reason": self.reason(), "total_duration": 1000, "prompt_eval_count": prompt,
                "eval_count": completion}
