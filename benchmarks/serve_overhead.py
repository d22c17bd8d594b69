"""Time to first token through `mesoclaw serve` vs straight to the provider, one request at a time.

`mesoclaw serve` runs as a real subprocess (its own interpreter, as users run it); the local
provider server runs on a thread here. Both paths are measured interleaved, from sending the
request to receiving the first non-empty content delta (for a text reply) or the first tool-call
delta (for a request with tools whose reply is a tool call), with a keep-alive httpx client.
The overhead is what serve adds: HTTP parsing, auth, request -> Turn (tools parsed), classify +
route (the engine, with the capabilities the request needs), SSE re-encoding. Target: median
overhead <= 3 ms, for text and for a tool call's first delta alike.

The text replies come from the fake's OpenAI route, the tool calls from its OpenRouter route
(the same OpenAI wire format), so one server answers both kinds.

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
from tests.fakes.tool_streams import Call, ToolCallReply  # noqa: E402

RUNS = int(os.environ.get("RUNS", "300"))
PROMPT = "what's the capital of France?"
TOOL_PROMPT = "what's the weather in Paris right now?"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]


def wanted(delta: dict) -> bool:
    """The first delta that counts: text, or a piece of a tool call."""
    return bool(delta.get("content") or delta.get("tool_calls"))


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
                    if wanted(choices[0].get("delta", {})):
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
        env = {**os.environ, "MESOCLAW_HOME": home, **provider.env("openai", "openrouter", api_key="sk-bench-0001")}
        provider.default(provider.chat_path("openrouter"),
                         ToolCallReply("openai", [Call("get_weather", {"city": "Paris"})], split=8))
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
                direct_headers = {"authorization": "Bearer sk-bench-0001"}
                text = [{"role": "user", "content": PROMPT}]
                ask_tools = [{"role": "user", "content": TOOL_PROMPT}]
                upstream = {  # kind -> the direct request the serve cases of that kind are compared with
                    "text": (provider.base_url("openai") + "/chat/completions",
                             {"model": "gpt-6-luna", "messages": text, "stream": True,
                              "stream_options": {"include_usage": True}}),
                    "tool call": (provider.base_url("openrouter") + "/chat/completions",
                                  {"model": "openai/gpt-6-luna", "messages": ask_tools, "tools": TOOLS, "stream": True,
                                   "stream_options": {"include_usage": True}}),
                }
                cases = {  # name -> (kind, body)
                    "routed (mesoclaw/auto)": ("text", {"model": "mesoclaw/auto", "stream": True, "messages": text}),
                    "explicit model": ("text", {"model": "openai:gpt-6-luna", "stream": True, "messages": text}),
                    "tool call, explicit model": ("tool call", {"model": "openrouter:openai/gpt-6-luna",
                                                                "stream": True, "messages": ask_tools,
                                                                "tools": TOOLS}),
                }
                serve_url = base + "/chat/completions"
                for _ in range(30):  # warm up: connections, caches, the classifier
                    for url, body in upstream.values():
                        await first_token(client, url, body, direct_headers)
                    for _, body in cases.values():
                        await first_token(client, serve_url, body, {})
                direct: dict[str, list[float]] = {kind: [] for kind in upstream}
                through: dict[str, list[float]] = {name: [] for name in cases}
                for _ in range(RUNS):
                    for kind, (url, body) in upstream.items():
                        direct[kind].append(await first_token(client, url, body, direct_headers))
                    for name, (_, body) in cases.items():
                        through[name].append(await first_token(client, serve_url, body, {}))
        finally:
            proc.terminate()
            proc.wait(10)

    def ms(values: list[float], q: float = 0.5) -> float:
        return statistics.quantiles(values, n=100)[int(q * 100) - 1] * 1000 if q != 0.5 else \
            statistics.median(values) * 1000

    print(f"time to first token (text) or first tool-call delta, {RUNS} sequential requests each "
          "(keep-alive, local provider server)")
    for kind, values in direct.items():
        print(f"  direct to the provider, {kind:9s}           median {ms(values):6.2f} ms   "
              f"p90 {ms(values, 0.9):6.2f} ms")
    worst = 0.0
    for name, values in through.items():
        kind = cases[name][0]
        overhead = ms(values) - ms(direct[kind])
        worst = max(worst, overhead)
        print(f"  through serve, {name:26s} median {ms(values):6.2f} ms   p90 {ms(values, 0.9):6.2f} ms   "
              f"overhead median {overhead:5.2f} ms  (target <= 3 ms: {'met' if overhead <= 3 else 'NOT met'})")
    print(f"median overhead (worst case): {worst:.2f} ms  (target <= 3 ms: {'met' if worst <= 3 else 'NOT met'})")


if __name__ == "__main__":
    asyncio.run(main())
