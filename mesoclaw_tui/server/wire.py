"""The OpenAI chat-completions wire format, pure: a request body -> an engine Turn, and a Reply ->
response bodies, SSE chunks, headers and error bodies. No Starlette here, no I/O."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.failures import FailureKind
from ..core.types import Capability, MesoclawError, RoutingProfile, parse_task
from ..engine import Turn
from .api_error import ApiError
from .openai_request import parse_flag, parse_messages, parse_response_format, parse_tool_choice, parse_tools

AUTO_NAMES = ("mesoclaw/auto", "mesoclaw", "auto")
VIRTUAL_MODELS = ("mesoclaw/auto", *(f"mesoclaw/{p.value}" for p in RoutingProfile))


# A failed reply -> HTTP status, OpenAI error code, and the parameter to blame. 503 means "nothing could
# serve it now" (clients retry it); 502 an upstream's definitive answer; 400 the request itself.
FAILURE_ERRORS: dict[FailureKind, tuple[int, str, str | None]] = {
    FailureKind.NO_PROVIDER: (503, "no_provider_configured", None),
    FailureKind.NO_AVAILABLE_MODEL: (503, "no_available_model", None),
    FailureKind.CONTEXT_TOO_LARGE: (400, "context_length_exceeded", "messages"),
    # OpenAI's own code for a parameter the model does not take; the parameter is the request's.
    FailureKind.MISSING_CAPABILITY: (400, "unsupported_parameter", None),
    FailureKind.BAD_REQUEST: (502, "upstream_error", None),
    FailureKind.ALL_FAILED: (503, "all_candidates_failed", None),
    FailureKind.INCOMPLETE: (502, "upstream_incomplete", None),
    FailureKind.CANCELLED: (499, "client_closed_request", None),  # nobody is left to read it
    FailureKind.REPLY_TOO_LARGE: (502, "reply_too_large", None),
    # OpenAI's status and code for a spent quota: clients know it is not worth retrying soon.
    FailureKind.BUDGET_EXCEEDED: (429, "insufficient_quota", None),
}


def error_for(reply: Any, params: Mapping[Capability, str] | None = None) -> ApiError:
    """The error a failed reply is answered with; `params` names the request's parameter that asked
    for each capability, so a missing one is blamed on it."""
    status, code, param = FAILURE_ERRORS[reply.failure]
    if reply.failure is FailureKind.MISSING_CAPABILITY and reply.missing:
        param = (params or {}).get(reply.missing[0], CAPABILITY_PARAMS.get(reply.missing[0]))
    return ApiError(status, reply.error or "the request failed", code=code, param=param)


# the request parameter that asks for each capability (images: the message that holds one)
CAPABILITY_PARAMS = {Capability.TOOLS: "tools", Capability.PARALLEL_TOOLS: "parallel_tool_calls",
                     Capability.STRUCTURED_OUTPUT: "response_format", Capability.IMAGE_INPUT: "messages"}


# the request -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatCall:
    turn: Turn
    stream: bool
    include_usage: bool
    requested: str
    params: Mapping[Capability, str] = field(default_factory=dict)  # see error_for


def parse_chat(body: Any, task_header: str | None = None) -> ChatCall:
    """An OpenAI chat-completions body -> one engine Turn (or ApiError 400 naming the field)."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    _refuse_unsupported(body)
    parsed = parse_messages(body.get("messages"))
    stream, include_usage = _streaming(body)
    max_tokens, temperature = sampling(body)
    requested, profile, model = routed_model(body.get("model"))
    tools = parse_tools(body.get("tools")) if body.get("tools") else ()
    turn = Turn(parsed.prompt, source="serve", persist=False, messages=parsed.chat,
                system="\n\n".join(parsed.system) or None, profile=profile, model=model, task=task_from_header(task_header),
                max_tokens=max_tokens, temperature=temperature, tools=tools,
                tool_choice=parse_tool_choice(body.get("tool_choice"), tools),
                parallel_tool_calls=parse_flag(body, "parallel_tool_calls"),
                response_format=parse_response_format(body.get("response_format")))
    return ChatCall(turn, stream, include_usage, requested, parsed.params)


def _refuse_unsupported(body: dict[str, Any]) -> None:
    for legacy in ("functions", "function_call"):
        if body.get(legacy) is not None:
            raise ApiError(400, f"the legacy '{legacy}' parameter is not supported: send 'tools' (and "
                           "'tool_choice') instead", param=legacy, code="unsupported_parameter")
    if body.get("n", 1) not in (1, None):
        raise ApiError(400, "only n=1 is supported", param="n", code="unsupported_parameter")


def _streaming(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "stream must be true or false", param="stream")
    options = body.get("stream_options") or {}
    return stream, bool(isinstance(options, dict) and options.get("include_usage"))


def sampling(body: dict[str, Any]) -> tuple[int | None, float | None]:
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


def routed_model(requested: Any) -> tuple[str, str | None, str | None]:
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


def task_from_header(header: str | None) -> Any:
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
            data.append(_model_entry(f"{m.provider}:{m.model_id}", m))
    return data


def model_entry(name: str, registry: Any) -> dict[str, Any] | None:
    """GET /v1/models/{name}: any name a chat request accepts in `model` (a routed model, a canonical
    name, an alias, a provider's ID, `provider:id`), or None when no request would accept it."""
    try:
        routed_model(name)
    except ApiError:
        return None
    if name.strip().lower() in AUTO_NAMES or name.strip().lower().startswith("mesoclaw/"):
        return {"id": name, "object": "model", "created": 0, "owned_by": "mesoclaw"}
    routes = registry.resolve(name)
    return _model_entry(name, routes[0], routes) if routes else None


def _model_entry(name: str, m: Any, routes: Any = None) -> dict[str, Any]:
    extension = {"canonical": m.canonical, "cost_tier": m.cost_tier.value, "context_window": m.context_window}
    if m.capabilities is not None:
        extension["capabilities"] = sorted(c.value for c in m.capabilities)
    if routes is not None:
        extension["routes"] = [f"{r.provider}:{r.model_id}" for r in routes]
    return {"id": name, "object": "model", "created": 0, "owned_by": m.provider, "mesoclaw": extension}


def _usage(reply: Any) -> dict[str, int]:
    prompt, completion = reply.input_tokens or 0, reply.output_tokens or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _extension(reply: Any) -> dict[str, Any]:
    return {"task": reply.task.value if reply.task else None, "profile": reply.profile.value if reply.profile else None,
            "provider": reply.provider, "model": reply.model, "fallbacks": len(reply.fallbacks),
            "cost_usd": reply.cost_usd, "estimated": reply.estimated}


def answered_by(reply: Any) -> str:
    return f"{reply.provider}:{reply.model}" if reply.provider else "mesoclaw"


def finish_reason(reply: Any) -> str:
    return reply.finish_reason or "stop"


def tool_calls_body(calls: Any) -> list[dict[str, Any]]:
    return [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls]


def completion_body(reply: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text if reply.text or not reply.tool_calls
                               else None, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = tool_calls_body(reply.tool_calls)
    return {
        "id": "chatcmpl-" + secrets.token_hex(12), "object": "chat.completion", "created": int(time.time()),
        "model": answered_by(reply),
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(reply), "logprobs": None}],
        "usage": _usage(reply), "mesoclaw": _extension(reply),
    }


class Chunks:
    """SSE chunk bytes, with the invariant part of every delta chunk encoded once per response: text
    deltas and tool-call argument fragments (the two kinds a reply streams many of) are bytes joined
    around one json.dumps of the new text."""

    def __init__(self, model: str):
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        head = json.dumps({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                           "model": model})[:-1]
        self._delta_head = f'data: {head}, "choices": [{{"index": 0, "delta": {{"content": '.encode()
        self._delta_tail = b'}, "finish_reason": null}]}\n\n'
        self._call_head = f'data: {head}, "choices": [{{"index": 0, "delta": {{"tool_calls": [{{"index": '.encode()
        self._call_tail = b'}}]}, "finish_reason": null}]}\n\n'
        self._bare: set[int] = set()  # calls with no arguments yet: they end as "{}", as OpenAI sends them

    def delta(self, text: str) -> bytes:
        return self._delta_head + json.dumps(text, ensure_ascii=False).encode() + self._delta_tail

    def tool(self, delta: Any, first: bool = False) -> bytes:
        """One tool-call delta: a call's first names it (id, type, name), the rest add arguments."""
        if first or delta.id is not None:
            if not delta.arguments:
                self._bare.add(delta.index)
            call: dict[str, Any] = {"index": delta.index}
            if delta.id is not None:
                call.update(id=delta.id, type="function", function={"name": delta.name or "",
                                                                    "arguments": delta.arguments})
            else:
                call["function"] = {"arguments": delta.arguments}
            message: dict[str, Any] = {"role": "assistant", "content": None} if first else {}
            return self.event([{"index": 0, "delta": {**message, "tool_calls": [call]}, "finish_reason": None}])
        if self._bare and delta.arguments:
            self._bare.discard(delta.index)
        return (self._call_head + str(delta.index).encode() + b', "function": {"arguments": '
                + json.dumps(delta.arguments, ensure_ascii=False).encode() + self._call_tail)

    def event(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": choices, **extra}
        return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"

    def first(self, text: str) -> bytes:
        return self.event([{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}])

    def end(self, reply: Any, include_usage: bool) -> bytes:
        out = b"".join(self._call_head + str(index).encode() + b', "function": {"arguments": "{}"' + self._call_tail
                       for index in sorted(self._bare))
        out += self.event([{"index": 0, "delta": {}, "finish_reason": finish_reason(reply)}])
        if include_usage:
            out += self.event([], usage=_usage(reply), mesoclaw=_extension(reply))
        return out + b"data: [DONE]\n\n"

    def whole(self, reply: Any, include_usage: bool) -> bytes:
        """A reply that finished before it streamed anything, as one stream."""
        out = self.first(reply.text)
        for index, call in enumerate(reply.tool_calls):
            out += self.event([{"index": 0, "delta": {"tool_calls": [
                {"index": index, "id": call.id, "type": "function",
                 "function": {"name": call.name, "arguments": call.arguments}}]}, "finish_reason": None}])
        return out + self.end(reply, include_usage)

    @staticmethod
    def error(reply: Any, params: Mapping[Capability, str] | None = None) -> bytes:
        # The openai client raises on a data chunk holding "error": the reply broke off mid-stream.
        return b"data: " + json.dumps(error_for(reply, params).body()).encode() + b"\n\ndata: [DONE]\n\n"
