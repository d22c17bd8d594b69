"""Open connections of `mesoclaw serve`: a deadline for each request head, and a cap on how many are
open, so slow or idle clients cannot hold the file descriptors a real request needs.

uvicorn closes an idle keep-alive connection after `timeout_keep_alive`, but has no deadline for a
request head (a connection that sends nothing, or one header byte every few seconds, stays open for
ever; any byte even cancels the keep-alive timer), and its `limit_concurrency` answers 503 to every
request once that many connections are open, idle ones included: a few hundred slow clients would
make `/health` fail. So each connection is wrapped here (by composition: only the asyncio.Protocol
interface and uvicorn's documented `http=` protocol-class option are used) and

- a connection must send a complete request head within `header_timeout` of opening or of its
  previous response, or it is closed;
- a connection whose client stops reading its response for `send_timeout` is closed (the Guard then
  cancels its request);
- past `max_connections`, a new connection closes the one that has waited longest without a request
  being served (idle, or still sending its head or body); when every connection is serving a request,
  the new one is closed instead.

The Guard (guard.py) tells this module when a connection's request starts, has its whole body, and
ends: that is when the connection stops and starts counting as waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

_FD_RESERVE = 128  # descriptors kept for the database, provider connections, the listener, stdio
# asyncio accepts up to `backlog` connections at each wake-up of the listening socket, and hands them
# here two turns of its loop later (closing the ones given up one turn after that): under a flood, up to
# four such batches are open beyond the cap, and the file limit must leave room for them (past it, asyncio
# stops accepting for a whole second). uvicorn passes its `backlog` option on; running.py sets it to this.
ACCEPT_BATCH = 64


class Connections:
    """Every open connection of one server, in the order they started waiting (oldest first)."""

    def __init__(self, max_connections: int, header_timeout: float, send_timeout: float = 60.0):
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.send_timeout = send_timeout
        self.open = 0
        self.closing = 0  # of those, closed here and not yet reported lost by the loop
        self.evicted = 0  # connections closed to make room (for the benchmark and tests)
        self.timed_out = 0  # connections closed for not sending a request head in time
        self.stalled = 0  # connections closed for not reading their response
        self._waiting: dict[GuardedConnection, None] = {}
        self._by_peer: dict[tuple[str, int], GuardedConnection] = {}

    def protocol_factory(self, inner: Callable[..., asyncio.Protocol]) -> Callable[..., asyncio.Protocol]:
        """What uvicorn's `http=` option takes: called as the protocol class is, it wraps one."""

        def create(**kwargs: Any) -> asyncio.Protocol:
            return GuardedConnection(inner(**kwargs), self)

        return create

    # the connection's side --------------------------------------------------------------------------

    def opened(self, connection: GuardedConnection) -> bool:
        """A new connection; False when it must be closed (everything open is serving a request)."""
        self.open += 1
        if connection.peer is not None:
            self._by_peer[connection.peer] = connection
        if self.open - self.closing > self.max_connections:
            oldest = next(iter(self._waiting), None)
            if oldest is None:
                return False
            self.evicted += 1
            oldest.close()
        self._waiting[connection] = None
        return True

    def refresh(self, connection: GuardedConnection) -> None:
        if self._waiting.pop(connection, 0) is None:
            self._waiting[connection] = None

    def forget(self, connection: GuardedConnection) -> None:
        self._waiting.pop(connection, None)

    def closed(self, connection: GuardedConnection) -> None:
        self.open -= 1
        self._waiting.pop(connection, None)
        if connection.peer is not None and self._by_peer.get(connection.peer) is connection:
            del self._by_peer[connection.peer]

    # the Guard's side: keyed by the ASGI scope's "client", which uvicorn takes from the same socket ---------

    def request_started(self, client: Any) -> None:
        connection = self._by_peer.get(client) if client else None
        if connection is not None:
            connection.serving += 1
            connection.disarm()

    def request_complete(self, client: Any) -> None:
        """The whole request is in: serving it, the connection no longer counts as waiting."""
        connection = self._by_peer.get(client) if client else None
        if connection is not None:
            self._waiting.pop(connection, None)

    def request_finished(self, client: Any) -> None:
        connection = self._by_peer.get(client) if client else None
        if connection is None:
            return
        connection.serving -= 1
        if not connection.closing and not connection.serving:  # (a pipelined next request may have begun)
            self._waiting.pop(connection, None)
            self._waiting[connection] = None  # waiting again, from now
            connection.arm()


class GuardedConnection(asyncio.Protocol):
    """One uvicorn protocol instance, with a head deadline and a place in the connection cap."""

    __slots__ = ("inner", "connections", "transport", "peer", "closing", "serving", "_deadline", "_stall")

    def __init__(self, inner: asyncio.Protocol, connections: Connections):
        self.inner = inner
        self.connections = connections
        self.transport: Any = None
        self.peer: tuple[str, int] | None = None
        self.closing = False
        self.serving = 0  # requests of this connection the app is handling now
        self._deadline: asyncio.TimerHandle | None = None
        self._stall: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, list | tuple) and len(peer) >= 2:
            self.peer = (str(peer[0]), int(peer[1]))
        self.inner.connection_made(transport)
        if self.connections.opened(self):
            self.arm()
        else:
            self.close()

    def data_received(self, data: bytes) -> None:
        if b"\r\n\r\n" in data and not self.serving:
            # A request head just ended: under a flood of new connections its request may wait a few turns
            # of the loop before it starts; meanwhile it must not be the first to make room.
            self.connections.refresh(self)
        self.inner.data_received(data)  # type: ignore[attr-defined]

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closing:  # closed here: no longer on its way out
            self.connections.closing -= 1
        self.closing = True
        self.disarm()
        self._unstall()
        self.connections.closed(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        # The client has stopped reading (its buffers and ours are full). Only this slow path pays for a
        # timer: a response nobody reads would otherwise hold its upstream request and its place for ever.
        self.inner.pause_writing()
        if self._stall is None and not self.closing:
            self._stall = asyncio.get_running_loop().call_later(self.connections.send_timeout, self._stalled)

    def resume_writing(self) -> None:
        self._unstall()
        self.inner.resume_writing()

    def _unstall(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _stalled(self) -> None:
        self._stall = None
        self.connections.stalled += 1
        self.close(abort=True)  # close() would wait for the unread bytes to be written first: for ever

    # the head deadline ------------------------------------------------------------------------------------

    def arm(self) -> None:
        self.disarm()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.connections.header_timeout, self._too_slow)

    def disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        self.connections.timed_out += 1
        self.close()

    def close(self, abort: bool = False) -> None:
        if not self.closing:
            self.closing = True
            self.connections.closing += 1
            self.disarm()
            self.connections.forget(self)
            if abort:
                self.transport.abort()
            else:
                self.transport.close()


def fit_to_fd_limit(max_connections: int) -> int:
    """Raise the soft limit on open files as far as needed (and allowed), and return how many
    connections fit under it: past the limit, accept() fails and nothing, not even /health, gets in."""
    try:
        import resource
    except ImportError:  # not a POSIX system: nothing to raise
        return max_connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    spare = _FD_RESERVE + 4 * ACCEPT_BATCH
    wanted = max_connections + spare
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(8, min(max_connections, soft - spare))
