"""The OpenAI chat-completions wire format, pure: a request body -> an engine Turn, and a Reply ->
response bodies, SSE chunks, headers and error bodies. No Starlette here, no I/O."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from ..core.failures import FailureKind
from ..core.types import MesoclawError, RoutingProfile, parse_task
from ..engine import Turn

AUTO_NAMES = ("mesoclaw/auto", "mesoclaw", "auto")
VIRTUAL_MODELS = ("mesoclaw/auto", *(f"mesoclaw/{p.value}" for p in RoutingProfile))
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class ApiError(Exception):
    """An error answered in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 kind: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.kind = kind or ("invalid_request_error" if status < 500 else "server_error")

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


# A failed reply -> HTTP status, OpenAI error code, and the parameter to blame. 503 means "nothing could
# serve it now" (clients retry it); 502 an upstream's definitive answer; 400 the request itself.
FAILURE_ERRORS: dict[FailureKind, tuple[int, str, str | None]] = {
    FailureKind.NO_PROVIDER: (503, "no_provider_configured", None),
    FailureKind.NO_AVAILABLE_MODEL: (503, "no_available_model", None),
    FailureKind.CONTEXT_TOO_LARGE: (400, "context_length_exceeded", "messages"),
    FailureKind.BAD_REQUEST: (502, "upstream_error", None),
    FailureKind.ALL_FAILED: (503, "all_candidates_failed", None),
    FailureKind.INCOMPLETE: (502, "upstream_incomplete", None),
    FailureKind.CANCELLED: (499, "client_closed_request", None),  # nobody is left to read it
}


def error_for(reply: Any) -> ApiError:
    status, code, param = FAILURE_ERRORS[reply.failure]
    return ApiError(status, reply.error or "the request failed", code=code, param=param)


# the request -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatCall:
    turn: Turn
    stream: bool
    include_usage: bool
    requested: str


def parse_chat(body: Any, task_header: str | None = None) -> ChatCall:
    """An OpenAI chat-completions body -> one engine Turn (or ApiError 400 naming the field)."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    system, chat = _messages(body.get("messages"))
    _refuse_unsupported(body)
    stream, include_usage = _streaming(body)
    max_tokens, temperature = _sampling(body)
    requested, profile, model = _model(body.get("model"))
    turn = Turn(chat[-1].content, source="serve", persist=False, history=tuple(chat[:-1]),
                system="\n\n".join(system) or None, profile=profile, model=model, task=_task(task_header),
                max_tokens=max_tokens, temperature=temperature)
    return ChatCall(turn, stream, include_usage, requested)


def _refuse_unsupported(body: dict[str, Any]) -> None:
    if body.get("tools") or body.get("functions"):
        raise ApiError(400, "tool calling is not supported by mesoclaw serve", param="tools",
                       code="unsupported_parameter")
    if body.get("n", 1) not in (1, None):
        raise ApiError(400, "only n=1 is supported", param="n", code="unsupported_parameter")


def _messages(raw: Any) -> tuple[list[str], list[Any]]:
    """System (and developer) texts, and the chat messages; the last must be the user's."""
    from ..providers import ChatMessage

    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "messages must be a non-empty array", param="messages")
    system: list[str] = []
    chat: list[ChatMessage] = []
    for index, message in enumerate(raw):
        if not isinstance(message, dict):
            raise ApiError(400, f"messages[{index}] must be an object", param=f"messages[{index}]")
        raw_role = message.get("role")
        role = _ROLES.get(raw_role) if isinstance(raw_role, str) else None  # {"a": 1} is not hashable
        if role is None:
            raise ApiError(400, f"messages[{index}].role '{message.get('role')}' is not supported (valid: "
                           "system, developer, user, assistant)", param=f"messages[{index}].role")
        text = _text(message.get("content"), index)
        if role == "system":
            system.append(text)
        else:
            chat.append(ChatMessage(role, text))
    if not chat or chat[-1].role != "user":
        raise ApiError(400, "the last non-system message must be the user's", param="messages")
    return system, chat


def _text(content: Any, index: int) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise ApiError(400, f"messages[{index}]: only text content is supported, not '{kind}'",
                               param=f"messages[{index}].content", code="unsupported_content")
        return "\n".join(parts)
    raise ApiError(400, f"messages[{index}].content must be a string or a list of text parts",
                   param=f"messages[{index}].content")


def _streaming(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "stream must be true or false", param="stream")
    options = body.get("stream_options") or {}
    return stream, bool(isinstance(options, dict) and options.get("include_usage"))


def _sampling(body: dict[str, Any]) -> tuple[int | None, float | None]:
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)
                                   or max_tokens < 1):
        raise ApiError(400, "max_tokens must be a positive integer", param="max_tokens")
    temperature = body.get("temperature")
    if temperature is None:
        return max_tokens, None
    if not isinstance(temperature, int | float) or isinstance(temperature, bool) or not 0 <= temperature <= 2:
        raise ApiError(400, "temperature must be a number from 0 to 2", param="temperature")
    return max_tokens, float(temperature)


def _model(requested: Any) -> tuple[str, str | None, str | None]:
    """The model as asked for, and what it means: (requested, profile, model); both None: the active profile."""
    requested = requested or "mesoclaw/auto"
    if not isinstance(requested, str):
        raise ApiError(400, "model must be a string", param="model")
    name = requested.strip()
    if name.lower() in AUTO_NAMES:
        return requested, None, None
    if not name.lower().startswith("mesoclaw/"):
        return requested, None, name
    wanted = name.split("/", 1)[1].lower()
    if wanted not in RoutingProfile._value2member_map_:
        raise ApiError(400, f"unknown model '{requested}' (mesoclaw's routed models: "
                       f"{', '.join(VIRTUAL_MODELS)}; GET /v1/models lists the rest)", param="model",
                       code="model_not_found")
    return requested, wanted, None


def _task(header: str | None) -> Any:
    if not header:
        return None
    try:
        return parse_task(header)
    except MesoclawError as exc:
        raise ApiError(400, f"x-mesoclaw-task: {exc}", param="x-mesoclaw-task") from None


def unknown_model(requested: str, close: list[str]) -> ApiError:
    hint = f"did you mean: {', '.join(close)}? " if close else ""
    return ApiError(400, f"unknown model '{requested}' ({hint}GET /v1/models lists the valid choices: "
                    f"{', '.join(VIRTUAL_MODELS)} and provider:model IDs)", param="model", code="model_not_found")


# responses -------------------------------------------------------------------------------------------


def headers(task: Any, profile: Any, provider: str | None, model: str | None, fallbacks: int) -> dict[str, str]:
    return {
        "x-mesoclaw-task": task.value if task else "",
        "x-mesoclaw-profile": profile.value if profile else "",
        "x-mesoclaw-provider": provider or "",
        "x-mesoclaw-model": model or "",
        "x-mesoclaw-fallbacks": str(fallbacks),
    }


def reply_headers(reply: Any) -> dict[str, str]:
    return headers(reply.task, reply.profile, reply.provider, reply.model, len(reply.fallbacks))


def model_entries(registry: Any, configured: frozenset[str]) -> list[dict[str, Any]]:
    """GET /v1/models: the routed models, then every model of a configured provider that is not retired."""
    data: list[dict[str, Any]] = [{"id": name, "object": "model", "created": 0, "owned_by": "mesoclaw"}
                                  for name in VIRTUAL_MODELS]
    for m in registry.models:
        if m.provider in configured and not m.retired:
            data.append({"id": f"{m.provider}:{m.model_id}", "object": "model", "created": 0,
                         "owned_by": m.provider,
                         "mesoclaw": {"canonical": m.canonical, "cost_tier": m.cost_tier.value,
                                      "context_window": m.context_window}})
    return data


def _usage(reply: Any) -> dict[str, int]:
    prompt, completion = reply.input_tokens or 0, reply.output_tokens or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _extension(reply: Any) -> dict[str, Any]:
    return {"task": reply.task.value if reply.task else None, "profile": reply.profile.value if reply.profile else None,
            "provider": reply.provider, "model": reply.model, "fallbacks": len(reply.fallbacks),
            "cost_usd": reply.cost_usd, "estimated": reply.estimated}


def answered_by(reply: Any) -> str:
    return f"{reply.provider}:{reply.model}" if reply.provider else "mesoclaw"


def completion_body(reply: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + secrets.token_hex(12), "object": "chat.completion", "created": int(time.time()),
        "model": answered_by(reply),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop",
                     "logprobs": None}],
        "usage": _usage(reply), "mesoclaw": _extension(reply),
    }


class Chunks:
    """SSE chunk bytes, with the invariant part of every delta chunk encoded once per response."""

    def __init__(self, model: str):
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        head = json.dumps({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                           "model": model})[:-1]
        self._delta_head = f'data: {head}, "choices": [{{"index": 0, "delta": {{"content": '.encode()
        self._delta_tail = b'}, "finish_reason": null}]}\n\n'

    def delta(self, text: str) -> bytes:
        return self._delta_head + json.dumps(text, ensure_ascii=False).encode() + self._delta_tail

    def event(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": choices, **extra}
        return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"

    def first(self, text: str) -> bytes:
        return self.event([{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}])

    def end(self, reply: Any, include_usage: bool) -> bytes:
        out = self.event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if include_usage:
            out += self.event([], usage=_usage(reply), mesoclaw=_extension(reply))
        return out + b"data: [DONE]\n\n"

    @staticmethod
    def error(reply: Any) -> bytes:
        # The openai client raises on a data chunk holding "error": the reply broke off mid-stream.
        return b"data: " + json.dumps(error_for(reply).body()).encode() + b"\n\ndata: [DONE]\n\n"
