"""What the Guard in front of `mesoclaw serve` costs per request, in microseconds, in-process.

End-to-end benchmarks (serve_overhead.py, serve_throughput.py) cannot resolve microseconds on a shared
machine, so this times the ASGI layer alone: the same trivial app called directly and through the
Guard (Host/Origin, content type, the body read under its timeout, the lone-surrogate scan, the
upstream gate, the disconnect watcher task, the connection bookkeeping and its head-deadline timer),
with a uvicorn-like receive/send, interleaved, for a chat POST (a 200-byte JSON body) and a GET /health.

    python benchmarks/serve_guard_cost.py          # ROUNDS=7 of N=20000 requests each
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_report as report  # noqa: E402

from mesoclaw_tui.server.connections import Connections, GuardedConnection  # noqa: E402
from mesoclaw_tui.server.guard import Guard  # noqa: E402
from mesoclaw_tui.server.limits import Access, Limits  # noqa: E402

N = int(os.environ.get("N", "20000"))
ROUNDS = int(os.environ.get("ROUNDS", "7"))
BODY = b'{"model": "mesoclaw/auto", "messages": [{"role": "user", "content": "' + b"x" * 120 + b'"}]}'
CLIENT = ("127.0.0.1", 50000)


def scope(method: str, path: str) -> dict:
    headers = [(b"host", b"127.0.0.1:8765"), (b"user-agent", b"OpenAI/Python 3.57.0"), (b"accept", b"application/json"),
               (b"accept-encoding", b"gzip, deflate"), (b"connection", b"keep-alive"),
               (b"authorization", b"Bearer unused"), (b"x-stainless-lang", b"python")]
    if method == "POST":
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
    return {"type": "http", "method": method, "path": path, "headers": headers, "client": CLIENT}


class Transport:
    def get_extra_info(self, name: str) -> object:
        return CLIENT if name == "peername" else None

    def close(self) -> None:
        pass


class Inner:
    def connection_made(self, transport: object) -> None:
        pass


async def app(scope: dict, receive, send) -> None:
    if scope["method"] == "POST":
        message = await receive()
        assert message["body"]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def run(target, request: dict) -> float:
    done = asyncio.Event()

    async def receive() -> dict:
        if request["method"] == "POST" and not state["read"]:
            state["read"] = True
            return {"type": "http.request", "body": BODY, "more_body": False}
        await done.wait()  # like uvicorn: the next message is the disconnect, once the response is complete
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    state = {"read": False}
    started = time.perf_counter()
    for _ in range(N):
        state["read"] = False
        done.clear()
        await target(request, receive, send)
        await asyncio.sleep(0)  # one turn of the loop per request, as a server has: tasks and timers settle
    return (time.perf_counter() - started) / N * 1e6


async def main() -> None:
    connections = Connections(1000, 10.0)
    GuardedConnection(Inner(), connections).connection_made(Transport())  # the request's connection
    guarded = Guard(app, Access.build("127.0.0.1", None), Limits(), connections)
    results: dict[str, list[float]] = {}
    for _ in range(ROUNDS):
        for name, request in (("chat POST", scope("POST", "/v1/chat/completions")), ("GET /health", scope("GET", "/health"))):
            results.setdefault(f"{name} direct", []).append(await run(app, request))
            results.setdefault(f"{name} guarded", []).append(await run(guarded, request))
    print(f"the Guard's cost per request, in-process ({ROUNDS} rounds of {N:,}; median, min-max of the rounds)")
    print(report.machine())
    print("(no target in the issue: the figure explains the end-to-end overhead of serve_overhead.py)")
    for name in ("chat POST", "GET /health"):
        direct, guarded_us = results[f"{name} direct"], results[f"{name} guarded"]
        extra = [g - d for g, d in zip(guarded_us, direct, strict=True)]
        print(f"  {name:11s} direct {statistics.median(direct):6.2f} us   guarded {statistics.median(guarded_us):6.2f} us"
              f"   the Guard adds {report.spread(extra, 1, 'us')}")


if __name__ == "__main__":
    asyncio.run(main())
