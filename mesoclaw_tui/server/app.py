"""The Starlette app of `mesoclaw serve`: routes and the chat handler (in OpenAI's wire format over
answering.py), all of it behind the Guard (guard.py), which checks the bearer token."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..engine import Delta, Engine, Finished
from . import wire
from .answering import EventStream, final_reply, open_answer, relay
from .connections import Connections
from .guard import Guard
from .limits import Access, Limits
from .wire import ApiError, ChatCall

RELOAD_CHECK_S = 2.0  # how often a request may look whether another process changed models/settings


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


class Api:
    """The routes' shared state. Every request reaching it has passed the Guard: Host, Origin and the
    bearer token are checked there, from the request head."""

    def __init__(self, service: Any, engine: Engine):
        self.service = service
        self.engine = engine
        self._checked_at = 0.0
        self._data_version: int | None = None

    async def refresh(self) -> None:
        """Notice models added or refreshed by another process (the registry is cached)."""
        now = time.monotonic()
        if now - self._checked_at < RELOAD_CHECK_S:
            return
        self._checked_at = now
        version = await self.service.data_version()
        if self._data_version is not None and version != self._data_version:
            self.service.invalidate()
        self._data_version = version

    # endpoints --------------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": await self._model_list()})

    async def model(self, request: Request) -> Response:
        wanted = request.path_params["model"]
        await self.refresh()
        entry = wire.model_entry(wanted, await self.service.registry())
        if entry is not None:
            return JSONResponse(entry)
        return error_response(ApiError(404, f"unknown model '{wanted}' (GET /v1/models lists them)", param="model",
                                       code="model_not_found"))

    async def _model_list(self) -> list[dict[str, Any]]:
        await self.refresh()
        return wire.model_entries(await self.service.registry(), self.service.settings.configured())

    async def chat_completions(self, request: Request) -> Response:
        try:
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise ApiError(400, "the request body is not valid JSON") from None
            call = wire.parse_chat(body, request.headers.get("x-mesoclaw-task"))
            await self.refresh()
            if call.turn.model:
                registry = await self.service.registry()
                if not registry.resolve(call.turn.model):
                    raise wire.unknown_model(call.requested, registry.suggest(call.turn.model))
            return await self._answer(call)
        except ApiError as exc:
            return error_response(exc)

    async def _answer(self, call: ChatCall) -> Response:
        """Held back until the first token (or the end), so the status and headers are true."""
        events, opening = await open_answer(self.engine, call.turn)
        first = opening.first
        if type(first) is Finished:
            await events.aclose()  # type: ignore[attr-defined]
            return _finished(first.reply, call)
        trying = opening.trying
        assert trying is not None
        headers = wire.headers(opening.task, opening.profile, trying.provider, trying.model, opening.fallbacks)
        if call.stream:
            return EventStream(_stream(events, first, call, f"{trying.provider}:{trying.model}"), headers)
        return await _collected(events, headers, call)


def _finished(reply: Any, call: ChatCall) -> Response:
    headers = wire.reply_headers(reply)
    if reply.failure is not None:
        return error_response(wire.error_for(reply, call.params), headers)
    if not call.stream:
        return JSONResponse(wire.completion_body(reply), headers=headers)
    return EventStream(_stream_finished(reply, call), headers)


async def _collected(events: AsyncIterator[Any], headers: dict[str, str], call: ChatCall) -> Response:
    """Not streaming: the rest of the reply, then one body (or the error it ended with)."""
    reply = await final_reply(events)
    if reply.failure is not None:
        return error_response(wire.error_for(reply, call.params), headers)
    return JSONResponse(wire.completion_body(reply), headers=headers)


def _stream(events: AsyncIterator[Any], first: Any, call: ChatCall, model: str) -> AsyncIterator[bytes]:
    """The rest of the reply as OpenAI's chat.completion.chunk events."""
    chunks = wire.Chunks(model)

    def opening() -> bytes:
        return chunks.first(first.text) if type(first) is Delta else chunks.tool(first, first=True)

    def closing(reply: Any) -> bytes:
        if reply.failure is not None:
            return chunks.error(reply, call.params)
        return chunks.end(reply, call.include_usage)

    return relay(events, opening, chunks.delta, chunks.tool, closing)


async def _stream_finished(reply: Any, call: ChatCall) -> AsyncIterator[bytes]:
    yield wire.Chunks(wire.answered_by(reply)).whole(reply, call.include_usage)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    served = "mesoclaw serves /v1/chat/completions, /v1/messages, /v1/models, /health"
    if request.url.path.rstrip("/").endswith("/responses"):
        served = "the Responses API is not served; " + served
    message = {404: f"no route {request.url.path} ({served})",
               405: f"{request.method} is not allowed on {request.url.path}"}.get(status, "internal error")
    return error_response(ApiError(status, message, code={404: "not_found", 405: "method_not_allowed"}.get(status)))


def create_app(service: Any, engine: Engine, *, token: str | None = None, access: Access | None = None,
               limits: Limits | None = None, connections: Connections | None = None) -> Guard:
    """The whole app behind the Guard (guard.py): Host/Origin, content type, body limits, the upstream
    gate and disconnects apply to every route, the hot chat shortcut included."""
    api = Api(service, engine)

    async def chat(request: Request) -> Response:
        try:
            return await api.chat_completions(request)
        except Exception as exc:  # still an OpenAI-shaped answer, and the cause in the server's log
            logging.getLogger("uvicorn.error").exception("mesoclaw serve: request failed")
            return error_response(ApiError(500, f"internal error: {type(exc).__name__}: {exc}"))

    from .messages_route import MessagesRoute

    messages = MessagesRoute(api)
    app = Starlette(routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/messages", messages.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", messages.count_tokens, methods=["POST"]),
        Route("/v1/models", api.models, methods=["GET"]),
        Route("/v1/models/{model:path}", api.model, methods=["GET"]),
        Route("/health", api.health, methods=["GET"]),
    ], exception_handlers={404: _not_found, 405: _not_found})
    app.state.api = api
    return Guard(_FastChat(app, chat), access or Access(token=bool(token)), limits or Limits(), connections,
                 token=token)


class _FastChat:
    """POST /v1/chat/completions straight to its handler, past Starlette's middleware and router: the
    one hot route pays no more than it must (everything else goes through Starlette). The handler
    already turns every exception into an OpenAI-shaped response."""

    def __init__(self, app: Starlette, chat: Any):
        self.app = app
        self.state = app.state
        self._chat = chat

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/v1/chat/completions":
            response = await self._chat(Request(scope, receive))
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)
