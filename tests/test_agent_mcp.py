"""MCP servers through the official SDK: real servers (tests/fakes/mcp_server.py, written with
the SDK's MCPServer) over stdio and streamable HTTP on 127.0.0.1, started by the tests."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoclaw_tui.agent.config import AgentConfig, parse_agent_table, parse_mcp_servers
from mesoclaw_tui.agent.executor import CallStatus
from mesoclaw_tui.agent.mcp_client import McpEvent, McpManager, ServerState, list_servers
from mesoclaw_tui.agent.registry import ToolRegistry
from mesoclaw_tui.agent.toolbox import prepare_tools
from mesoclaw_tui.agent.tools import WIRE_NAME, StructuredContent
from mesoclaw_tui.core.types import MesoclawError

from .agent_helpers import alive
from .conftest import REPO

SERVER = REPO / "tests" / "fakes" / "mcp_server.py"
FAKE_TOOLS = ["add", "echo", "shout.loud", "fail", "crash", "pid", "spawn_child", "slow"]


def stdio(*extra_args: str, **options: object) -> dict[str, object]:
    return {"command": sys.executable, "args": [str(SERVER), *extra_args], **options}


def start_http_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(SERVER), "--http"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("PORT "), f"the fake MCP server did not start: {line!r}"
    return proc, f"http://127.0.0.1:{int(line.split()[1])}/mcp"


def stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """One streamable-HTTP server for the module's tests that do not kill it."""
    proc, url = start_http_server()
    yield url
    stop(proc)


# -- config ------------------------------------------------------------------------------------

def test_config_accepts_stdio_and_http_servers() -> None:
    servers = parse_mcp_servers({"servers": {
        "github": {"command": "npx", "args": ["-y", "server-github"], "env": {"X": "1"},
                   "pass_env": ["GITHUB_TOKEN"], "auto_approve_read_only": True},
        "docs": {"url": "https://user:pw@docs.example/mcp", "headers": {"Authorization": "Bearer t"},
                 "tool_timeout": 30},
    }})
    github, docs = servers["github"], servers["docs"]
    assert (github.transport, github.target, github.auto_approve_read_only) == ("stdio", "npx -y server-github", True)
    assert (docs.transport, docs.target, docs.tool_timeout) == ("http", "https://***@docs.example/mcp", 30.0)
    assert "Bearer" not in repr(docs) and "'X'" not in repr(github)  # secrets stay out of reprs
    assert parse_mcp_servers(None) == {}


@pytest.mark.parametrize(("servers", "message"), [
    ({"s": {"command": "x", "url": "http://h"}}, "exactly one of command"),
    ({"s": {}}, "exactly one of command"),
    ({"s": {"url": "ftp://h"}}, "url must start with http"),
    ({"s": {"command": "x", "headers": {}}}, "headers go with url"),
    ({"s": {"url": "http://h", "args": []}}, "go with command"),
    ({"s": {"command": "x", "args": "-y"}}, "args must be a list of strings"),
    ({"s": {"command": "x", "env": {"A": 1}}}, "env must be a table of strings"),
    ({"s": {"command": "x", "pass_env": ["A-B"]}}, "not an environment variable name"),
    ({"s": {"command": "x", "auto_approve_read_only": "yes"}}, "must be true or false"),
    ({"s": {"command": "x", "startup_timeout": 0}}, "must be a positive number"),
    ({"s": {"command": "x", "cmd": "y"}}, "unknown key 'cmd'"),
    ({"a__b": {"command": "x"}}, "a server name is"),
    ({"a.b": {"command": "x"}}, "a server name is"),
    ({"1st": {"command": "x"}}, "a server name is"),
    ({"x" * 33: {"command": "x"}}, "a server name is"),
    ({"s": "npx"}, "must be a table"),
])
def test_config_mistakes_are_one_line_naming_the_key(servers: dict, message: str) -> None:
    with pytest.raises(MesoclawError, match=message) as caught:
        parse_mcp_servers({"servers": servers})
    assert "\n" not in str(caught.value)


def test_agent_table_is_validated() -> None:
    agent = parse_agent_table({"allow_commands": ["git status", "pytest"], "paths": ["~/notes"], "max_steps": 5})
    assert agent.allow_commands == ("git status", "pytest") and agent.max_steps == 5
    with pytest.raises(MesoclawError, match="allow_commands"):
        parse_agent_table({"allow_commands": ["git status; rm -rf ~"]})
    with pytest.raises(MesoclawError, match="max_steps"):
        parse_agent_table({"max_steps": 0})
    with pytest.raises(MesoclawError, match="unknown key"):
        parse_agent_table({"max_step": 3})


# -- a stdio server ----------------------------------------------------------------------------

async def test_a_stdio_server_starts_on_first_use_serves_calls_and_leaves_no_process(tmp_path: Path) -> None:
    servers = parse_mcp_servers({"servers": {"local": stdio(auto_approve_read_only=True)}})
    manager = McpManager(servers)
    assert manager.status()[0].state is ServerState.NOT_STARTED  # nothing runs before it is needed
    registry = ToolRegistry()
    await manager.add_tools_to(registry)
    status = manager.status()[0]
    assert status.state is ServerState.RUNNING and status.transport == "stdio"
    assert len(registry) == len(FAKE_TOOLS)
    assert [t.display_name for t in status.tools] == [f"local.{n}" for n in FAKE_TOOLS]
    assert all(WIRE_NAME.fullmatch(t.wire_name) for t in status.tools)
    shout = registry.by_display_name("local.shout.loud")
    assert shout is not None and shout.spec.wire_name.startswith("local__shout_loud_")
    assert shout.spec.read_only_hint and shout.spec.description.startswith("Upper-case")

    run = await prepare_tools(tmp_path, AgentConfig(), mcp=manager)  # nobody to ask
    assert "local__add" in run.registry and "read_file" in run.registry
    added = await run.execute("local__add", '{"a": 2, "b": 3}')
    assert added.status is CallStatus.RAN and added.result.text == "5"
    assert added.result.detail == StructuredContent({"result": 5})
    loud = await run.execute(shout.spec.wire_name, {"text": "hi"})
    assert loud.result.text == "HI"
    echo = await run.execute("local__echo", {"text": "hi"})  # no read-only hint: needs a yes
    assert echo.status is CallStatus.DENIED
    failed = await manager.call_tool("local", "fail", {"reason": "because"})
    assert failed.is_error and "failed on purpose: because" in failed.text
    wrong = await run.execute("local__add", {"a": "two"})
    assert wrong.status is CallStatus.INVALID and "'two' is not of type 'integer'" in wrong.result.text

    server_pid = int((await manager.call_tool("local", "pid", {})).text)
    child_pid = int((await manager.call_tool("local", "spawn_child", {})).text)
    assert alive(server_pid) and alive(child_pid)
    await manager.aclose()
    assert manager.status()[0].state is ServerState.STOPPED
    assert not alive(server_pid) and not alive(child_pid)


async def test_a_stdio_server_that_dies_mid_call_is_reported_once_and_its_tools_leave() -> None:
    events: list[McpEvent] = []
    registry = ToolRegistry()
    async with McpManager(parse_mcp_servers({"servers": {"local": stdio()}}), on_event=events.append) as manager:
        await manager.add_tools_to(registry)
        pid = int((await manager.call_tool("local", "pid", {})).text)
        crashed = await manager.call_tool("local", "crash", {})
        assert crashed.is_error and "stopped" in crashed.text
        after = await manager.call_tool("local", "add", {"a": 1, "b": 1})
        assert after.is_error and "not running" in after.text
        assert [(e.server, e.state) for e in events] == [("local", ServerState.DIED)]
        assert len(registry) == 0 and await manager.tools() == []
    assert not alive(pid)


async def test_a_tool_that_outlasts_its_timeout_is_an_error_and_the_server_goes_on() -> None:
    servers = parse_mcp_servers({"servers": {"local": stdio(tool_timeout=0.3)}})
    async with McpManager(servers) as manager:
        await manager.start()
        slow = await manager.call_tool("local", "slow", {"seconds": 3})
        assert slow.is_error and "timed out after 0.3 s" in slow.text
        assert (await manager.call_tool("local", "add", {"a": 1, "b": 2})).text == "3"


async def test_a_server_that_never_answers_fails_its_start_and_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    servers = parse_mcp_servers({"servers": {"mute": {
        "command": "/bin/sh", "args": ["-c", f"echo $$ > {pid_file}; exec sleep 30"], "startup_timeout": 0.5}}})
    events: list[McpEvent] = []
    started = time.monotonic()
    async with McpManager(servers, on_event=events.append) as manager:
        assert await manager.tools() == []
    assert time.monotonic() - started < 15
    assert [(e.server, e.state) for e in events] == [("mute", ServerState.FAILED)]
    assert "did not answer within 0.5 s" in events[0].message
    assert not alive(int(pid_file.read_text()))


# -- streamable HTTP, and servers that fail ----------------------------------------------------

async def test_an_http_server_that_dies_is_reported_once_and_the_others_keep_working(
        http_url: str, tmp_path: Path) -> None:
    doomed_proc, doomed_url = start_http_server()
    try:
        servers = parse_mcp_servers({"servers": {
            "web": {"url": http_url},
            "doomed": {"url": doomed_url},
            "broken": stdio("--fail"),
            "ghost": {"command": str(tmp_path / "no-such-server")},
            "off": {"command": "unused", "enabled": False},
        }})
        events: list[McpEvent] = []
        registry = ToolRegistry()
        async with McpManager(servers, on_event=events.append) as manager:
            await manager.add_tools_to(registry)
            states = {s.name: s.state for s in manager.status()}
            assert states == {"web": ServerState.RUNNING, "doomed": ServerState.RUNNING,
                              "broken": ServerState.FAILED, "ghost": ServerState.FAILED,
                              "off": ServerState.DISABLED}
            reported = {e.server: e.message for e in events}
            assert set(reported) == {"broken", "ghost"}
            assert "cannot start (on purpose)" in reported["broken"]  # the server's stderr
            assert "command not found" in reported["ghost"]
            assert {t.spec.server for t in registry} == {"web", "doomed"}
            assert (await manager.call_tool("doomed", "add", {"a": 1, "b": 2})).text == "3"

            stop(doomed_proc)
            first = await manager.call_tool("doomed", "add", {"a": 1, "b": 2})
            second = await manager.call_tool("doomed", "echo", {"text": "x"})
            assert first.is_error and second.is_error
            assert [e.server for e in events].count("doomed") == 1
            assert {t.spec.server for t in registry} == {"web"}
            assert (await manager.call_tool("web", "add", {"a": 20, "b": 22})).text == "42"
            error = await manager.call_tool("web", "fail", {"reason": "over http"})
            assert error.is_error and "failed on purpose: over http" in error.text
    finally:
        if doomed_proc.poll() is None:
            stop(doomed_proc)


async def test_list_servers_gives_what_mcp_list_prints(http_url: str) -> None:
    servers = parse_mcp_servers({"servers": {"web": {"url": http_url}, "broken": stdio("--fail"),
                                             "off": {"url": "http://127.0.0.1:9/mcp", "enabled": False}}})
    listed = await list_servers(servers)
    assert [(s.name, s.transport, s.state) for s in listed] == [
        ("web", "http", ServerState.RUNNING), ("broken", "stdio", ServerState.FAILED),
        ("off", "http", ServerState.DISABLED)]
    assert [t.display_name for t in listed[0].tools] == [f"web.{n}" for n in FAKE_TOOLS]
    assert listed[1].error and "could not start" in listed[1].error and listed[1].tools == ()
    assert listed[0].target == http_url
