"""The Anthropic Messages wire format, pure: a `/v1/messages` body -> an engine Turn, and a Reply ->
a Message body, its SSE events and errors in Anthropic's shape. No Starlette here, no I/O.

    system               -> the system prompt (a string, or text blocks joined)
    user content         -> text and image blocks (base64, or an https URL) as the prompt's parts;
                            each tool_result block -> a tool result (is_error kept)
    assistant content    -> text, and each tool_use block -> a tool call (thinking blocks are dropped:
                            they are the answering provider's own and no other can read them)
    tools                -> client tools ({name, description, input_schema}); server tools are refused
    tool_choice          -> auto / any / tool / none; disable_parallel_tool_use -> parallel_tool_calls false
    output_config.format -> a JSON-schema response format (so does the older beta `output_format`)

The model names and the x-mesoclaw-task header mean what they mean on /v1/chat/completions.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.types import Capability
from ..engine import Turn
from .api_error import ApiError
from .wire import answered_by, error_for, routed_model, sampling, task_from_header

# A reply's finish reason in Anthropic's words.
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
# The error types Anthropic's API names, by HTTP status (the SDK raises by status; the type is for people).
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}
CAPABILITY_FIELDS = {Capability.TOOLS: "tools", Capability.PARALLEL_TOOLS: "tool_choice",
                     Capability.STRUCTURED_OUTPUT: "output_config", Capability.IMAGE_INPUT: "messages"}


def error_body(error: ApiError) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(error.status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": error.message}}


def reply_error(reply: Any, params: Mapping[Capability, str]) -> ApiError:
    """A failed reply's error: the status of the endpoint's one failure table (server/wire.py), the
    field of this request that asked for a missing capability."""
    return error_for(reply, {**CAPABILITY_FIELDS, **params})


@dataclass(frozen=True)
class MessagesCall:
    turn: Turn
    stream: bool
    requested: str
    params: dict[Capability, str] = field(default_factory=dict)  # which field asked for a capability


def parse_messages_body(body: Any, task_header: str | None = None) -> MessagesCall:
    """A Messages API body -> one engine Turn (or ApiError 400 naming the field)."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    requested, profile, model = routed_model(body.get("model"))
    max_tokens, temperature = sampling({"max_tokens": body.get("max_tokens"), "temperature": body.get("temperature")})
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "stream must be true or false", param="stream")
    reader = _Reader()
    messages = reader.messages(body.get("messages"))
    tools = _tools(body.get("tools")) if body.get("tools") else ()
    tool_choice, parallel = _tool_choice(body.get("tool_choice"), tools)
    turn = Turn(reader.prompt, source="serve", persist=False, messages=messages, system=_system(body.get("system")),
                profile=profile, model=model, task=task_from_header(task_header), max_tokens=max_tokens,
                temperature=temperature, tools=tools, tool_choice=tool_choice, parallel_tool_calls=parallel,
                response_format=_output_format(body))
    return MessagesCall(turn, stream, requested, reader.params)


def _system(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list) and all(isinstance(b, dict) and b.get("type") == "text"
                                     and isinstance(b.get("text"), str) for b in raw):
        return "\n\n".join(b["text"] for b in raw) or None
    raise ApiError(400, "system must be a string or an array of text blocks", param="system")


class _Reader:
    """The messages, read block by block into ChatMessages."""

    def __init__(self) -> None:
        from ..providers import ChatMessage

        self.make = ChatMessage
        self.out: list[Any] = []
        self.params: dict[Capability, str] = {}
        self.prompt = ""

    def messages(self, raw: Any) -> tuple[Any, ...]:
        if not isinstance(raw, list) or not raw:
            raise ApiError(400, "messages must be a non-empty array", param="messages")
        for index, message in enumerate(raw):
            role = message.get("role") if isinstance(message, dict) else None
            if role not in ("user", "assistant"):
                raise ApiError(400, f"messages[{index}].role must be user or assistant", param=f"messages[{index}]")
            content = message.get("content")
            if isinstance(content, str):
                self.out.append(self.make(role, content))
            elif isinstance(content, list):
                (self._user if role == "user" else self._assistant)(content, index)
            else:
                raise ApiError(400, f"messages[{index}].content must be a string or an array of content blocks",
                               param=f"messages[{index}].content")
        if raw[-1].get("role") != "user":
            raise ApiError(400, "the last message must be the user's (a prompt or tool results)", param="messages")
        self.prompt = next((m.text for m in reversed(self.out) if m.role == "user"), "")
        return tuple(self.out)

    def _user(self, blocks: list[Any], index: int) -> None:
        """Tool results become tool messages; the text and images around them, user messages."""
        parts: list[Any] = []
        for i, block in enumerate(blocks):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "tool_result":
                self._flush(parts)
                self.out.append(self._tool_result(block, f"messages[{index}].content[{i}]"))
            else:
                parts.append(_part(block, f"messages[{index}].content[{i}]"))
                if not hasattr(parts[-1], "text"):
                    self.params.setdefault(Capability.IMAGE_INPUT, f"messages[{index}].content[{i}]")
        self._flush(parts)

    def _flush(self, parts: list[Any]) -> None:
        if parts:
            text_only = all(hasattr(p, "text") for p in parts)
            self.out.append(self.make("user", "\n".join(p.text for p in parts) if text_only else tuple(parts)))
            parts.clear()

    def _tool_result(self, block: dict[str, Any], where: str) -> Any:
        call_id, content = block.get("tool_use_id"), block.get("content", "")
        if not isinstance(call_id, str) or not call_id:
            raise ApiError(400, f"{where}.tool_use_id must name the tool_use block it answers", param=where)
        self.params.setdefault(Capability.TOOLS, where)
        if isinstance(content, list):
            texts = [_part(b, f"{where}.content") for b in content]
            content = "\n".join(p.text for p in texts if hasattr(p, "text"))
        elif not isinstance(content, str):
            raise ApiError(400, f"{where}.content must be a string or an array of blocks", param=where)
        return self.make("tool", content, tool_call_id=call_id, is_error=block.get("is_error") is True)

    def _assistant(self, blocks: list[Any], index: int) -> None:
        from ..providers import ToolCall

        texts: list[str] = []
        calls: list[Any] = []
        for i, block in enumerate(blocks):
            where = f"messages[{index}].content[{i}]"
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif kind == "tool_use":
                call_id, name, given = block.get("id"), block.get("name"), block.get("input", {})
                if not isinstance(call_id, str) or not isinstance(name, str) or not isinstance(given, dict):
                    raise ApiError(400, f"{where}: a tool_use block needs an id, a name and an input object",
                                   param=where)
                calls.append(ToolCall(call_id, name, json.dumps(given, ensure_ascii=False)))
                self.params.setdefault(Capability.TOOLS, where)
            elif kind not in ("thinking", "redacted_thinking"):
                raise ApiError(400, f"{where}: an assistant block of type '{kind}' is not supported (text, "
                               "tool_use)", param=where)
        self.out.append(self.make("assistant", "".join(texts), tool_calls=tuple(calls)))


def _part(block: Any, where: str) -> Any:
    from ..providers import ImagePart, TextPart

    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text" and isinstance(block.get("text"), str):
        return TextPart(block["text"])
    if kind != "image":
        raise ApiError(400, f"{where}: a block of type '{kind}' is not supported here (text, image, tool_result)",
                       param=where)
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    try:
        if source.get("type") == "base64" and isinstance(source.get("data"), str):
            return ImagePart(data=source["data"], media_type=source.get("media_type"))
        url = source.get("url")
        if source.get("type") == "url" and isinstance(url, str) and url.lower().startswith("https://"):
            return ImagePart(url=url)
    except ValueError as exc:
        raise ApiError(400, f"{where}: {exc}", param=where) from None
    raise ApiError(400, f"{where}: an image source must be base64 (with its media_type) or an https url",
                   param=f"{where}.source")


def _tools(raw: Any) -> tuple[Any, ...]:
    from ..providers import Tool

    if not isinstance(raw, list):
        raise ApiError(400, "tools must be an array", param="tools")
    tools = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or entry.get("type") not in (None, "custom"):
            kind = entry.get("type") if isinstance(entry, dict) else type(entry).__name__
            raise ApiError(400, f"tools[{i}]: only client tools (name, input_schema) are supported, not '{kind}'",
                           param=f"tools[{i}]")
        name, schema, description = entry.get("name"), entry.get("input_schema"), entry.get("description")
        if not isinstance(name, str) or not name or not isinstance(schema, dict):
            raise ApiError(400, f"tools[{i}] needs a name and an input_schema object", param=f"tools[{i}]")
        strict = entry.get("strict")
        tools.append(Tool(name, description if isinstance(description, str) else None, schema,
                          strict if isinstance(strict, bool) else None))
    return tuple(tools)


def _tool_choice(raw: Any, tools: tuple[Any, ...]) -> tuple[Any, bool | None]:
    from ..providers import ToolChoice

    if raw is None:
        return None, None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in (*_TOOL_CHOICES, "tool"):
        raise ApiError(400, "tool_choice.type must be auto, any, tool or none", param="tool_choice")
    parallel = False if raw.get("disable_parallel_tool_use") is True else None
    if kind == "tool":
        name = raw.get("name")
        if name not in {tool.name for tool in tools}:
            raise ApiError(400, f"tool_choice names '{name}', which is not among the tools", param="tool_choice")
        return ToolChoice.tool(name), parallel
    if not tools:
        if kind == "any":
            raise ApiError(400, "tool_choice 'any' needs tools", param="tool_choice")
        return None, None
    return ToolChoice(_TOOL_CHOICES[kind]), parallel  # type: ignore[arg-type]


def _output_format(body: dict[str, Any]) -> Any:
    from ..providers import ResponseFormat

    config = body.get("output_config")
    raw = config.get("format") if isinstance(config, dict) else body.get("output_format")
    if raw is None:
        return None
    schema = raw.get("schema") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or raw.get("type") != "json_schema" or not isinstance(schema, dict):
        raise ApiError(400, "output_config.format must be {\"type\": \"json_schema\", \"schema\": {…}}",
                       param="output_config")
    return ResponseFormat("json_schema", schema=schema)


# responses -------------------------------------------------------------------------------------------


def stop_reason(reply: Any) -> str:
    return STOP_REASONS.get(reply.finish_reason or "stop", "end_turn")


def usage_body(reply: Any) -> dict[str, int]:
    return {"input_tokens": reply.input_tokens or 0, "output_tokens": reply.output_tokens or 0}


def tool_use_block(call: Any) -> dict[str, Any]:
    from ..providers.tool_calls import arguments_object

    return {"type": "tool_use", "id": call.id, "name": call.name, "input": arguments_object(call.arguments)}


def message_body(reply: Any) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    content += [tool_use_block(call) for call in reply.tool_calls]
    return {"id": "msg_" + secrets.token_hex(12), "type": "message", "role": "assistant",
            "model": answered_by(reply), "content": content, "stop_reason": stop_reason(reply),
            "stop_sequence": None, "usage": usage_body(reply)}


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class MessageEvents:
    """The SSE events of one streamed Message. Content blocks are opened as text or tool calls arrive
    (a text block; a tool_use block per call, its input streamed as input_json_delta) and each is
    closed when the next opens or the message ends."""

    def __init__(self, model: str):
        self.model = model
        self.open: int | None = None  # the index of the block being streamed
        self.blocks = 0
        self.calls: dict[int, int] = {}  # a tool call's index -> its block's index
        self.text_head = b""

    def start(self) -> bytes:
        return _event("message_start", {"type": "message_start", "message": {
            "id": "msg_" + secrets.token_hex(12), "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0}}})

    def _begin(self, block: dict[str, Any]) -> bytes:
        out = self._close()
        self.open, self.blocks = self.blocks, self.blocks + 1
        return out + _event("content_block_start", {"type": "content_block_start", "index": self.open,
                                                     "content_block": block})

    def _close(self) -> bytes:
        if self.open is None:
            return b""
        index, self.open, self.text_head = self.open, None, b""
        return _event("content_block_stop", {"type": "content_block_stop", "index": index})

    def text(self, text: str) -> bytes:
        out = b""
        if not self.text_head:
            out = self._begin({"type": "text", "text": ""})
            self.text_head = (f'event: content_block_delta\ndata: {{"type": "content_block_delta", '
                              f'"index": {self.open}, "delta": {{"type": "text_delta", "text": ').encode()
        return out + self.text_head + json.dumps(text, ensure_ascii=False).encode() + b"}}\n\n"

    def tool(self, delta: Any) -> bytes:
        out = b""
        if delta.id is not None or delta.index not in self.calls:
            out = self._begin({"type": "tool_use", "id": delta.id or "", "name": delta.name or "", "input": {}})
            self.calls[delta.index] = self.blocks - 1
        if not delta.arguments:
            return out
        return out + _event("content_block_delta", {"type": "content_block_delta", "index": self.calls[delta.index],
                                                    "delta": {"type": "input_json_delta",
                                                              "partial_json": delta.arguments}})

    def end(self, reply: Any) -> bytes:
        return self._close() + _event("message_delta", {
            "type": "message_delta", "delta": {"stop_reason": stop_reason(reply), "stop_sequence": None},
            "usage": usage_body(reply)}) + _event("message_stop", {"type": "message_stop"})

    def whole(self, reply: Any) -> bytes:
        """A reply that finished before it streamed anything, as one stream."""
        out = self.start() + (self.text(reply.text) if reply.text else b"")
        for call in reply.tool_calls:
            out += self._begin({"type": "tool_use", "id": call.id, "name": call.name, "input": {}})
            out += _event("content_block_delta", {"type": "content_block_delta", "index": self.open, "delta": {
                "type": "input_json_delta", "partial_json": call.arguments}})
        return out + self.end(reply)

    @staticmethod
    def error(error: ApiError) -> bytes:
        # The anthropic client raises on an `error` event: the reply broke off mid-stream.
        return _event("error", error_body(error))
