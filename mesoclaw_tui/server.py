"""`mesoclaw serve`: a local OpenAI-compatible endpoint in front of the router.

    POST /v1/chat/completions   streaming (SSE) or not; every request is classified and routed
    GET  /v1/models             mesoclaw/auto, mesoclaw/eco|balanced|premium, then `provider:model_id`
    GET  /health                {"status": "ok"}, never needs the token

The model a client asks for decides the routing: `mesoclaw/auto` (or `mesoclaw`, `auto`) uses the
active profile, `mesoclaw/<profile>` forces a profile, and any model name the registry knows
(`openai:gpt-4o`, `gpt-4o`, `claude-sonnet-4.5` …) skips routing (its own providers only).

The messages become one engine Turn: the system (and developer) messages joined are the system
prompt, the last message (it must be the user's) is the prompt the classifier sees, everything
before it is the history. Nothing is saved as a conversation; the engine records one usage row per
request with source "serve".

A streamed response's status and `x-mesoclaw-*` headers are sent with the first token, so when
every candidate fails before it the client still gets a proper JSON error status. One RouterService
and one Engine (one pooled HTTP client) serve the whole process.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import __version__
from .core.types import MesoclawError, MesoclawFailure, RoutingProfile, parse_task
from .engine import Delta, Engine, FellBack, Finished, Routed, Trying, Turn
from .service import RouterService

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
AUTO_NAMES = ("mesoclaw/auto", "mesoclaw", "auto")
VIRTUAL_MODELS = ("mesoclaw/auto", *(f"mesoclaw/{p.value}" for p in RoutingProfile))
RELOAD_CHECK_S = 2.0  # how often a request may look whether another process changed models/settings
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

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=headers)


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to expose the user's API keys to the network without a token."""
    if not is_loopback(host) and not token:
        raise MesoclawError(
            f"refusing to listen on {host} without --token: anyone who can reach it could spend your provider "
            "credits (give --token or MESOCLAW_SERVE_TOKEN, or keep the default host 127.0.0.1)")


# the request -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatCall:
    turn: Turn
    stream: bool
    include_usage: bool
    requested: str


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


def parse_chat(body: Any, task_header: str | None = None) -> ChatCall:
    """An OpenAI chat-completions body -> one engine Turn (or ApiError 400 naming the field)."""
    from .providers import ChatMessage

    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise ApiError(400, "messages must be a non-empty array", param="messages")
    if body.get("tools") or body.get("functions"):
        raise ApiError(400, "tool calling is not supported by mesoclaw serve", param="tools",
                       code="unsupported_parameter")
    n = body.get("n", 1)
    if n not in (1, None):
        raise ApiError(400, "only n=1 is supported", param="n", code="unsupported_parameter")
    system: list[str] = []
    chat: list[ChatMessage] = []
    for index, message in enumerate(raw_messages):
        if not isinstance(message, dict):
            raise ApiError(400, f"messages[{index}] must be an object", param=f"messages[{index}]")
        role = _ROLES.get(message.get("role"))  # type: ignore[arg-type]
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

    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "stream must be true or false", param="stream")
    options = body.get("stream_options") or {}
    include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)
                                   or max_tokens < 1):
        raise ApiError(400, "max_tokens must be a positive integer", param="max_tokens")
    temperature = body.get("temperature")
    if temperature is not None and (not isinstance(temperature, int | float) or isinstance(temperature, bool)
                                    or not 0 <= temperature <= 2):
        raise ApiError(400, "temperature must be a number from 0 to 2", param="temperature")

    requested = body.get("model") or "mesoclaw/auto"
    if not isinstance(requested, str):
        raise ApiError(400, "model must be a string", param="model")
    profile = model = None
    name = requested.strip()
    if name.lower() in AUTO_NAMES:
        pass
    elif name.lower().startswith("mesoclaw/"):
        wanted = name.split("/", 1)[1].lower()
        if wanted not in RoutingProfile._value2member_map_:
            raise ApiError(400, f"unknown model '{requested}' (mesoclaw's routed models: "
                           f"{', '.join(VIRTUAL_MODELS)}; GET /v1/models lists the rest)", param="model",
                           code="model_not_found")
        profile = wanted
    else:
        model = name
    task = None
    if task_header:
        try:
            task = parse_task(task_header)
        except MesoclawError as exc:
            raise ApiError(400, f"x-mesoclaw-task: {exc}", param="x-mesoclaw-task") from None
    turn = Turn(chat[-1].content, source="serve", persist=False, history=tuple(chat[:-1]),
                system="\n\n".join(system) or None, profile=profile, model=model, task=task,
                max_tokens=max_tokens, temperature=float(temperature) if temperature is not None else None)
    return ChatCall(turn, stream, include_usage, requested)


# the app ---------------------------------------------------------------------------------------------


class Api:
    def __init__(self, service: RouterService, engine: Engine, token: str | None):
        self.service = service
        self.engine = engine
        self._token = token.encode() if token else None
        self._checked_at = 0.0
        self._data_version: int | None = None

    def authorize(self, request: Request) -> None:
        if self._token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise ApiError(401, "missing bearer token (send Authorization: Bearer <the --token of mesoclaw serve>)",
                           code="invalid_api_key")
        if not hmac.compare_digest(given.strip().encode(), self._token):
            raise ApiError(401, "invalid bearer token", code="invalid_api_key")

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
        try:
            self.authorize(request)
        except ApiError as exc:
            return exc.response()
        return JSONResponse({"object": "list", "data": await self._model_list()})

    async def model(self, request: Request) -> Response:
        try:
            self.authorize(request)
        except ApiError as exc:
            return exc.response()
        wanted = request.path_params["model"]
        for entry in await self._model_list():
            if entry["id"] == wanted:
                return JSONResponse(entry)
        return ApiError(404, f"unknown model '{wanted}' (GET /v1/models lists them)", param="model",
                        code="model_not_found").response()

    async def _model_list(self) -> list[dict[str, Any]]:
        await self.refresh()
        data: list[dict[str, Any]] = [{"id": name, "object": "model", "created": 0, "owned_by": "mesoclaw"}
                                      for name in VIRTUAL_MODELS]
        configured = self.service.settings.configured()
        registry = await self.service.registry()
        for m in registry.models:
            if m.provider in configured and not m.retired:
                data.append({"id": f"{m.provider}:{m.model_id}", "object": "model", "created": 0,
                             "owned_by": m.provider,
                             "mesoclaw": {"canonical": m.canonical, "cost_tier": m.cost_tier.value,
                                          "context_window": m.context_window}})
        return data

    async def chat_completions(self, request: Request) -> Response:
        try:
            self.authorize(request)
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise ApiError(400, "the request body is not valid JSON") from None
            call = parse_chat(body, request.headers.get("x-mesoclaw-task"))
            await self.refresh()
            if call.turn.model:
                registry = await self.service.registry()
                if not registry.resolve(call.turn.model):
                    close = registry.suggest(call.turn.model)
                    hint = f"did you mean: {', '.join(close)}? " if close else ""
                    raise ApiError(400, f"unknown model '{call.requested}' ({hint}GET /v1/models lists the valid "
                                   f"choices: {', '.join(VIRTUAL_MODELS)} and provider:model IDs)", param="model",
                                   code="model_not_found")
            return await self._answer(call)
        except ApiError as exc:
            return exc.response()

    async def _answer(self, call: ChatCall) -> Response:
        events = self.engine.stream(call.turn)
        task = profile = None
        trying = None
        fallbacks = 0
        first: Delta | Finished | None = None
        try:
            while first is None:
                event = await events.__anext__()
                kind = type(event)
                if kind is Delta or kind is Finished:
                    first = event  # type: ignore[assignment]
                elif kind is Trying:
                    trying = event.target  # type: ignore[union-attr]
                elif kind is FellBack:
                    fallbacks += 1
                elif kind is Routed:
                    task, profile = event.task, event.profile  # type: ignore[union-attr]
        except MesoclawError as exc:
            await events.aclose()
            raise ApiError(400, str(exc)) from None
        except MesoclawFailure as exc:
            await events.aclose()
            raise ApiError(503, str(exc), code="unavailable") from None
        except BaseException:
            await events.aclose()
            raise

        if type(first) is Finished:
            reply = first.reply
            headers = _headers(reply.task, reply.profile, reply.provider, reply.model, len(reply.fallbacks))
            if reply.status != "complete":
                return error_for_reply(reply, self.service, call, headers)
            if not call.stream:
                return JSONResponse(completion_body(reply), headers=headers)
            return EventStream(_stream_finished(reply, call), headers)
        assert trying is not None
        headers = _headers(task, profile, trying.provider, trying.model, fallbacks)
        if not call.stream:
            reply = None
            try:
                async for event in events:
                    if type(event) is Finished:
                        reply = event.reply
            finally:
                await events.aclose()
            assert reply is not None
            if reply.status != "complete":
                return error_for_reply(reply, self.service, call, headers)
            return JSONResponse(completion_body(reply), headers=headers)
        return EventStream(_stream(events, first, call, f"{trying.provider}:{trying.model}"), headers)


def _headers(task: Any, profile: Any, provider: str | None, model: str | None, fallbacks: int) -> dict[str, str]:
    return {
        "x-mesoclaw-task": task.value if task else "",
        "x-mesoclaw-profile": profile.value if profile else "",
        "x-mesoclaw-provider": provider or "",
        "x-mesoclaw-model": model or "",
        "x-mesoclaw-fallbacks": str(fallbacks),
    }


def error_for_reply(reply: Any, service: RouterService, call: ChatCall, headers: dict[str, str]) -> JSONResponse:
    """A reply that failed before its first token (or, not streaming, mid-reply) as the right HTTP error.

    503: nothing could serve it (no provider configured, no available model, every candidate down).
    502: an upstream gave a definitive error for this request, or broke off mid-reply.
    """
    message = reply.error or "the request failed"
    if reply.status == "incomplete":
        error = ApiError(502, message, code="upstream_incomplete")
    elif not service.settings.configured():
        error = ApiError(503, message, code="no_provider_configured")
    elif reply.decision is not None and not reply.decision.candidates:
        error = ApiError(503, message, code="no_available_model")
    elif any(a.outcome in ("bad_request", "context_length") for a in reply.attempts) or (
            call.turn.model and reply.attempts):
        error = ApiError(502, message, code="upstream_error")
    else:
        error = ApiError(503, message, code="all_candidates_failed")
    return error.response(headers)


# bodies ----------------------------------------------------------------------------------------------


def _usage(reply: Any) -> dict[str, int]:
    prompt, completion = reply.input_tokens or 0, reply.output_tokens or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _extension(reply: Any) -> dict[str, Any]:
    return {"task": reply.task.value if reply.task else None, "profile": reply.profile.value if reply.profile else None,
            "provider": reply.provider, "model": reply.model, "fallbacks": len(reply.fallbacks),
            "cost_usd": reply.cost_usd, "estimated": reply.estimated}


def completion_body(reply: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + secrets.token_hex(12), "object": "chat.completion", "created": int(time.time()),
        "model": f"{reply.provider}:{reply.model}" if reply.provider else "mesoclaw",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop",
                     "logprobs": None}],
        "usage": _usage(reply), "mesoclaw": _extension(reply),
    }


class _Chunks:
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
        body = {"error": {"message": reply.error or "the reply broke off", "type": "server_error", "param": None,
                          "code": "upstream_incomplete"}}
        return b"data: " + json.dumps(body).encode() + b"\n\ndata: [DONE]\n\n"


class EventStream(StreamingResponse):
    """An SSE response whose body follows the engine. A client that goes away cancels the request
    (and with it the upstream request, which the engine records as cancelled). Unlike Starlette's
    StreamingResponse under uvicorn (ASGI 2.3), it watches for the disconnect with one plain task
    instead of an anyio task group per response: this is the hot path."""

    def __init__(self, body: AsyncIterator[bytes], headers: dict[str, str]):
        super().__init__(body, media_type="text/event-stream", headers={**headers, "cache-control": "no-cache"})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        gone = False

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            handler.cancel()

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone:
                raise
            handler.uncancel()  # the client left: nothing more to send, and nobody to tell
        finally:
            watcher.cancel()
            # Closed here, not by the garbage collector, so the engine's own cleanup runs now.
            await self.body_iterator.aclose()  # type: ignore[attr-defined]


async def _stream(events: AsyncIterator[Any], first: Delta, call: ChatCall, model: str) -> AsyncIterator[bytes]:
    chunks = _Chunks(model)
    try:
        yield chunks.first(first.text)
        async for event in events:
            if type(event) is Delta:
                yield chunks.delta(event.text)
            elif type(event) is Finished:
                reply = event.reply
                if reply.status == "complete":
                    yield chunks.end(reply, call.include_usage)
                else:
                    yield chunks.error(reply)
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def _stream_finished(reply: Any, call: ChatCall) -> AsyncIterator[bytes]:
    chunks = _Chunks(f"{reply.provider}:{reply.model}" if reply.provider else "mesoclaw")
    yield chunks.first(reply.text)
    yield chunks.end(reply, call.include_usage)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = {404: f"no route {request.url.path} (mesoclaw serves /v1/chat/completions, /v1/models, /health)",
               405: f"{request.method} is not allowed on {request.url.path}"}.get(status, "internal error")
    return ApiError(status, message, code={404: "not_found", 405: "method_not_allowed"}.get(status)).response()


def create_app(service: RouterService, engine: Engine, *, token: str | None = None) -> Starlette:
    api = Api(service, engine, token)

    async def chat(request: Request) -> Response:
        try:
            return await api.chat_completions(request)
        except Exception as exc:  # still an OpenAI-shaped answer, and the cause in the server's log
            logging.getLogger("uvicorn.error").exception("mesoclaw serve: request failed")
            return ApiError(500, f"internal error: {type(exc).__name__}: {exc}").response()

    app = Starlette(routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", api.models, methods=["GET"]),
        Route("/v1/models/{model:path}", api.model, methods=["GET"]),
        Route("/health", api.health, methods=["GET"]),
    ], exception_handlers={404: _not_found, 405: _not_found})
    app.state.api = api
    return _FastChat(app, chat)  # type: ignore[return-value]


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


# running it --------------------------------------------------------------------------------------------


def bind(host: str, port: int) -> socket.socket:
    """Listen before uvicorn starts, so a busy port is one clear error (and port 0 gets a real port)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, address = infos[0]
        # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only when it is,
        # and without it Nagle + delayed ACKs add ~40 ms to every keep-alive response.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        raise MesoclawFailure(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


async def serve(sock: socket.socket, *, db: str | None = None, token: str | None = None,
                log_level: str = "warning", access_log: bool = False,
                started: threading.Event | asyncio.Event | None = None,
                server_box: list[Any] | None = None) -> None:
    """Open the service, serve on `sock` until SIGINT/SIGTERM (or server.should_exit), close."""
    import uvicorn

    service = await RouterService.open(db)
    engine = Engine(service)
    try:
        await _warm_up(service)
        app = create_app(service, engine, token=token)
        config = uvicorn.Config(app, lifespan="off", log_level=log_level, access_log=access_log,
                                timeout_graceful_shutdown=10, server_header=False, date_header=False)
        server = uvicorn.Server(config)
        if server_box is not None:
            server_box.append(server)
        if started is not None:
            asyncio.get_running_loop().call_soon(_when_started, server, started)
        await server.serve(sockets=[sock])
    finally:
        await engine.aclose()
        await service.close()


async def _warm_up(service: RouterService) -> None:
    """Load what every request needs before the first one arrives, then freeze it out of the garbage
    collector: the registry and the classifier's model are large and live forever, and walking them in
    every full collection shows up as 20+ ms pauses at p99."""
    from .core.classifier import classify

    await service.registry()
    classify("warm up the classifier")
    gc.collect()
    gc.freeze()


def _when_started(server: Any, started: threading.Event | asyncio.Event) -> None:
    if server.started:
        started.set()
    else:
        asyncio.get_running_loop().call_later(0.005, _when_started, server, started)


class BackgroundServer:
    """`mesoclaw serve` on a daemon thread with its own loop, for tests, benchmarks or an embedding app.

        with BackgroundServer() as server:      # port 0: a free port
            client = openai.OpenAI(base_url=server.base_url, api_key="x")
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, *, db: str | None = None,
                 token: str | None = None):
        check_bind(host, token)
        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        self.base_url = self.url + "/v1"
        self._db, self._token = db, token
        self._started = threading.Event()
        self._box: list[Any] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mesoclaw-serve", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(serve(self.sock, db=self._db, token=self._token, started=self._started,
                              server_box=self._box))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._started.set()

    def start(self) -> BackgroundServer:
        self._thread.start()
        if not self._started.wait(30) or self._error is not None:
            raise RuntimeError(f"mesoclaw serve did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._box:
            self._box[0].should_exit = True
        self._thread.join(15)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
