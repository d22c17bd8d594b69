"""Waiting on what a test needs to have happened, not on a guess of how long it takes.

A fixed sleep that stands for "until X happened" fails when the machine is busy and wastes time
when it is not. Wait on X instead, with a deadline that only bounds a hang:

    eventually(lambda: not alive(pid), what="the child to die")           # sync, polls
    await eventually_async(lambda: fake.requests, what="the request")   # async, lets the loop run
    await eventually_async(some_async_check, what="...")                 # the predicate may be async

For a subprocess that must be at a known point of a reply (mid-stream, say), hold the fake provider's
stream at a gate (tests/fakes/provider_server.py: ``Stream(..., gate=gate, hold_after=K)``), then
``caught_up(proc.pid, gate)`` says when the process has read the K deltas and acted on them: it is
asleep in its event loop with nothing left unread on the held connection.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import select
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Long enough to mean "hung" on a loaded 2-core machine, never a guess at how long X takes.
DEADLINE_S = 30.0


def eventually(predicate: Callable[[], Any], timeout: float = DEADLINE_S, interval: float = 0.02,
               what: str = "") -> Any:
    """predicate()'s first truthy value, polled until the deadline; AssertionError after it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")
        time.sleep(interval)


async def eventually_async(predicate: Callable[[], Any], timeout: float = DEADLINE_S, interval: float = 0.02,
                           what: str = "") -> Any:
    """eventually() for async tests: the loop (and the code under test on it) runs while it waits.
    predicate may return an awaitable."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")
        await asyncio.sleep(interval)


def read_until(stream: Any, needle: str, timeout: float = DEADLINE_S) -> str:
    """What a subprocess writes to a pipe (``proc.stdout``), until it holds needle; AssertionError on
    EOF or the deadline. Reads the file descriptor itself, so nothing is left in a Python buffer
    that ``proc.communicate()`` (which also reads the descriptor) would never see."""
    fd, data = stream.fileno(), b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} did not come within {timeout:g} s; got {data!r}")
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"the pipe closed before {needle!r} came; got {data!r}")
            data += chunk
    return data.decode()


# -- a subprocess that has read everything sent to it --------------------------------------------------------


def _tcp_queues() -> dict[tuple[int, int], tuple[int, int]] | None:
    """(local port, remote port) -> (bytes not yet acknowledged by the peer, bytes not yet read) for
    every IPv4 TCP socket, from /proc/net/tcp; None where there is no such file."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    queues = {}
    for line in lines:
        fields = line.split()
        local, remote, (tx, rx) = fields[1], fields[2], fields[4].split(":")
        queues[(int(local.split(":")[1], 16), int(remote.split(":")[1], 16))] = (int(tx, 16), int(rx, 16))
    return queues


def _asleep_in_event_loop(pid: int) -> bool | None:
    """Whether the process's main thread sleeps in epoll_wait (asyncio's selector on Linux): it has
    nothing ready to run. None where the kernel does not say (no /proc, or wchan hidden)."""
    try:
        stat = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
        wchan = Path(f"/proc/{pid}/task/{pid}/wchan").read_text()
    except OSError:
        return None
    state = stat.rsplit(")", 1)[1].split()[0]
    if state != "S":
        return False
    if wchan in ("", "0"):
        return None
    return "epoll" in wchan or "ep_poll" in wchan


def caught_up(pid: int, gate: Any) -> bool | None:
    """The process has received and read every byte sent before the gate, and has gone back to sleep
    in its event loop: whatever those bytes made it do (print a delta, keep it) is done. None where
    the kernel cannot tell (not Linux)."""
    queues = _tcp_queues()
    asleep = _asleep_in_event_loop(pid)
    if queues is None or asleep is None or gate.client_port is None:
        return None
    server_side = queues.get((gate.server_port, gate.client_port))
    client_side = queues.get((gate.client_port, gate.server_port))
    if server_side is None or client_side is None:
        return False
    return server_side[0] == 0 and client_side[1] == 0 and asleep


def wait_caught_up(pid: int, gate: Any, timeout: float = DEADLINE_S) -> None:
    """Until caught_up(pid, gate) (the gate has been reached first). Where the kernel cannot tell,
    a settle of one second: a guess, the only one, and only off Linux."""
    gate.wait(timeout)
    deadline = time.monotonic() + timeout
    while (state := caught_up(pid, gate)) is not True:
        if state is None:
            time.sleep(1.0)
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} did not read what was sent to it within {timeout:g} s")
        time.sleep(0.01)
