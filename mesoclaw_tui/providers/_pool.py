"""Cheaper bookkeeping for httpx's connection pool: the keep-alive check, and the pass over connections.

Before every request and after every response, httpcore's pool asks each of its idle connections
whether the server has closed it, as `get_extra_info("is_readable")`; anyio answers that by building
the socket's whole attribute table each time (a getpeername system call among them). With 16 requests
in flight that was a sixth of `mesoclaw serve`'s CPU (benchmarks/README.md, "Profile findings"). The
streams made here keep the raw socket and poll it directly: the same answer, from the same socket.

httpx gives no public way to choose httpcore's network backend without also giving up the environment's
proxy settings (passing `transport=` does), so the direct connections' pool is given one after the
client is built; if a future httpx or httpcore moves that attribute, the client is left as it is.
"""

from __future__ import annotations

import select
import socket
import ssl
import weakref
from typing import Any

import httpcore
import httpx

_HOLD_BYTES = 65536  # a request head is held for its body up to this size


class _Stream(httpcore.AsyncNetworkStream):
    """Also: httpcore writes a request's head, its body, then an empty end-of-message (Content-Length
    bodies), each as a write: two system calls and two packets per request. The head is held and goes
    out with the body, in one write, at the empty write (or before any read, or past _HOLD_BYTES)."""

    __slots__ = ("_inner", "_sock", "_held", "_held_timeout", "readable")

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._sock = inner.get_extra_info("socket")
        self._held = b""
        self._held_timeout: float | None = None
        self.readable: bool | None = None  # known for the pool's current pass (_Backend.poll_all)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._held:
            await self._flush()
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer and len(self._held) + len(buffer) <= _HOLD_BYTES:
            self._held += buffer
            self._held_timeout = timeout
            return
        if self._held:
            await self._flush()
        await self._inner.write(buffer, timeout)

    async def _flush(self) -> None:
        held, self._held = self._held, b""
        await self._inner.write(held, self._held_timeout)

    async def aclose(self) -> None:
        self._held = b""
        await self._inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._sock is not None:
            return self.readable if self.readable is not None else _readable(self._sock)
        return self._inner.get_extra_info(info)


def _readable(sock: socket.socket) -> bool:
    """Whether the peer sent something or hung up: for an idle keep-alive connection, that it is unusable."""
    if sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _Backend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._streams: weakref.WeakSet[_Stream] = weakref.WeakSet()

    def _made(self, stream: httpcore.AsyncNetworkStream) -> _Stream:
        made = _Stream(stream)
        self._streams.add(made)
        return made

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return self._made(await self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return self._made(await self._inner.connect_unix_socket(path, timeout, socket_options))

    def poll_all(self) -> None:
        """Whether each open stream is readable, with one poll for all of them (not one per idle
        connection): the answer each gives until forget()."""
        streams = [s for s in self._streams if s._sock is not None and s._sock.fileno() >= 0]
        poller = select.poll()
        for stream in streams:
            poller.register(stream._sock, select.POLLIN)
        ready = {fd for fd, _ in poller.poll(0)}
        for stream in streams:
            stream.readable = stream._sock.fileno() in ready

    def forget(self) -> None:
        for stream in self._streams:
            stream.readable = None

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _LinearPool(httpcore.AsyncConnectionPool):
    """httpcore's pool, with its bookkeeping (run before and after every request) in one pass over the
    connections: its own version counts every connection again for each idle one (quadratic in the
    pool's size; a sixth of serve's CPU with 16 connections). Same decisions, in the same order."""

    def _assign_requests_to_connections(self) -> list[Any]:
        backend = self._network_backend
        if isinstance(backend, _Backend):
            backend.poll_all()
        try:
            return self._assign()
        finally:
            if isinstance(backend, _Backend):
                backend.forget()

    def _assign(self) -> list[Any]:
        closing: list[Any] = []
        connections = self._connections
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif connection.has_expired():
                connections.remove(connection)
                closing.append(connection)
            # httpcore compares the number of connections (not of idle ones) with the keep-alive limit
            elif connection.is_idle() and len(connections) > self._max_keepalive_connections:
                connections.remove(connection)
                closing.append(connection)
        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            connection = next((c for c in connections if c.can_handle_request(origin) and c.is_available()), None)
            if connection is None:
                if len(connections) >= self._max_connections:
                    idle = next((c for c in connections if c.is_idle()), None)
                    if idle is None:
                        continue  # it waits for a connection to come free
                    connections.remove(idle)
                    closing.append(idle)
                connection = self.create_connection(origin)
                connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing


def cheap_idle_checks(client: httpx.AsyncClient) -> None:
    """Give the client's direct (unproxied) pool the cheaper checks, when it is the pool they were
    written against (httpcore 1.0's); otherwise leave it as it is."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if type(pool) is httpcore.AsyncConnectionPool and httpcore.__version__.startswith("1.0.") and all(
            hasattr(pool, name) for name in ("_network_backend", "_connections", "_requests",
                                             "_max_connections", "_max_keepalive_connections")):
        pool._network_backend = _Backend()
        pool.__class__ = _LinearPool  # adds behaviour only, no state
