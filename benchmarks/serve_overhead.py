"""Time to first token through `mesoclaw serve` vs straight to the provider, one request at a time.

`mesoclaw serve` runs as a real subprocess (its own interpreter, as users run it); the local
provider server runs on a thread here. Both paths are measured interleaved, from sending the
request to receiving the first non-empty content delta, with a keep-alive httpx client.
The overhead is what serve adds: HTTP parsing, auth, request -> Turn, classify + route (the
engine), SSE re-encoding. Target: median overhead <= 3 ms.

    python benchmarks/serve_overhead.py          # RUNS=300 by default
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.fakes.provider_server import FakeProviderServer  # noqa: E402

RUNS = int(os.environ.get("RUNS", "300"))
PROMPT = "what's the capital of France?"


async def first_token(client: httpx.AsyncClient, url: str, body: dict, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    elapsed = None
    async with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        buffer = b""
        async for chunk in response.aiter_bytes():
            if elapsed is None:
                buffer += chunk
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    data = event.removeprefix(b"data: ")
                    if data == b"[DONE]" or not data.startswith(b"{"):
                        continue
                    choices = json.loads(data).get("choices") or [{}]
                    if choices[0].get("delta", {}).get("content"):
                        elapsed = time.perf_counter() - start
                        break
    if elapsed is None:
        raise RuntimeError("no token")
    return elapsed


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", "serve", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("mesoclaw serve: "):
        proc.kill()
        raise RuntimeError(f"mesoclaw serve did not start: {line!r}")
    return proc, line.split()[2]


async def main() -> None:
    home = tempfile.mkdtemp(prefix="mesoclaw-bench-")
    with FakeProviderServer() as provider:
        env = {**os.environ, "MESOCLAW_HOME": home, **provider.env("openai", api_key="sk-bench-0001")}
        proc, base = start_serve(env)
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                deadline = time.monotonic() + 15
                while True:
                    try:
                        (await client.get(base.removesuffix("/v1") + "/health")).raise_for_status()
                        break
                    except httpx.TransportError:
                        if time.monotonic() > deadline:
                            raise
                        await asyncio.sleep(0.05)
                direct_url = provider.base_url("openai") + "/chat/completions"
                direct_body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}],
                               "stream": True, "stream_options": {"include_usage": True}}
                direct_headers = {"authorization": "Bearer sk-bench-0001"}
                cases = {
                    "routed (mesoclaw/auto)": {"model": "mesoclaw/auto", "stream": True,
                                               "messages": [{"role": "user", "content": PROMPT}]},
                    "explicit model": {"model": "openai:gpt-4o-mini", "stream": True,
                                       "messages": [{"role": "user", "content": PROMPT}]},
                }
                serve_url = base + "/chat/completions"
                for _ in range(30):  # warm up: connections, caches, the classifier
                    await first_token(client, direct_url, direct_body, direct_headers)
                    for body in cases.values():
                        await first_token(client, serve_url, body, {})
                direct: list[float] = []
                through: dict[str, list[float]] = {name: [] for name in cases}
                for _ in range(RUNS):
                    direct.append(await first_token(client, direct_url, direct_body, direct_headers))
                    for name, body in cases.items():
                        through[name].append(await first_token(client, serve_url, body, {}))
        finally:
            proc.terminate()
            proc.wait(10)

    def ms(values: list[float], q: float = 0.5) -> float:
        return statistics.quantiles(values, n=100)[int(q * 100) - 1] * 1000 if q != 0.5 else \
            statistics.median(values) * 1000

    print(f"time to first token, {RUNS} sequential requests each (keep-alive, local provider server)")
    print(f"  direct to the provider:        median {ms(direct):6.2f} ms   p90 {ms(direct, 0.9):6.2f} ms")
    for name, values in through.items():
        print(f"  through serve, {name:22s} median {ms(values):6.2f} ms   p90 {ms(values, 0.9):6.2f} ms   "
              f"overhead median {ms(values) - ms(direct):5.2f} ms")
    worst = max(ms(v) - ms(direct) for v in through.values())
    print(f"median overhead (worst case): {worst:.2f} ms  (target <= 3 ms: {'met' if worst <= 3 else 'NOT met'})")


if __name__ == "__main__":
    asyncio.run(main())
