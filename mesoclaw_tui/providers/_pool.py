"""A cheaper keep-alive check for httpx's connection pool.

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
from typing import Any

import httpcore
import httpx

_HOLD_BYTES = 65536  # a request head is held for its body up to this size


class _Stream(httpcore.AsyncNetworkStream):
    """Also: httpcore writes a request's head, its body, then an empty end-of-message (Content-Length
    bodies), each as a write: two system calls and two packets per request. The head is held and goes
    out with the body, in one write, at the empty write (or before any read, or past _HOLD_BYTES)."""

    __slots__ = ("_inner", "_sock", "_held", "_held_timeout")

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._sock = inner.get_extra_info("socket")
        self._held = b""
        self._held_timeout: float | None = None

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
            return _readable(self._sock)
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

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def cheap_idle_checks(client: httpx.AsyncClient) -> None:
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = _Backend()
