"""Time to first token through `mesoclaw serve` vs straight to the provider, one request at a time.

`mesoclaw serve` runs as a real subprocess (its own interpreter, as users run it); the local
provider server runs on a thread here. Both paths are measured interleaved, with a keep-alive httpx
client, in four cases: streaming and not, text and tool calls.

- streaming: from sending the request to the first non-empty content delta (a text reply) or the
  first tool-call delta (a request with tools whose reply is a tool call);
- not streaming: from sending the request to the whole JSON body, against the whole upstream stream
  read directly (the first token of a non-streamed reply is the reply).

The overhead is what serve adds: HTTP parsing, auth, request -> Turn (tools parsed), classify +
route (the engine, with the capabilities the request needs), re-encoding. Target (issue 16): median
overhead <= 2 ms in every case.

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
from bench_report import machine, spread, target  # noqa: E402

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


async def whole_reply(client: httpx.AsyncClient, url: str, body: dict, headers: dict[str, str]) -> float:
    """Time to the whole response: a non-streamed reply, or a stream read to its end."""
    start = time.perf_counter()
    async with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        async for _ in response.aiter_bytes():
            pass
    return time.perf_counter() - start


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
                text_body = {"model": "gpt-6-luna", "messages": text, "stream": True,
                             "stream_options": {"include_usage": True}}
                tool_body = {"model": "openai/gpt-6-luna", "messages": ask_tools, "tools": TOOLS, "stream": True,
                             "stream_options": {"include_usage": True}}
                text_url = provider.base_url("openai") + "/chat/completions"
                tool_url = provider.base_url("openrouter") + "/chat/completions"
                upstream = {  # kind -> how the serve cases of that kind are timed, and the direct request
                    "text": (first_token, text_url, text_body),
                    "tool call": (first_token, tool_url, tool_body),
                    "text, whole": (whole_reply, text_url, text_body),
                    "tool call, whole": (whole_reply, tool_url, tool_body),
                }
                tool_model = "openrouter:openai/gpt-6-luna"
                cases = {  # name -> (kind, body)
                    "streaming, routed (mesoclaw/auto)": ("text", {"model": "mesoclaw/auto", "stream": True,
                                                                    "messages": text}),
                    "streaming, explicit model": ("text", {"model": "openai:gpt-6-luna", "stream": True,
                                                            "messages": text}),
                    "streaming, tool call": ("tool call", {"model": tool_model, "stream": True,
                                                           "messages": ask_tools, "tools": TOOLS}),
                    "not streaming, routed": ("text, whole", {"model": "mesoclaw/auto", "messages": text}),
                    "not streaming, tool call": ("tool call, whole", {"model": tool_model, "messages": ask_tools,
                                                                      "tools": TOOLS}),
                }
                serve_url = base + "/chat/completions"
                for _ in range(30):  # warm up: connections, caches, the classifier
                    for timer, url, body in upstream.values():
                        await timer(client, url, body, direct_headers)
                    for kind, body in cases.values():
                        await upstream[kind][0](client, serve_url, body, {})
                direct: dict[str, list[float]] = {kind: [] for kind in upstream}
                through: dict[str, list[float]] = {name: [] for name in cases}
                for _ in range(RUNS):
                    for kind, (timer, url, body) in upstream.items():
                        direct[kind].append(await timer(client, url, body, direct_headers))
                    for name, (kind, body) in cases.items():
                        through[name].append(await upstream[kind][0](client, serve_url, body, {}))
        finally:
            proc.terminate()
            proc.wait(10)

    print(f"time to first token (text) or first tool-call delta, or to the whole reply when not streaming; "
          f"{RUNS} sequential requests each (keep-alive, local provider server)")
    print(machine())
    for kind, values in direct.items():
        print(f"  direct to the provider, {kind:33s} {spread(values, 1000, 'ms')}")
    for name, values in through.items():
        print(f"  through serve, {name:42s} {spread(values, 1000, 'ms')}")
    for name, values in through.items():
        kind = cases[name][0]
        target(f"serve overhead, {name} (median - direct median)",
               (statistics.median(values) - statistics.median(direct[kind])) * 1000, 2.0, "ms")

if __name__ == "__main__":
    asyncio.run(main())
