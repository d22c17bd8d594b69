"""Non-streaming throughput of `mesoclaw serve` against a local provider server.

Three processes share the machine (pin them to 2 cores with `taskset -c 0,1 python …` on a larger
box): the local provider server, `mesoclaw serve`, and this load generator (asyncio + httpx).

1. Capacity: CONCURRENCY requests kept in flight for SECONDS: requests/s, errors, the serve
   process's CPU per request, and the usage rows the engine wrote (one per reply).
2. Latency at a given rate: an open-loop load of each of RATES requests/s (default 100,150,200) for
   SECONDS (after 2 s at that rate to reach a steady state), once straight to the provider server and
   once through serve; the p50/p99 difference is the overhead serve adds at that load, queueing
   included (near capacity, queueing dominates).
3. The SQLite share: the two write transactions the engine makes per reply (its usage row, and the
   provider-success bookkeeping), timed alone on the same kind of database, as a share of the serve
   process's CPU per request: is the write per request the bottleneck?

Targets (issue 16): >= 400 requests/s, p99 overhead <= 50 ms at 200 requests/s, 0 errors.

serve runs with its default limits: at most 16 requests with the provider at once (--max-concurrent),
64 more queued (--max-queue). The load here stays within them (CONCURRENCY=16, 64 open-loop
connections); past 80 requests in flight, the excess would be answered 503 server_busy and counted as
errors. Its requests are what the guard lets through: Host 127.0.0.1, Content-Type application/json.

    CONCURRENCY=16 RATES=100,150,200 SECONDS=8 python benchmarks/serve_throughput.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_report as report  # noqa: E402
import httpx  # noqa: E402

CONCURRENCY = int(os.environ.get("CONCURRENCY", "16"))
RATES = [float(r) for r in os.environ.get("RATES", "100,150,200").split(",")]
SECONDS = float(os.environ.get("SECONDS", "8"))
PROMPT = "what's the capital of France?"

PROVIDER = """
import json, sys
sys.path.insert(0, {root!r})
from tests.fakes.provider_server import FakeProviderServer
with FakeProviderServer() as server:
    print(json.dumps(server.env("openai", api_key="sk-bench-0001")), flush=True)
    sys.stdin.read()
"""


def start_provider() -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen([sys.executable, "-c", PROVIDER.format(root=str(ROOT))], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    return proc, json.loads(proc.stdout.readline())  # type: ignore[union-attr]


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", "serve", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("mesoclaw serve: "):
        proc.kill()
        raise RuntimeError(f"mesoclaw serve did not start: {line!r}")
    return proc, line.split()[2]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Target:
    """One kind of request, sent by a minimal HTTP/1.1 keep-alive client: the load generator shares
    the two cores with serve and the provider, so it must cost as little CPU as possible (httpx's
    pool bookkeeping grows with the number of connections and would steal the CPU being measured)."""

    def __init__(self, url: str, body: dict, headers: dict[str, str], streamed: bool):
        parts = httpx.URL(url)
        self.host, self.port, self.streamed = parts.host, parts.port, streamed
        payload = json.dumps(body).encode()
        head = [f"POST {parts.raw_path.decode()} HTTP/1.1", f"host: {self.host}:{self.port}",
                "content-type: application/json", f"content-length: {len(payload)}",
                *(f"{k}: {v}" for k, v in headers.items())]
        self.request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)

    async def call(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> bool:
        reader, writer = conn
        writer.write(self.request)
        status = int((await reader.readline()).split()[1])
        length, chunked = None, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            body = b""
            while size := int((await reader.readline()).split(b";")[0], 16):
                body += await reader.readexactly(size + 2)
            await reader.readline()
        else:
            body = await reader.readexactly(length or 0)
        if status != 200:
            return False
        if self.streamed:  # the provider server always streams: the whole reply, as the engine reads it
            return b"[DONE]" in body
        return bool(json.loads(body)["choices"][0]["message"]["content"])


async def closed_loop(target: Target, seconds: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        conn = await target.connect()
        try:
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                try:
                    ok = await target.call(conn)
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                    ok = False
                    conn[1].close()
                    conn = await target.connect()
                if ok:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors += 1
        finally:
            conn[1].close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return latencies, errors, time.perf_counter() - began


async def open_loop(target: Target, rate: float, seconds: float, connections: int = 64
                    ) -> tuple[list[float], int]:
    """Requests due on a fixed schedule whatever the answers do (latency counts from when each was
    due), served by a pool of keep-alive connections: queueing shows in the latency."""
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[float | None] = asyncio.Queue()

    async def worker() -> None:
        nonlocal errors
        conn = await target.connect()
        try:
            while (due := await queue.get()) is not None:
                try:
                    ok = await target.call(conn)
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                    ok = False
                    conn[1].close()
                    conn = await target.connect()
                if ok:
                    latencies.append(time.perf_counter() - due)
                else:
                    errors += 1
        finally:
            conn[1].close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    began = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = began + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(due)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies, errors


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


async def write_cost(rounds: int = 2000) -> float:
    """CPU seconds of the engine's per-reply writes (usage row + provider success), one reply."""
    from mesoclaw_tui.store import Store

    store = await Store.open(Path(tempfile.mkdtemp(prefix="mesoclaw-bench-")) / "mesoclaw.db")
    usage = {"created_at": time.time(), "source": "serve", "task": "fast", "profile": "balanced",
             "provider": "openai", "model": "gpt-4o-mini", "input_tokens": 12, "output_tokens": 5, "estimated": 0,
             "cost_usd": 1e-6, "baseline_cost_usd": 1e-5, "ttft_ms": 2, "total_ms": 3, "outcome": "ok",
             "fallbacks": 0, "attempts": "[]", "conversation_id": None}
    try:
        for _ in range(100):
            await store.record_reply(usage, None)
        started = time.process_time()
        for _ in range(rounds):
            await store.record_reply(usage, None)
            await store.record_provider_success("openai")
        return (time.process_time() - started) / rounds
    finally:
        await store.close()


async def main() -> None:
    home = tempfile.mkdtemp(prefix="mesoclaw-bench-")
    provider, provider_env = start_provider()
    env = {**os.environ, "MESOCLAW_HOME": home, **provider_env}
    serve, base = start_serve(env)
    direct = Target(provider_env["OPENAI_BASE_URL"] + "/chat/completions",
                    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}], "stream": True},
                    {"authorization": "Bearer sk-bench-0001"}, streamed=True)
    routed = Target(base + "/chat/completions",
                    {"model": "mesoclaw/auto", "messages": [{"role": "user", "content": PROMPT}]}, {}, streamed=False)
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(300):
                try:
                    (await probe.get(base.removesuffix("/v1") + "/health")).raise_for_status()
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        await closed_loop(routed, 1.0)  # warm up: connections, caches, the classifier
        with sqlite3.connect(Path(home) / "mesoclaw.db") as conn:
            rows_before = conn.execute("SELECT COUNT(*) FROM usage WHERE source = 'serve'").fetchone()[0]
        cpu_before = cpu_seconds(serve.pid)
        capacity, capacity_errors, wall = await closed_loop(routed, SECONDS)
        cpu = cpu_seconds(serve.pid) - cpu_before
        with sqlite3.connect(Path(home) / "mesoclaw.db") as conn:
            rows = conn.execute("SELECT COUNT(*) FROM usage WHERE source = 'serve'").fetchone()[0] - rows_before
        at_rate = {}
        for rate in RATES:
            results = []
            for target in (direct, routed):
                await open_loop(target, rate, 2.0)  # reach the steady state (connection pools grown) first
                results.append(await open_loop(target, rate, SECONDS))
            at_rate[rate] = (results[0], results[1])
    finally:
        serve.terminate()
        serve.wait(15)
        provider.stdin.close()  # type: ignore[union-attr]
        provider.wait(10)
    writes = await write_cost()

    rps = len(capacity) / wall
    per_request = cpu / max(1, len(capacity) + capacity_errors)
    errors = capacity_errors
    print(f"mesoclaw serve, non-streaming; {report.machine()}")
    print(f"capacity ({CONCURRENCY} in flight, {SECONDS:g} s): {rps:.1f} requests/s   errors {capacity_errors}   "
          f"latency {report.spread(capacity, 1000, 'ms', 1)}")
    print(f"  serve process CPU {per_request * 1000:.2f} ms per request ({cpu / wall * 100:.0f}% of one core); "
          f"usage rows written {rows} for {len(capacity) + capacity_errors} requests")
    print(f"latency under an open-loop load ({SECONDS:g} s each), direct to the provider vs through serve:")
    overhead = {}
    for rate, ((base_lat, base_errors), (served_lat, served_errors)) in at_rate.items():
        errors += base_errors + served_errors
        overhead[rate] = pct(served_lat, 99) - pct(base_lat, 99)
        print(f"  {rate:5.0f} req/s: direct p50 {pct(base_lat, 50):6.2f} p99 {pct(base_lat, 99):7.2f} ms | serve p50 "
              f"{pct(served_lat, 50):7.2f} p99 {pct(served_lat, 99):8.2f} ms | p99 overhead {overhead[rate]:8.2f} ms"
              f" | errors {base_errors + served_errors}")
        print(f"         serve latency {report.spread(served_lat, 1000, 'ms', 1)}")
    print(f"SQLite writes per reply (usage row + provider success, 2 transactions): {writes * 1000:.2f} ms CPU = "
          f"{writes / per_request * 100:.0f}% of the serve CPU per request (serve now writes usage rows in batches,"
          " after the reply, and the provider-success write only for a provider with failures on record)")
    report.target("capacity, non-streaming", rps, 400, "requests/s", at_least=True, digits=0)
    top = max(overhead)
    report.target(f"p99 overhead at {top:g} requests/s", overhead[top], 50, "ms", digits=1)
    report.target("errors", errors, 0, digits=0)


if __name__ == "__main__":
    asyncio.run(main())
