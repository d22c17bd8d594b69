"""An OpenAI chat-completions request's parts, pure: messages (text, images, tool calls, tool results),
tools, tool_choice and response_format -> the provider layer's types, or ApiError 400 naming the field.

    system / developer   -> the system prompt (text parts joined)
    user                 -> a string, or parts: text and image_url (https:// or data:image/…;base64,…)
    assistant            -> its text (may be null) and its tool_calls
    tool                 -> the result of tool_call_id
The last message must be the user's, or a tool result (a tool round-trip's next turn).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.types import Capability
from .api_error import ApiError

_SYSTEM_ROLES = ("system", "developer")
_ROLE_CHOICES = "system, developer, user, assistant, tool"
_TOOL_CHOICE_MODES = ("auto", "none", "required")


@dataclass
class ParsedMessages:
    system: list[str] = field(default_factory=list)
    chat: tuple[Any, ...] = ()  # ChatMessages
    prompt: str = ""  # the last user message's text: what the classifier reads
    params: dict[Capability, str] = field(default_factory=dict)  # which field asked for a capability


def parse_messages(raw: Any) -> ParsedMessages:
    """System (and developer) texts, and the chat messages; the last must be the user's or a tool's."""
    from ..providers import ChatMessage

    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "messages must be a non-empty array", param="messages")
    parsed = ParsedMessages()
    chat: list[Any] = []
    for index, message in enumerate(raw):
        if not isinstance(message, dict):
            raise ApiError(400, f"messages[{index}] must be an object", param=f"messages[{index}]")
        role = message.get("role")
        if role in _SYSTEM_ROLES:
            parsed.system.append(_text(message.get("content"), index))
            continue
        reader = _READERS.get(role) if isinstance(role, str) else None  # {"a": 1} is not hashable
        if reader is None:
            raise ApiError(400, f"messages[{index}].role '{role}' is not supported (valid: {_ROLE_CHOICES}; "
                           "the legacy 'function' role: send tools and 'tool' results)",
                           param=f"messages[{index}].role")
        chat.append(reader(ChatMessage, message, index, parsed))
    if not chat or chat[-1].role not in ("user", "tool"):
        raise ApiError(400, "the last non-system message must be the user's (or a tool result)", param="messages")
    parsed.chat = tuple(chat)
    parsed.prompt = next((m.text for m in reversed(chat) if m.role == "user"), "")
    return parsed


def _user(make: Any, message: dict[str, Any], index: int, parsed: ParsedMessages) -> Any:
    content = message.get("content")
    if isinstance(content, str):
        return make("user", content)
    if not isinstance(content, list):
        raise ApiError(400, f"messages[{index}].content must be a string or an array of content parts",
                       param=f"messages[{index}].content")
    parts = tuple(_part(part, index, i) for i, part in enumerate(content))
    if all(hasattr(p, "text") for p in parts):  # text only: one string, as every provider takes it
        return make("user", "\n".join(p.text for p in parts))
    parsed.params.setdefault(Capability.IMAGE_INPUT, f"messages[{index}].content")
    return make("user", parts)


def _part(part: Any, index: int, i: int) -> Any:
    from ..providers import ImagePart, TextPart

    where = f"messages[{index}].content[{i}]"
    kind = part.get("type") if isinstance(part, dict) else type(part).__name__
    if kind == "text" and isinstance(part.get("text"), str):
        return TextPart(part["text"])
    if kind != "image_url":
        raise ApiError(400, f"{where}: content of type '{kind}' is not supported (text and image_url are)",
                       param=where, code="unsupported_content")
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    detail = image.get("detail") if isinstance(image, dict) else None
    if not isinstance(url, str) or not url.lower().startswith(("https://", "data:")):
        raise ApiError(400, f"{where}: an image must be an https:// URL or a data: URL (data:image/png;base64,…)",
                       param=f"{where}.image_url.url", code="invalid_image_url")
    try:
        return ImagePart.from_url(url, detail if isinstance(detail, str) else None)
    except ValueError as exc:
        raise ApiError(400, f"{where}: {exc}", param=f"{where}.image_url.url", code="invalid_image_url") from None


def _assistant(make: Any, message: dict[str, Any], index: int, parsed: ParsedMessages) -> Any:
    if message.get("function_call") is not None:
        raise ApiError(400, f"messages[{index}].function_call (the legacy functions API) is not supported: "
                       "send tool_calls", param=f"messages[{index}].function_call", code="unsupported_parameter")
    content = message.get("content")
    text = "" if content is None else _text(content, index, ("text", "refusal"))
    calls = message.get("tool_calls")
    if not calls:
        return make("assistant", text)
    if not isinstance(calls, list):
        raise ApiError(400, f"messages[{index}].tool_calls must be an array", param=f"messages[{index}].tool_calls")
    parsed.params.setdefault(Capability.TOOLS, f"messages[{index}].tool_calls")
    return make("assistant", text, tool_calls=tuple(_tool_call(call, index, i) for i, call in enumerate(calls)))


def _tool_call(call: Any, index: int, i: int) -> Any:
    from ..providers import ToolCall

    where = f"messages[{index}].tool_calls[{i}]"
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not _name(call.get("id")) or not _name(function.get("name")):
        raise ApiError(400, f"{where} must have an id and a function with a name", param=where)
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str):
        raise ApiError(400, f"{where}.function.arguments must be a JSON string", param=f"{where}.function.arguments")
    return ToolCall(call["id"], function["name"], arguments or "{}")


def _tool(make: Any, message: dict[str, Any], index: int, parsed: ParsedMessages) -> Any:
    call_id = message.get("tool_call_id")
    if not _name(call_id):
        raise ApiError(400, f"messages[{index}].tool_call_id must name the tool call this result answers",
                       param=f"messages[{index}].tool_call_id")
    parsed.params.setdefault(Capability.TOOLS, f"messages[{index}]")
    return make("tool", _text(message.get("content"), index), tool_call_id=call_id)


_READERS: dict[str, Callable[[Any, dict[str, Any], int, ParsedMessages], Any]] = {
    "user": _user, "assistant": _assistant, "tool": _tool,
}


def _text(content: Any, index: int, kinds: tuple[str, ...] = ("text",)) -> str:
    """A message's text: a string, or text parts (joined by newlines)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            value = part.get(kind) if isinstance(part, dict) else None
            if kind not in kinds or not isinstance(value, str):
                raise ApiError(400, f"messages[{index}]: content of type '{kind}' is not supported here "
                               f"({', '.join(kinds)} only)", param=f"messages[{index}].content",
                               code="unsupported_content")
            parts.append(value)
        return "\n".join(parts)
    raise ApiError(400, f"messages[{index}].content must be a string or a list of text parts",
                   param=f"messages[{index}].content")


def _name(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# tools and formats -----------------------------------------------------------------------------------


def parse_tools(raw: Any) -> tuple[Any, ...]:
    """`tools`: function tools only ({"type": "function", "function": {name, description, parameters, strict}})."""
    from ..providers import Tool

    if not isinstance(raw, list):
        raise ApiError(400, "tools must be an array of function tools", param="tools")
    tools = []
    for i, entry in enumerate(raw):
        function = entry.get("function") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or entry.get("type") != "function" or not isinstance(function, dict):
            kind = entry.get("type") if isinstance(entry, dict) else type(entry).__name__
            raise ApiError(400, f"tools[{i}]: only function tools are supported, not '{kind}'",
                           param=f"tools[{i}]", code="unsupported_parameter")
        tools.append(_function(Tool, function, f"tools[{i}].function"))
    return tuple(tools)


def _function(make: Any, function: dict[str, Any], where: str) -> Any:
    name, parameters = function.get("name"), function.get("parameters")
    description, strict = function.get("description"), function.get("strict")
    if not _name(name):
        raise ApiError(400, f"{where}.name must be a non-empty string", param=f"{where}.name")
    if parameters is not None and not isinstance(parameters, dict):
        raise ApiError(400, f"{where}.parameters must be a JSON Schema object", param=f"{where}.parameters")
    if description is not None and not isinstance(description, str):
        raise ApiError(400, f"{where}.description must be a string", param=f"{where}.description")
    if strict is not None and not isinstance(strict, bool):
        raise ApiError(400, f"{where}.strict must be true or false", param=f"{where}.strict")
    return make(name, description, parameters, strict)


def parse_tool_choice(raw: Any, tools: tuple[Any, ...]) -> Any:
    """"auto", "none", "required" or {"type": "function", "function": {"name": …}} naming one of `tools`."""
    if raw is None:
        return None
    from ..providers import ToolChoice

    if raw in _TOOL_CHOICE_MODES:
        if not tools and raw == "required":
            raise ApiError(400, "tool_choice 'required' needs tools", param="tool_choice")
        return ToolChoice(raw) if tools else None
    function = raw.get("function") if isinstance(raw, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(raw, dict) or raw.get("type") != "function" or not _name(name):
        raise ApiError(400, "tool_choice must be auto, none, required, or {\"type\": \"function\", "
                       "\"function\": {\"name\": …}}", param="tool_choice")
    if name not in {tool.name for tool in tools}:
        raise ApiError(400, f"tool_choice names '{name}', which is not among the tools", param="tool_choice")
    return ToolChoice.tool(name)


def parse_flag(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise ApiError(400, f"{key} must be true or false", param=key)
    return value


def parse_response_format(raw: Any) -> Any:
    """{"type": "text" | "json_object"} or {"type": "json_schema", "json_schema": {name, schema, strict,
    description}}; text is the default and is sent as nothing."""
    if raw is None:
        return None
    from ..providers import ResponseFormat

    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind != "json_schema":
        raise ApiError(400, "response_format.type must be text, json_object or json_schema",
                       param="response_format")
    spec = raw.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise ApiError(400, "response_format.json_schema.schema must be a JSON Schema object",
                       param="response_format.json_schema")
    name, strict, description = spec.get("name"), spec.get("strict"), spec.get("description")
    return ResponseFormat("json_schema", name if isinstance(name, str) else None, schema,
                          strict if isinstance(strict, bool) else None,
                          description if isinstance(description, str) else None)
