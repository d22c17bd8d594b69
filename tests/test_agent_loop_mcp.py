"""An agent run whose tools include a real MCP server's (tests/fakes/mcp_server.py, written with the
`mcp` SDK's MCPServer), over stdio and streamable HTTP: an allowlisted tool runs, another is denied
(nobody to ask), and the results reach the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mesoclaw_tui.agent.config import AgentConfig, parse_mcp_servers
from mesoclaw_tui.agent.executor import CallStatus
from mesoclaw_tui.agent.loop import AgentLoop
from mesoclaw_tui.agent.mcp_client import McpManager
from mesoclaw_tui.agent.run_types import AgentGoal
from mesoclaw_tui.agent.toolbox import prepare_tools
from mesoclaw_tui.core.agent_run import RunEnd

from .fakes.tool_streams import Call, ToolCallReply
from .test_agent_mcp import start_http_server, stdio, stop


def listening(url: str, timeout: float = 20.0) -> None:
    """The fake server prints its port once bound; uvicorn listens a moment later (longer on a busy
    machine): wait for that, so the test is about the run, not the server's start."""
    import socket
    import time
    from urllib.parse import urlsplit

    port = urlsplit(url).port
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def service_providers() -> tuple[str, ...]:
    return ("openai",)


@pytest.fixture
def engine_read_timeout() -> float:
    return 5.0


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_run_calls_an_mcp_server_through_the_approval_rules(engine, provider_server, tmp_path: Path,
                                                                    transport: str):
    proc = None
    if transport == "stdio":
        server = stdio()
    else:
        proc, url = start_http_server()
        listening(url)
        server = {"url": url}
    provider_server.script(provider_server.chat_path("openai"),
                           ToolCallReply("openai", [Call("calc__add", {"a": 20, "b": 22}),
                                                    Call("calc__echo", {"text": "not allowed"})]),
                           ToolCallReply("openai", text="20 + 22 = 42"))
    try:
        async with McpManager(parse_mcp_servers({"servers": {"calc": server}})) as mcp:
            executor = await prepare_tools(tmp_path, AgentConfig(allow_tools=("calc.add",)), mcp=mcp)
            run = await AgentLoop(engine, executor, workdir=str(tmp_path)).run(
                AgentGoal("add 20 and 22 with the calculator", model="gpt-6-luna"))
    finally:
        if proc is not None:
            stop(proc)
    assert run.end is RunEnd.ANSWERED and run.text == "20 + 22 = 42"
    added, echoed = run.steps[0].outcomes
    assert (added.status, added.result.text, added.ruling.reason) == (CallStatus.RAN, "42", "--allow calc.add")
    assert echoed.status is CallStatus.DENIED and "--allow calc.echo" in echoed.result.text
    first, second = (r.json for r in provider_server.requests_to(provider_server.chat_path("openai")))
    assert {"calc__add", "calc__echo", "read_file"} <= {t["function"]["name"] for t in first["tools"]}
    results = [m["content"] for m in second["messages"] if m["role"] == "tool"]
    assert results[0] == "42" and "not run" in json.dumps(results[1]).lower()
