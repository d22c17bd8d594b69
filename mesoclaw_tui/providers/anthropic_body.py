"""A ChatRequest as an Anthropic Messages body.

* System text (the request's and any ``system`` turns) goes to the top-level ``system``.
* Parts become ``text`` and ``image`` blocks (``source`` ``url`` or ``base64``).
* An assistant turn's calls become ``tool_use`` blocks (``input`` is the arguments object)
  after its text; ids are tool_calls.wire_tool_call_id's.
* Tool results become ``tool_result`` blocks (``is_error`` when the tool failed) in a user turn:
  consecutive results share one user turn, as Anthropic requires, and a user message right
  after them joins that turn after the results.
* tool_choice: auto -> ``auto``, required -> ``any``, a named tool -> ``tool``, none -> ``none``;
  ``parallel_tool_calls=False`` -> ``disable_parallel_tool_use``.
* Structured output: a json_schema format is sent as ``output_config.format`` (Anthropic's
  structured outputs, GA) for the models that have it. For older models, and for json_object
  (which Anthropic has no native form of), the answer is asked for as the input of a forced
  tool whose schema is the format's (``{"type": "object"}`` for json_object); the stream parser
  turns that tool's input back into the reply's text, so the caller sees plain JSON text.
"""

from __future__ import annotations

from typing import Any

from .base import ChatMessage, ChatRequest, ContentPart, ImagePart, ToolChoice
from .tool_calls import arguments_object, wire_tool_call_id

ANTHROPIC_VERSION = "2023-06-01"
# max_tokens is required; callers pass the model's max output when they know it.
DEFAULT_MAX_TOKENS = 4096
# Models from before structured outputs (GA with the 4.5 generation) answer JSON through a forced tool.
_NO_NATIVE_JSON_PREFIXES = ("claude-2", "claude-instant", "claude-3", "claude-opus-4-0", "claude-opus-4-1",
                            "claude-sonnet-4-0", "claude-opus-4-2025", "claude-sonnet-4-2025")
_NO_NATIVE_JSON_ALIASES = ("claude-opus-4", "claude-sonnet-4")
_JSON_TOOL = "json_output"
_JSON_TOOL_DESCRIPTION = "Give your whole answer as this tool's input, as the user asked for JSON."
_TOOL_CHOICE_TYPES = {"auto": "auto", "none": "none", "required": "any", "tool": "tool"}


def has_native_json(model: str) -> bool:
    name = model.lower()
    return name not in _NO_NATIVE_JSON_ALIASES and not name.startswith(_NO_NATIVE_JSON_PREFIXES)


def json_tool(request: ChatRequest) -> str | None:
    """The name of the forced tool that carries a JSON answer, when this request needs one."""
    fmt = request.response_format
    if fmt is None or fmt.type == "text" or (fmt.type == "json_schema" and has_native_json(request.model)):
        return None
    taken = {tool.name for tool in request.tools}
    name = _JSON_TOOL
    while name in taken:
        name = "_" + name
    return name


def build_body(request: ChatRequest) -> dict[str, Any]:
    system = [request.system] if request.system else []
    system += [m.text for m in request.messages if m.role == "system"]
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": wire_messages(request.messages),
        "stream": True,
    }
    if system:
        body["system"] = "\n\n".join(system)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.tools:
        body["tools"] = [_tool(t.name, t.description, t.schema, t.strict) for t in request.tools]
        choice = wire_tool_choice(request.tool_choice, request.parallel_tool_calls)
        if choice is not None:
            body["tool_choice"] = choice
    _add_json_format(body, request)
    return body


def wire_messages(messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    results: list[dict[str, Any]] | None = None  # the blocks of the user turn holding tool results
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            block = _tool_result(m)
            if results is None:
                results = [block]
                out.append({"role": "user", "content": results})
            else:
                results.append(block)
            continue
        if m.role == "user" and results is not None:
            results += _blocks(m.content)
        elif m.role == "assistant" and m.tool_calls:
            out.append({"role": "assistant", "content": _blocks(m.content) + [
                {"type": "tool_use", "id": wire_tool_call_id(c.id), "name": c.name,
                 "input": arguments_object(c.arguments)} for c in m.tool_calls
            ]})
        else:
            out.append({"role": m.role, "content": m.content if isinstance(m.content, str) else _blocks(m.content)})
        results = None
    return out


def _blocks(content: str | tuple[ContentPart, ...]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [_block(part) for part in content]


def _block(part: ContentPart) -> dict[str, Any]:
    if not isinstance(part, ImagePart):
        return {"type": "text", "text": part.text}
    if part.url is not None:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    return {"type": "image", "source": {"type": "base64", "media_type": part.media_type, "data": part.data}}


def _tool_result(message: ChatMessage) -> dict[str, Any]:
    content = message.content
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": wire_tool_call_id(message.tool_call_id or ""),
        "content": content if isinstance(content, str) else _blocks(content),
    }
    if message.is_error:
        block["is_error"] = True
    return block


def _tool(name: str, description: str | None, schema: dict[str, Any], strict: bool | None) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": name}
    if description:
        tool["description"] = description
    tool["input_schema"] = schema
    if strict is not None:
        tool["strict"] = strict
    return tool


def wire_tool_choice(choice: ToolChoice | None, parallel: bool | None) -> dict[str, Any] | None:
    if choice is None and parallel is not False:
        return None  # Anthropic's default: auto, parallel calls allowed
    mode = choice.mode if choice is not None else "auto"
    wire: dict[str, Any] = {"type": _TOOL_CHOICE_TYPES[mode]}
    if choice is not None and mode == "tool":
        wire["name"] = choice.name
    if parallel is False and mode != "none":
        wire["disable_parallel_tool_use"] = True
    return wire


def _add_json_format(body: dict[str, Any], request: ChatRequest) -> None:
    fmt = request.response_format
    if fmt is None or fmt.type == "text":
        return
    name = json_tool(request)
    if name is None:
        body["output_config"] = {"format": {"type": "json_schema", "schema": fmt.schema}}
        return
    schema = fmt.schema if fmt.type == "json_schema" and fmt.schema is not None else {"type": "object"}
    body.setdefault("tools", []).append(_tool(name, fmt.description or _JSON_TOOL_DESCRIPTION, schema, None))
    if not request.tools:  # with tools of its own the model chooses between them and the answer
        body["tool_choice"] = {"type": "tool", "name": name}
