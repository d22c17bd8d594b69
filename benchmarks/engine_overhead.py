"""The engine's cost on the way to the first token, against a local provider server.

1. Router overhead: time to first token through the engine (classify, route, persist the prompt,
   stream) vs a bare httpx streaming request to the same server, interleaved in the same run
   (target: median overhead <= 1 ms, issue 16).
2. Fallback cost: the first candidate's port refuses connections; how much later the first token
   from the second candidate arrives than a direct engine request to it (target <= 30 ms).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from bench_report import machine, spread, target  # noqa: E402

from mesoclaw_tui.engine import Delta, Engine, Turn  # noqa: E402
from mesoclaw_tui.service import RouterService  # noqa: E402
from tests.fakes.provider_server import FakeProviderServer, refused_port  # noqa: E402

RUNS = int(os.environ.get("RUNS", "200"))


async def first_token_engine(engine: Engine, turn: Turn) -> float:
    """Time to the first Delta; the rest of the (short) reply is read too, as a real caller would."""
    start = time.perf_counter()
    elapsed = None
    async for event in engine.stream(turn):
        if elapsed is None and isinstance(event, Delta):
            elapsed = time.perf_counter() - start
    assert elapsed is not None, "no token"
    return elapsed


async def first_token_bare(client: httpx.AsyncClient, url: str) -> float:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}}
    start = time.perf_counter()
    elapsed = None
    async with client.stream("POST", url, json=body, headers={"authorization": "Bearer sk-bench"}) as resp:
        async for chunk in resp.aiter_bytes():  # the first chunk with reply text is the first token
            if elapsed is None and b'"content":"H' in chunk:
                elapsed = time.perf_counter() - start
    assert elapsed is not None
    return elapsed


async def main() -> None:
    home = tempfile.mkdtemp(prefix="mesoclaw-bench-")
    with FakeProviderServer() as server:
        os.environ.update(MESOCLAW_HOME=home, **server.env("openai", "anthropic", api_key="sk-bench-0001"))
        service = await RouterService.open()
        client = httpx.AsyncClient()
        engine = Engine(service, client)
        url = server.base_url("openai") + "/chat/completions"
        turn = Turn("what's the capital of France?", model="gpt-4o-mini", source="ask")
        for _ in range(20):  # warm up: connections, caches, the classifier
            await first_token_engine(engine, turn)
            await first_token_bare(client, url)
        ours, bare, routed = [], [], []
        routed_turn = Turn("what's the capital of France?", source="ask")
        for _ in range(RUNS):  # interleaved, so noise on the machine hits all three alike
            bare.append(await first_token_bare(client, url))
            ours.append(await first_token_engine(engine, turn))
            routed.append(await first_token_engine(engine, routed_turn))
        m_ours, m_bare, m_routed = (statistics.median(x) * 1000 for x in (ours, bare, routed))
        print(machine())
        print(f"time to first token, bare httpx:          {spread(bare, 1000, 'ms')}")
        print(f"time to first token, engine (--model):    {spread(ours, 1000, 'ms')}")
        print(f"time to first token, engine (classified): {spread(routed, 1000, 'ms')}")
        target("engine overhead, pinned model (median - bare median)", m_ours - m_bare, 1.0, "ms")
        target("engine overhead, classified and routed (median - bare median)", m_routed - m_bare, 1.0, "ms")

        # Fallback cost: the preferred provider (anthropic for balanced/code) refuses connections.
        dead = f"http://127.0.0.1:{refused_port()}"
        service.settings.providers["anthropic"] = service.settings.providers["anthropic"].__class__(
            **{**service.settings.providers["anthropic"].__dict__, "base_url": dead})
        code_turn = Turn("fix this function", task="code", source="ask")
        direct_turn = Turn("fix this function", model="openai:gpt-4o", source="ask")
        fallback, direct = [], []
        for _ in range(max(20, RUNS // 4)):
            await service.store.record_provider_success("anthropic")  # no cooldown: every run pays the refusal
            fallback.append(await first_token_engine(engine, code_turn))
            direct.append(await first_token_engine(engine, direct_turn))
        m_fb, m_direct = statistics.median(fallback) * 1000, statistics.median(direct) * 1000
        print(f"first token after a refused first candidate: {spread(fallback, 1000, 'ms')}")
        print(f"first token, the second candidate directly:  {spread(direct, 1000, 'ms')}")
        target("fallback cost (median - direct median)", m_fb - m_direct, 30.0, "ms")
        await client.aclose()
        await service.close()


if __name__ == "__main__":
    asyncio.run(main())
