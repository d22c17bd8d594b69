"""mesoclaw's own time per agent step, leaving out the model and the tool (target: median <= 5 ms).

A run of STEPS steps (STEPS - 1 steps that each call read_file on a small file, then an answer)
goes through the real loop, engine, executor and service (each step recorded in a conversation in a
SQLite file) against the fake provider server on 127.0.0.1. The model's share of a step is the time
a bare httpx client takes to stream the same reply from the same server (measured interleaved with
the runs, so noise on the machine hits both alike); the tool's share is the time the executor
measured around the tool's own run. What is left, per step, is mesoclaw's: routing, the approval
policy, argument checks, the messages sent, recording the step and its results.

    RUNS=60 python benchmarks/agent_overhead.py
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

import bench_report as report  # noqa: E402
import httpx  # noqa: E402

from mesoclaw_tui.agent.config import AgentConfig  # noqa: E402
from mesoclaw_tui.agent.loop import AgentLoop  # noqa: E402
from mesoclaw_tui.agent.run_types import AgentGoal  # noqa: E402
from mesoclaw_tui.agent.toolbox import prepare_tools  # noqa: E402
from mesoclaw_tui.engine import Engine  # noqa: E402
from mesoclaw_tui.service import RouterService  # noqa: E402
from tests.fakes.provider_server import FakeProviderServer  # noqa: E402
from tests.fakes.tool_streams import Call, ToolCallReply  # noqa: E402

RUNS = int(os.environ.get("RUNS", "60"))
STEPS = 5
TARGET_MS = 5.0
CALL = Call("read_file", {"path": "notes.txt"})


async def bare_reply(client: httpx.AsyncClient, url: str, body: bytes) -> tuple[float, float]:
    """The model's share: the same request (its exact bytes) and a reply of the same shape, read whole
    by a bare client; (wall, CPU) seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    async with client.stream("POST", url, content=body, headers={"authorization": "Bearer sk-bench",
                                                                 "content-type": "application/json"}) as resp:
        async for _ in resp.aiter_bytes():
            pass
    return time.perf_counter() - start, time.process_time() - cpu


async def one_run(loop: AgentLoop, server: FakeProviderServer) -> tuple[float, float, float, int]:
    """(wall time, CPU time, tool time, steps) of one run."""
    replies = [ToolCallReply("openai", [CALL]) for _ in range(STEPS - 1)] + [ToolCallReply("openai", text="done")]
    server.script(server.chat_path("openai"), *replies)
    start, cpu = time.perf_counter(), time.process_time()
    run = await loop.run(AgentGoal("fix the failing python test", model="gpt-6-luna", source="agent"))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert run.end is not None and run.end.value == "answered" and len(run.steps) == STEPS, run.error
    tools = sum(o.seconds for s in run.steps for o in s.outcomes if o is not None)
    return wall, cpu, tools, len(run.steps)


async def main() -> None:
    home = tempfile.mkdtemp(prefix="mesoclaw-bench-")
    work = Path(home) / "work"
    work.mkdir()
    (work / "notes.txt").write_text("def add(a, b):\n    return a - b\n")
    with FakeProviderServer() as server:
        os.environ.update(MESOCLAW_HOME=home, **server.env("openai", "groq", api_key="sk-bench-0001"))
        bare_url = server.base_url("groq") + "/chat/completions"
        server.default(server.chat_path("groq"), ToolCallReply("openai", [CALL]))
        service = await RouterService.open()
        client = httpx.AsyncClient()
        loop = AgentLoop(Engine(service, client), await prepare_tools(work, AgentConfig()), workdir=str(work))
        chat = server.chat_path("openai")
        for _ in range(5):  # warm up: connections, caches, imports, the classifier
            await one_run(loop, server)
            await bare_reply(client, bare_url, server.requests_to(chat)[-1].body)
        per_step, cpu_step, bare, bare_cpu = [], [], [], []
        for _ in range(RUNS):
            wall, cpu, tools, steps = await one_run(loop, server)
            for request in server.requests_to(chat)[-steps:]:  # what each step sent, sent again bare
                took, used = await bare_reply(client, bare_url, request.body)
                bare.append(took)
                bare_cpu.append(used)
            per_step.append((wall - tools) / steps * 1000)
            cpu_step.append(cpu / steps * 1000)
        model_ms, model_cpu = statistics.median(bare) * 1000, statistics.median(bare_cpu) * 1000
        overhead = [ms - model_ms for ms in per_step]
        cpu_overhead = [ms - model_cpu for ms in cpu_step]
        median = statistics.median(overhead)
        print(report.machine())
        print(f"agent step, all included but the tool, over {RUNS} runs of {STEPS} steps: "
              f"{report.spread(per_step, 1, 'ms')}")
        print(f"the model's share (bare httpx, the same requests, same server): {report.spread(bare, 1000, 'ms')}")
        print(f"CPU per step, mesoclaw's (all threads, the tool's included, less a bare request's): "
              f"{report.spread(cpu_overhead, 1, 'ms')}")
        print(f"mesoclaw's own time per step: {report.spread(overhead, 1, 'ms')}")
        report.target("mesoclaw's own time per agent step (median)", median, TARGET_MS, "ms")
        await client.aclose()
        await service.close()


if __name__ == "__main__":
    asyncio.run(main())
