"""POST /v1/messages and /v1/messages/count_tokens: the Anthropic Messages API over the same router,
engine, headers and usage records as /v1/chat/completions (anthropic_wire.py is the format)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..engine import Delta, Finished, prompt_tokens
from . import anthropic_wire as aw
from . import wire
from .answering import EventStream, final_reply, open_answer, relay
from .api_error import ApiError


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(aw.error_body(error), status_code=error.status, headers=headers)


class MessagesRoute:
    """The handlers, sharing the chat endpoint's Api (its service, engine and reload check) and, through
    answering.py, how an answer follows the engine. The Guard has checked the token (a Bearer token, or
    x-api-key as Anthropic clients send it)."""

    def __init__(self, api: Any):
        self.api = api

    async def _call(self, request: Request) -> aw.MessagesCall:
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise ApiError(400, "the request body is not valid JSON") from None
        call = aw.parse_messages_body(body, request.headers.get("x-mesoclaw-task"))
        await self.api.refresh()
        if call.turn.model:
            registry = await self.api.service.registry()
            if not registry.resolve(call.turn.model):
                raise wire.unknown_model(call.requested, registry.suggest(call.turn.model))
        return call

    async def messages(self, request: Request) -> Response:
        try:
            return await self._answer(await self._call(request))
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:  # still an Anthropic-shaped answer, and the cause in the server's log
            logging.getLogger("uvicorn.error").exception("mesoclaw serve: request failed")
            return error_response(ApiError(500, f"internal error: {type(exc).__name__}: {exc}"))

    async def count_tokens(self, request: Request) -> Response:
        """The request's input tokens as mesoclaw estimates them (no provider is asked)."""
        try:
            turn = (await self._call(request)).turn
        except ApiError as exc:
            return error_response(exc)
        return JSONResponse({"input_tokens": prompt_tokens(turn.messages or (), turn.system, turn.tools)},
                            headers={"x-mesoclaw-estimated": "true"})

    async def _answer(self, call: aw.MessagesCall) -> Response:
        """Held back until the first token (or the end), so the status and headers are true."""
        events, opening = await open_answer(self.api.engine, call.turn)
        first = opening.first
        if type(first) is Finished:
            await events.aclose()
            return self._finished(first.reply, call)
        trying = opening.trying
        headers = wire.headers(opening.task, opening.profile, trying.provider, trying.model, opening.fallbacks)
        if call.stream:
            return EventStream(_stream(events, first, call, f"{trying.provider}:{trying.model}"), headers)
        return self._finished(await final_reply(events), call, headers)

    def _finished(self, reply: Any, call: aw.MessagesCall, headers: dict[str, str] | None = None) -> Response:
        headers = headers or wire.reply_headers(reply)
        if reply.failure is not None:
            return error_response(aw.reply_error(reply, call.params), headers)
        if not call.stream:
            return JSONResponse(aw.message_body(reply), headers=headers)
        return EventStream(_stream_finished(reply), headers)


def _stream(events: Any, first: Any, call: aw.MessagesCall, model: str) -> AsyncIterator[bytes]:
    """The rest of the reply as the Messages API's SSE events."""
    out = aw.MessageEvents(model)

    def opening() -> bytes:
        return out.start() + (out.text(first.text) if type(first) is Delta else out.tool(first))

    def closing(reply: Any) -> bytes:
        return out.error(aw.reply_error(reply, call.params)) if reply.failure is not None else out.end(reply)

    return relay(events, opening, out.text, out.tool, closing)


async def _stream_finished(reply: Any) -> AsyncIterator[bytes]:
    yield aw.MessageEvents(wire.answered_by(reply)).whole(reply)
