"""A ChatRequest as an OpenAI Chat Completions body (OpenAI, Groq, OpenRouter, Vercel, Google's
OpenAI-compatible endpoint).

Messages: text stays a string; parts become ``text`` / ``image_url`` parts (an https URL or a
``data:`` URL); an assistant turn's calls become ``tool_calls`` (``function.arguments`` is the
JSON text); a tool result becomes ``role: tool`` with its ``tool_call_id`` (ids as
tool_calls.wire_tool_call_id gives them). OpenAI has no error flag on a tool result: the
result's text is sent as it is, and says what went wrong.
"""

from __future__ import annotations

from typing import Any

from .base import ChatMessage, ChatRequest, ContentPart, Endpoint, ImagePart, ResponseFormat, Tool, ToolChoice
from .tool_calls import wire_tool_call_id

# GPT-6 (the default chains' OpenAI models) takes the same rules: it rejects temperature and max_tokens.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "gpt-6")
# These reject both the system and the developer role, so the system prompt joins the first user turn.
_NO_SYSTEM_ROLE_PREFIXES = ("o1-mini", "o1-preview")


def is_reasoning_model(model: str) -> bool:
    return model.lower().rsplit("/", 1)[-1].startswith(_REASONING_PREFIXES)


def build_body(endpoint: Endpoint, request: ChatRequest) -> dict[str, Any]:
    # The reasoning-model rules are OpenAI's own API; gateways translate parameters themselves.
    reasoning = endpoint.provider == "openai" and is_reasoning_model(request.model)
    system_role = "developer" if reasoning else "system"
    messages = [{"role": system_role, "content": request.system}] if request.system else []
    messages += [wire_message(m, system_role) for m in request.messages]
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
    if request.tools:
        body["tools"] = [wire_tool(t) for t in request.tools]
        if request.tool_choice is not None:
            body["tool_choice"] = wire_tool_choice(request.tool_choice)
        if request.parallel_tool_calls is not None:  # OpenAI refuses it without tools
            body["parallel_tool_calls"] = request.parallel_tool_calls
    if request.response_format is not None and request.response_format.type != "text":
        body["response_format"] = wire_response_format(request.response_format)
    return body


def wire_message(message: ChatMessage, system_role: str = "system") -> dict[str, Any]:
    role, content = message.role, message.content
    if role == "tool":
        return {"role": "tool", "tool_call_id": wire_tool_call_id(message.tool_call_id or ""),
                "content": message.text}
    if role == "system":
        return {"role": system_role, "content": message.text}
    if message.tool_calls:
        return {"role": "assistant", "content": message.text or None, "tool_calls": [
            {"id": wire_tool_call_id(c.id), "type": "function",
             "function": {"name": c.name, "arguments": c.arguments if c.arguments.strip() else "{}"}}
            for c in message.tool_calls
        ]}
    if isinstance(content, str):
        return {"role": role, "content": content}
    if role != "user":  # only a user turn may hold images
        return {"role": role, "content": message.text}
    return {"role": role, "content": [wire_part(p) for p in content]}


def wire_part(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, ImagePart):
        image: dict[str, Any] = {"url": part.as_url()}
        if part.detail:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    return {"type": "text", "text": part.text}


def wire_tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = tool.schema
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def wire_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def wire_response_format(fmt: ResponseFormat) -> dict[str, Any]:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    spec: dict[str, Any] = {"name": fmt.name or "response"}
    if fmt.description:
        spec["description"] = fmt.description
    spec["schema"] = fmt.schema
    if fmt.strict is not None:
        spec["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": spec}


def _fold_system_into_first_user_turn(messages: list[dict[str, Any]], system_role: str) -> list[dict[str, Any]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == system_role)
    rest = [m for m in messages if m["role"] != system_role]
    for i, message in enumerate(rest):
        if system and message["role"] == "user":
            content = message["content"]
            if isinstance(content, str):
                rest[i] = {"role": "user", "content": f"{system}\n\n{content}"}
            else:
                rest[i] = {"role": "user", "content": [{"type": "text", "text": system}, *content]}
            break
    return rest
