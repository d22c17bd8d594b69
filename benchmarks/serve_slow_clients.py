"""Slow clients against `mesoclaw serve`: does /health (and a chat request) still answer quickly?

SLOW connections (default 2,000) are kept open against a real `mesoclaw serve` subprocess for SECONDS:
half send a request head one byte per second, half send a whole head and then a body one byte per
second; whenever the server closes one, another is opened in its place (after RECONNECT_S, 1 s), as a
slow-loris attack does.
The server starts with the soft open-file limit of a default Linux session (FD_LIMIT, 1024; the hard
limit is left as it is unless FD_HARD is given, e.g. FD_HARD=1024 for a strict one). Meanwhile a
/health request on a new connection every 100 ms, and a chat request every second, are timed.

Printed: /health latency (p50, p90, max) and failures, chat failures, the most file descriptors the
serve process had open, and how many slow connections the server closed.

    SLOW=2000 SECONDS=20 FD_LIMIT=1024 python benchmarks/serve_slow_clients.py
    FD_HARD=1024 python benchmarks/serve_slow_clients.py      # a hard limit the server cannot raise
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_report as report  # noqa: E402

from tests.fakes.provider_server import FakeProviderServer  # noqa: E402

SLOW = int(os.environ.get("SLOW", "2000"))
SECONDS = float(os.environ.get("SECONDS", "20"))
RECONNECT_S = float(os.environ.get("RECONNECT_S", "1"))  # a closed slow connection is reopened after this
FD_LIMIT = int(os.environ.get("FD_LIMIT", "1024"))
CHAT = json.dumps({"model": "mesoclaw/auto", "messages": [{"role": "user", "content": "hello"}]}).encode()


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    def limit_files() -> None:
        hard = int(os.environ.get("FD_HARD") or 0) or resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, hard))

    proc = subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", "serve", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, preexec_fn=limit_files)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("mesoclaw serve: "):
        proc.kill()
        raise RuntimeError(f"mesoclaw serve did not start: {line!r}")
    return proc, int(line.split()[2].rsplit(":", 1)[1].split("/")[0])


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


class Attack:
    def __init__(self, port: int):
        self.port = port
        self.closed_by_server = 0
        self.open = 0
        self.refused = 0
        self.stop = False

    async def one(self, index: int) -> None:
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n".encode()
        if index % 2:
            head += b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        while not self.stop:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                self.refused += 1
                await asyncio.sleep(0.5)
                continue
            self.open += 1
            try:
                writer.write(head)
                while not self.stop:
                    await asyncio.sleep(1.0)
                    if reader.at_eof():
                        raise ConnectionError
                    writer.write(b"x")
                    await writer.drain()
            except (OSError, ConnectionError):
                self.closed_by_server += 1
            finally:
                self.open -= 1
                writer.close()
            await asyncio.sleep(RECONNECT_S)


async def timed_request(port: int, request: bytes, timeout: float = 5.0) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            status = int((await reader.readline()).split()[1])
            writer.close()
    except (OSError, TimeoutError, IndexError, ValueError):
        status = 0  # refused, timed out, or closed without an answer
    return time.perf_counter() - started, status


async def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, SLOW * 2 + 512), hard))
    home = tempfile.mkdtemp(prefix="mesoclaw-bench-")
    with FakeProviderServer() as provider:
        env = {**os.environ, "MESOCLAW_HOME": home, **provider.env("openai", api_key="sk-bench-0001")}
        serve, port = start_serve(env)
        try:
            for _ in range(300):
                if (await timed_request(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))[1] == 200:
                    break
                await asyncio.sleep(0.05)
            attack = Attack(port)
            slow = [asyncio.create_task(attack.one(i)) for i in range(SLOW)]
            health: list[tuple[float, int]] = []
            chats: list[tuple[float, int]] = []
            most_fds = 0
            began = time.monotonic()
            tick = 0
            while time.monotonic() - began < SECONDS:
                health.append(await timed_request(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
                if tick % 10 == 0:
                    chats.append(await timed_request(port, (
                        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                        f"\r\nContent-Length: {len(CHAT)}\r\n\r\n").encode() + CHAT, timeout=10))
                    most_fds = max(most_fds, open_fds(serve.pid))
                tick += 1
                await asyncio.sleep(0.1)
            attack.stop = True
            for task in slow:
                task.cancel()
            await asyncio.gather(*slow, return_exceptions=True)
        finally:
            serve.terminate()
            serve.wait(15)

    ok = [t * 1000 for t, status in health if status == 200]
    print(f"mesoclaw serve under {SLOW} slow connections for {SECONDS:g} s (serve's open-file limit {FD_LIMIT}"
          f"{', hard ' + os.environ['FD_HARD'] if os.environ.get('FD_HARD') else ''})")
    print(report.machine())
    if len(ok) >= 2:
        p90 = statistics.quantiles(ok, n=10, method="inclusive")[8]
        print(f"  /health: {len(ok)} of {len(health)} answered; {report.spread(ok, 1, 'ms', 1)}, p90 {p90:.1f} ms")
    else:
        print(f"  /health: {len(ok)} of {len(health)} answered")
    print(f"  chat: {sum(1 for _, s in chats if s == 200)} of {len(chats)} answered 200")
    print(f"  serve's open file descriptors at most: {most_fds}; slow connections closed by the server: "
          f"{attack.closed_by_server}; connects refused: {attack.refused}")
    report.target("/health requests answered", len(ok), len(health), digits=0, at_least=True)
    report.target("chat requests answered 200", sum(1 for _, s in chats if s == 200), len(chats), digits=0,
                  at_least=True)


if __name__ == "__main__":
    asyncio.run(main())
