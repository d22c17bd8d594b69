"""The Guard: an ASGI wrapper every request to `mesoclaw serve` passes through before any route, the
hot chat shortcut and routes added later included.

In order, for each request:
1. Host and Origin (limits.Access): a foreign Host (DNS rebinding) or a web page's Origin that is
   not loopback or named by --allow-origin -> 403, before anything else is read or done.
   The token (--token): on every path but /health, `Authorization: Bearer TOKEN` (or `x-api-key:
   TOKEN`, as Anthropic clients send it), compared in constant time; without it -> 401 from the
   request head, so a client without the token cannot make the server read or wait for a body.
2. A body must be JSON: a request with a body (POST …) whose Content-Type is not application/json
   -> 415. A web page can POST text/plain anywhere without a CORS preflight; it cannot send
   application/json cross-site without one, and a preflight is only answered for --allow-origin.
3. The body is read here, whole, before the app sees it: a Content-Length over --max-body -> 413
   before a byte of it is read, a chunked body as soon as it passes the limit, a body not complete
   within --body-timeout -> 408. A JSON string holding a lone UTF-16 surrogate -> 400 naming the field.
4. The gate: at most --max-concurrent requests with a body (the ones that call providers) run at
   once, up to --max-queue more wait in order, past that 503 with Retry-After.
5. Disconnects: from the moment the body is in, one task waits for the client to leave; if it leaves
   before the response is complete, the request's task is cancelled wherever it is (queued, routing,
   waiting for the first token, streaming, collecting a whole reply): the engine closes its upstream
   request, tries no further candidate and records the reply as cancelled.
Refusals use OpenAI's error shape and close the connection (an unread body is not worth reading).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from collections import deque
from typing import Any

from .anthropic_wire import error_body
from .connections import Connections
from .limits import Access, Limits
from .wire import ApiError

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")  # \ud800-\udfff written as a JSON escape
_SURROGATE = re.compile("[\ud800-\udfff]")
_CACHED_VALUES = 256  # Host / Origin values whose verdict is remembered (a flood of new ones is not)
_CORS_EXPOSED = b"x-mesoclaw-task, x-mesoclaw-profile, x-mesoclaw-provider, x-mesoclaw-model, x-mesoclaw-fallbacks"


class Gate:
    """At most `limit` holders at once; up to `queue` more wait, first come first served."""

    def __init__(self, limit: int, queue: int):
        self.limit = limit
        self.queue = queue
        self.busy = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def full(self) -> bool:
        return self.busy >= self.limit and len(self._waiters) >= self.queue

    async def enter(self) -> bool:
        """Take a place, waiting for one if need be; False when the queue is full too."""
        if self.busy < self.limit and not self._waiters:
            self.busy += 1
            return True
        if len(self._waiters) >= self.queue:
            return False
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.leave()  # the place was handed over just as the client left: pass it on
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise
        return True  # leave() handed its place over: busy is unchanged

    def leave(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.busy -= 1


class _Exchange:
    """One request with a body, as the app sees it: the body (already read) on the first receive(),
    then http.disconnect when the client leaves; and whether the response is complete."""

    __slots__ = ("body", "_receive", "_send", "done", "gone", "_left")

    def __init__(self, body: bytes, receive: Any, send: Any):
        self.body: bytes | None = body
        self._receive = receive
        self._send = send
        self.done = False  # the last byte of the response has been handed to the server
        self.gone = False  # the client left before that
        self._left: asyncio.Event | None = None

    async def receive(self) -> dict[str, Any]:
        body = self.body
        if body is not None:
            self.body = None
            return {"type": "http.request", "body": body, "more_body": False}
        if self._left is None:
            self._left = asyncio.Event()
        await self._left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.done = True
        await self._send(message)

    async def watch(self, handler: asyncio.Task[Any]) -> None:
        # uvicorn's receive() also says http.disconnect once the response is complete: only a
        # disconnect before that means the client left.
        while (await self._receive())["type"] != "http.disconnect":
            pass
        if self._left is not None:
            self._left.set()
        if not self.done:
            self.gone = True
            handler.cancel()


class _Late:
    __slots__ = ("task", "expired")

    def __init__(self, task: asyncio.Task[Any]):
        self.task = task
        self.expired = False

    def expire(self) -> None:
        self.expired = True
        self.task.cancel()


class Guard:
    def __init__(self, app: Any, access: Access, limits: Limits, connections: Connections | None = None,
                 token: str | None = None):
        self.app = app
        self.state = getattr(app, "state", None)
        self.access = access
        self.limits = limits
        self.gate = Gate(limits.max_concurrent, limits.max_queue)
        self.connections = connections
        self._token = token.encode() if token else None
        self._hosts: dict[bytes, bool] = {}
        self._origins: dict[bytes, bool] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return  # nothing else (websockets) is served
        connections = self.connections
        if connections is None:
            await self._request(scope, receive, send)
            return
        client = scope.get("client")
        connections.request_started(client)
        try:
            await self._request(scope, receive, send)
        finally:
            connections.request_finished(client)

    async def _request(self, scope: Any, receive: Any, send: Any) -> None:
        host = origin = content_type = length = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"host":
                host = value if host is None else b""  # two Host headers: serve neither
            elif name == b"origin":
                origin = value
            elif name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if not self._host_ok(host):
            await _refuse(send, 403, f"Host '{_shown(host)}' is not served: {self.access.describe_hosts()}",
                          "forbidden_host")
            return
        if origin is not None and not self._origin_ok(origin):
            await _refuse(send, 403, _origin_message(origin, self.access.token), "forbidden_origin")
            return
        if origin is not None and origin.decode("latin-1").lower() in self.access.allow_origins:
            if scope["method"] == "OPTIONS":
                await _preflight(scope, origin, send)
                return
            send = _with_cors(send, origin)
        unauthorized = self._unauthorized(scope)
        if unauthorized is not None:
            await _refuse_unauthorized(send, scope["path"], unauthorized)
            return
        declared = _length(length)
        if declared > self.limits.max_body:
            await _refuse(send, 413, self._too_large(), "request_too_large")
            return
        if scope["method"] in _BODY_METHODS:
            await self._with_body(scope, receive, send, content_type, declared > 0 or chunked)
            return
        if self.connections is not None:
            self.connections.request_complete(scope.get("client"))
        await self.app(scope, receive, send)  # no body to read: GET, HEAD, a preflight the app refuses

    async def _with_body(self, scope: Any, receive: Any, send: Any, content_type: bytes | None,
                         has_body: bool) -> None:
        if content_type != b"application/json" and not _is_json(content_type):
            shown = _shown(content_type) if content_type else "no Content-Type"
            await _refuse(send, 415, f"the request body must be JSON sent as Content-Type: application/json "
                          f"(got {shown})", "unsupported_media_type")
            return
        if self.gate.full():  # refused before its body is read, when it would be refused after
            await _refuse_busy(send, self.gate)
            return
        body = await self._read_body(receive) if has_body else b""
        if type(body) is int:  # refused, or 0: the client left
            if body == 413:
                await _refuse(send, 413, self._too_large(), "request_too_large")
            elif body == 408:
                await _refuse(send, 408, f"the request body did not arrive within {self.limits.body_timeout:g} s "
                              "(mesoclaw serve --body-timeout)", "request_timeout")
            return
        if b"\\u" in body and _SURROGATE_ESCAPE.search(body):
            field = lone_surrogate_field(body)
            if field is not None:
                await _refuse(send, 400, f"{field} holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape not "
                              "part of a pair), which is not text: send valid Unicode", None, param=field)
                return
        if self.connections is not None:
            self.connections.request_complete(scope.get("client"))
        await self._gated(scope, body, receive, send)

    async def _gated(self, scope: Any, body: bytes, receive: Any, send: Any) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        exchange = _Exchange(body, receive, send)
        watcher = asyncio.create_task(exchange.watch(handler))
        try:
            if not await self.gate.enter():
                await _refuse_busy(send, self.gate)
                return
            try:
                await self.app(scope, exchange.receive, exchange.send)
            finally:
                self.gate.leave()
        except asyncio.CancelledError:
            if not exchange.gone:
                raise
            handler.uncancel()  # the client left: nothing more to send, and nobody to tell
        finally:
            watcher.cancel()

    async def _read_body(self, receive: Any) -> bytes | int:
        """The whole body; or 413 / 408 when it is refused, 0 when the client left."""
        limit = self.limits.max_body
        handler = asyncio.current_task()
        assert handler is not None
        # A plain timer that cancels this task, not asyncio.timeout(): half the cost, and this is every POST.
        late = _Late(handler)
        deadline = asyncio.get_running_loop().call_later(self.limits.body_timeout, late.expire)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return 0
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return 413
                if not message.get("more_body", False):
                    if not chunks:
                        return chunk
                    chunks.append(chunk)
                    return b"".join(chunks)
                chunks.append(chunk)
        except asyncio.CancelledError:
            if not late.expired:
                raise
            handler.uncancel()
            return 408
        finally:
            deadline.cancel()

    def _unauthorized(self, scope: Any) -> str | None:
        """Why this request may not be served without the token, or None (no --token, /health, or the
        token given)."""
        if self._token is None or scope["path"] == "/health":
            return None
        authorization = api_key = None
        for name, value in scope["headers"]:
            if name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"x-api-key" and api_key is None:
                api_key = value
        return credentials_problem(authorization, api_key, self._token)

    def _host_ok(self, host: bytes | None) -> bool:
        if not host:
            return False
        verdict = self._hosts.get(host)
        if verdict is None:
            verdict = self.access.host_allowed(host.decode("latin-1"))
            if len(self._hosts) < _CACHED_VALUES:
                self._hosts[host] = verdict
        return verdict

    def _origin_ok(self, origin: bytes) -> bool:
        verdict = self._origins.get(origin)
        if verdict is None:
            verdict = self.access.origin_allowed(origin.decode("latin-1"))
            if len(self._origins) < _CACHED_VALUES:
                self._origins[origin] = verdict
        return verdict

    def _too_large(self) -> str:
        return f"the request body is larger than this server's limit of {_size(self.limits.max_body)} " \
               "(mesoclaw serve --max-body)"


# helpers ---------------------------------------------------------------------------------------------------


def lone_surrogate_field(body: bytes) -> str | None:
    """The first field (`messages[0].content`, `model`, …) of a JSON body whose text holds a lone
    surrogate, or None (also when the body is not JSON: the route says so)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return path or "body"
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                name = f"{path}.{key}" if path else str(key)
                if _SURROGATE.search(key):
                    return (f"{path}." if path else "") + key.encode("utf-8", "backslashreplace").decode()
                stack.append((name, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
    return None


def credentials_problem(authorization: bytes | None, api_key: bytes | None, token: bytes) -> str | None:
    """Why `Authorization: Bearer …` (or, without it, `x-api-key: …`) does not give `token`, or None."""
    scheme, _, given = (authorization or b"").partition(b" ")
    if not authorization and api_key:
        scheme, given = b"bearer", api_key
    if scheme.lower() != b"bearer" or not given:
        return "missing bearer token (send Authorization: Bearer <the --token of mesoclaw serve>)"
    if not hmac.compare_digest(given.strip(), token):
        return "invalid bearer token"
    return None


def _is_json(content_type: bytes | None) -> bool:
    return content_type is not None and content_type.split(b";", 1)[0].strip().lower() == b"application/json"


def _length(value: bytes | None) -> int:
    try:
        return int(value) if value else 0
    except ValueError:  # the HTTP parser already refuses a malformed Content-Length
        return 0


def _shown(value: bytes | None) -> str:
    text = (value or b"").decode("latin-1")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= 100 else text[:99] + "…"


def _size(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def _origin_message(origin: bytes, token: bool) -> str:
    how = "start the server with --allow-origin ORIGIN" if token else \
        "only with --token can --allow-origin ORIGIN let one in"
    return (f"requests from the web page at {_shown(origin)} are refused: a page from another site may not "
            f"use this server ({how})")


def _with_cors(send: Any, origin: bytes) -> Any:
    async def cors_send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (b"access-control-allow-origin", origin),
                                              (b"vary", b"origin"), (b"access-control-expose-headers", _CORS_EXPOSED)]}
        await send(message)

    return cors_send


async def _preflight(scope: Any, origin: bytes, send: Any) -> None:
    """The CORS preflight of a page named by --allow-origin (any other page's gets the app's 405)."""
    asked = next((v for n, v in scope["headers"] if n == b"access-control-request-headers"), b"")
    await send({"type": "http.response.start", "status": 204, "headers": [
        (b"access-control-allow-origin", origin), (b"vary", b"origin"),
        (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
        (b"access-control-allow-headers", asked or b"authorization, content-type"),
        (b"access-control-max-age", b"600")]})
    await send({"type": "http.response.body", "body": b""})


async def _refuse_busy(send: Any, gate: Gate) -> None:
    await _refuse(send, 503, f"mesoclaw serve is busy: {gate.busy} requests are with providers and {gate.waiting} "
                  "waiting (mesoclaw serve --max-concurrent, --max-queue); retry shortly", "server_busy",
                  headers=[(b"retry-after", b"1")])


async def _refuse_unauthorized(send: Any, path: str, message: str) -> None:
    error = ApiError(401, message, code="invalid_api_key")
    # /v1/messages (and its count_tokens) answers in the Messages API's shape, as its route does
    await _send_refusal(send, 401, error_body(error) if path.startswith("/v1/messages") else error.body())


async def _refuse(send: Any, status: int, message: str, code: str | None, *, param: str | None = None,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await _send_refusal(send, status, ApiError(status, message, code=code, param=param).body(), headers)


async def _send_refusal(send: Any, status: int, document: dict[str, Any],
                        headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(document).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), *(headers or ())]})
    await send({"type": "http.response.body", "body": body})
