"""Binding and running `mesoclaw serve`: the listening socket, uvicorn, and a background server for
tests, benchmarks or an embedding app."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from ..core.types import MesoclawError, MesoclawFailure
from .connections import ACCEPT_BATCH, Connections, fit_to_fd_limit
from .limits import Access, Limits, is_loopback

PURE_ENV = "MESOCLAW_SERVE_PURE"  # set to 1: the stdlib event loop and h11, even with the serve extra
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LISTEN_BACKLOG = 2048
SETTINGS_MAX_AGE_S = 0.5  # models changed elsewhere: within 2 s (app.RELOAD_CHECK_S), as before


def check_bind(host: str, token: str | None) -> None:
    """Refuse to expose the user's API keys to the network without a token."""
    if not is_loopback(host) and not token:
        raise MesoclawError(
            f"refusing to listen on {host} without --token: anyone who can reach it could spend your provider "
            "credits (give --token or MESOCLAW_SERVE_TOKEN, or keep the default host 127.0.0.1)")


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
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        raise MesoclawFailure(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


async def serve(sock: socket.socket, *, db: str | None = None, token: str | None = None,
                access: Access | None = None, limits: Limits | None = None,
                log_level: str = "warning", access_log: bool = False,
                started: threading.Event | asyncio.Event | None = None,
                server_box: list[Any] | None = None) -> None:
    """Open the service, serve on `sock` until SIGINT/SIGTERM (or server.should_exit), close."""
    import uvicorn

    from ..engine import Engine
    from ..service import RouterService
    from .app import create_app

    limits = limits or Limits()
    service = await RouterService.open(db)
    # The usage row after the reply (closing flushes it); another process's settings change seen within
    # SETTINGS_MAX_AGE_S, sparing most requests a trip to the database's thread before routing.
    engine = Engine(service, write_behind=True, settings_max_age=SETTINGS_MAX_AGE_S)
    try:
        await _warm_up(service)
        connections = Connections(fit_to_fd_limit(limits.max_connections), limits.header_timeout,
                                  limits.send_timeout)
        access = access or Access.build(sock.getsockname()[0], token)  # the rule of the address it listens on
        app = create_app(service, engine, token=token, access=access, limits=limits, connections=connections)
        server = uvicorn.Server(_uvicorn_config(app, connections, log_level, access_log))
        if server_box is not None:
            server_box.append(server)
        asyncio.get_running_loop().call_soon(_when_started, server, sock, started)
        await server.serve(sockets=[sock])
    finally:
        await engine.aclose()
        await service.close()


def _pure() -> bool:
    return os.environ.get(PURE_ENV, "").strip() not in ("", "0")


def run(main: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run, on uvloop's loop when the `serve` extra installed it (with httptools, about a
    quarter less CPU per request than asyncio and h11: benchmarks/README.md)."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if not _pure():
        try:
            import uvloop
        except ImportError:
            pass
        else:
            factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def _http_protocol() -> Any:
    """httptools' parser when the `serve` extra installed it (uvicorn's auto choice), else h11."""
    if _pure():
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    return AutoHTTPProtocol


def _uvicorn_config(app: Any, connections: Connections, log_level: str, access_log: bool) -> Any:
    """uvicorn, with each connection wrapped (connections.py) for the head deadline and the connection
    cap it lacks. No WebSockets: nothing here speaks them, and any web page may open one to any address."""
    import uvicorn

    return uvicorn.Config(app, lifespan="off", log_level=log_level, access_log=access_log, ws="none",
                          http=connections.protocol_factory(_http_protocol()),  # type: ignore[arg-type]
                          backlog=ACCEPT_BATCH, timeout_graceful_shutdown=10, server_header=False,
                          date_header=False)


async def _warm_up(service: Any) -> None:
    """Load what every request needs before the first one arrives, then freeze it out of the garbage
    collector: the registry and the classifier's model are large and live forever, and walking them in
    every full collection shows up as 20+ ms pauses at p99."""
    from ..core.classifier import classify

    await service.registry()
    classify("warm up the classifier")
    gc.collect()
    gc.freeze()


def _when_started(server: Any, sock: socket.socket, started: threading.Event | asyncio.Event | None) -> None:
    if not server.started:
        asyncio.get_running_loop().call_later(0.005, _when_started, server, sock, started)
        return
    # asyncio made the kernel's queue of connections waiting to be accepted as short as its accept batch
    # (ACCEPT_BATCH): lengthen it again, so that under a flood of connections a health check waits in the
    # queue instead of having its SYN dropped (and retried a second later).
    sock.listen(LISTEN_BACKLOG)
    if started is not None:
        started.set()


class BackgroundServer:
    """`mesoclaw serve` on a daemon thread with its own loop, for tests, benchmarks or an embedding app.

        with BackgroundServer() as server:      # port 0: a free port
            client = openai.OpenAI(base_url=server.base_url, api_key="x")
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, *, db: str | None = None,
                 token: str | None = None, allow_origins: tuple[str, ...] = (), allow_hosts: tuple[str, ...] = (),
                 limits: Limits | None = None):
        check_bind(host, token)
        self.access = Access.build(host, token, allow_origins, allow_hosts)
        self.limits = limits or Limits()
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
            run(serve(self.sock, db=self._db, token=self._token, access=self.access, limits=self.limits,
                              started=self._started, server_box=self._box))
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
