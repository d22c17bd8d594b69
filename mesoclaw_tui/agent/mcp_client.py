"""MCP servers as tools, with the official `mcp` SDK (2.x).

Each configured server is started on first use (the first run that asks for tools), in a
task of its own that holds the SDK's `Client` open until `aclose()`; calls from the run go
through it. A server that fails to start or dies is reported once (an `McpEvent`), its
tools leave every registry they were added to, and the other servers go on working.

Stopping closes each server's stdin, then the SDK kills its process group; on Linux,
whatever is left that carries the server's start token in its environment (a child that
left the group) is killed too, so no process outlives mesoclaw.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from .config import McpServerConfig
from .registry import ToolRegistry
from .tools import (
    Effect,
    StructuredContent,
    ToolPreview,
    ToolResult,
    ToolSpec,
    mcp_display_name,
    mcp_wire_name,
)

TOKEN_ENV = "MESOCLAW_MCP_TOKEN"
MAX_DESCRIPTION_CHARS = 4_000
MAX_RESULT_CHARS = 100_000
MAX_TOOL_PAGES = 100
STDERR_TAIL_BYTES = 2_000
STOP_SECONDS = 10.0  # the SDK's own shutdown is bounded well below this
LEFTOVER_DEATH_SECONDS = 2.0  # a SIGKILLed process is gone within a scheduler tick or two; bounded anyway


class ServerState(StrEnum):
    NOT_STARTED = "not started"
    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"  # could not start
    DIED = "died"  # stopped answering after it started
    STOPPED = "stopped"
    DISABLED = "disabled"  # enabled = false in config


@dataclass(frozen=True, slots=True)
class McpEvent:
    """A server failed or died: faces show `message` once (neutralising control characters:
    it may quote the server's stderr)."""

    server: str
    state: ServerState
    message: str


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """One line of `mesoclaw mcp list`, and the tools under it."""

    name: str
    transport: str  # "stdio" or "http"
    target: str  # the command line, or the URL with any password masked
    state: ServerState
    error: str | None
    tools: tuple[ToolSpec, ...]


@dataclass
class McpTool:
    """One MCP server tool in a run's registry."""

    spec: ToolSpec
    tool_name: str  # the name the server knows it by
    manager: McpManager

    async def preview(self, arguments: dict[str, Any]) -> ToolPreview:
        shown = json.dumps(arguments, ensure_ascii=False)
        return ToolPreview(summary=f"{self.spec.display_name} {shown[:500]}")

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        assert self.spec.server is not None
        return await self.manager.call_tool(self.spec.server, self.tool_name, arguments)


@dataclass(eq=False)
class _Connection:
    config: McpServerConfig
    state: ServerState = ServerState.NOT_STARTED
    error: str | None = None
    client: Any = None
    tools: list[McpTool] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    stderr: IO[str] | None = None


class McpManager:
    """The MCP servers of one process (a CLI run, the app): started lazily, stopped by aclose()."""

    def __init__(self, servers: Mapping[str, McpServerConfig], *,
                 on_event: Callable[[McpEvent], None] | None = None) -> None:
        self._connections = {name: _Connection(cfg) for name, cfg in servers.items()}
        for conn in self._connections.values():
            if not conn.config.enabled:
                conn.state = ServerState.DISABLED
        self._on_event = on_event
        self._registries: list[ToolRegistry] = []
        self._lock = asyncio.Lock()
        self.events: list[McpEvent] = []

    async def __aenter__(self) -> McpManager:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self, names: Iterable[str] | None = None) -> None:
        """Start the servers not started yet (all, or those named), together; returns when each
        is running or has failed. Never raises for a server's failure: it is reported."""
        async with self._lock:
            wanted = [c for n, c in self._connections.items()
                      if (names is None or n in names) and c.state is ServerState.NOT_STARTED]
            await asyncio.gather(*(self._start(c) for c in wanted))

    async def tools(self) -> list[McpTool]:
        """Every running server's tools, starting servers on first use."""
        await self.start()
        return [t for c in self._connections.values() if c.state is ServerState.RUNNING for t in c.tools]

    async def add_tools_to(self, registry: ToolRegistry) -> None:
        """Add the tools to a run's registry; they leave it if their server dies."""
        for tool in await self.tools():
            registry.add(tool)
        self._registries.append(registry)

    def trusted_read_only_servers(self) -> list[str]:
        """Servers whose read-only tools the user lets run without asking."""
        return [n for n, c in self._connections.items() if c.config.auto_approve_read_only]

    def status(self) -> list[ServerStatus]:
        return [ServerStatus(name, c.config.transport, c.config.target, c.state, c.error,
                             tuple(t.spec for t in c.tools) if c.state is ServerState.RUNNING else ())
                for name, c in self._connections.items()]

    async def call_tool(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolResult:
        conn = self._connections.get(server)
        if conn is None or conn.state is not ServerState.RUNNING or conn.client is None:
            why = f" ({conn.error})" if conn is not None and conn.error else ""
            return ToolResult.error(f"MCP server {server!r} is not running{why}")
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        try:
            result = await conn.client.call_tool(tool, arguments, read_timeout_seconds=conn.config.tool_timeout)
        except MCPError as exc:
            if exc.error.code == REQUEST_TIMEOUT:
                return ToolResult.error(f"{mcp_display_name(server, tool)} timed out after "
                                        f"{conn.config.tool_timeout:g} s")
            if exc.error.code != CONNECTION_CLOSED and conn.task is not None and not conn.task.done():
                return ToolResult.error(f"MCP server {server!r} answered an error: {exc.error.message}")
            return await self._died(conn, exc)
        except Exception as exc:  # the transport broke under the call (HTTP server gone)
            return await self._died(conn, exc)
        return _to_result(result)

    async def aclose(self) -> None:
        """Stop every server; no process of theirs is left running."""
        await asyncio.gather(*(self._stop(c) for c in self._connections.values()))

    # -- one server ---------------------------------------------------------------------------

    async def _start(self, conn: _Connection) -> None:
        conn.state = ServerState.STARTING
        conn.task = asyncio.create_task(self._serve(conn), name=f"mcp-{conn.config.name}")
        ready = asyncio.ensure_future(conn.ready.wait())
        try:
            await asyncio.wait({ready, conn.task}, timeout=conn.config.startup_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if conn.state is ServerState.STARTING:  # neither ready nor failed in time
            self._report(conn, ServerState.FAILED,
                         f"did not answer within {conn.config.startup_timeout:g} s{_stderr_tail(conn)}")
            await self._stop(conn, final=ServerState.FAILED)

    async def _serve(self, conn: _Connection) -> None:
        """Holds the SDK client open (it must be entered and left in one task) until stopped."""
        try:
            async with _open_client(conn) as client:
                listed = await _list_tools(client)
                conn.client = client
                conn.tools = [McpTool(spec, spec_name, self) for spec_name, spec in _specs(conn.config.name, listed)]
                conn.state = ServerState.RUNNING
                conn.ready.set()
                await conn.stop.wait()
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # the SDK wraps transport failures in (base) exception groups
            if conn.state is ServerState.STARTING:
                self._report(conn, ServerState.FAILED, f"could not start: {_describe(exc)}{_stderr_tail(conn)}")
            elif conn.state is ServerState.RUNNING and not conn.stop.is_set():
                self._report(conn, ServerState.DIED, f"stopped answering: {_describe(exc)}")
        finally:
            conn.client = None
            conn.ready.set()
            if conn.stderr is not None:
                conn.stderr.close()
            if conn.config.command is not None:
                await asyncio.to_thread(_kill_leftovers, conn.token)

    async def _died(self, conn: _Connection, exc: BaseException) -> ToolResult:
        if conn.state is ServerState.RUNNING:
            self._report(conn, ServerState.DIED, f"stopped answering: {_describe(exc)}{_stderr_tail(conn)}")
        await self._stop(conn, final=ServerState.DIED)
        return ToolResult.error(f"MCP server {conn.config.name!r} stopped ({conn.error}); its tools are gone "
                                "for the rest of this run")

    async def _stop(self, conn: _Connection, final: ServerState = ServerState.STOPPED) -> None:
        conn.stop.set()
        task = conn.task
        if task is not None and not task.done():
            if conn.client is not None:  # running: let it close the session in order
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), STOP_SECONDS)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if conn.state in (ServerState.RUNNING, ServerState.STARTING):
            conn.state = final
        conn.client = None

    def _report(self, conn: _Connection, state: ServerState, message: str) -> None:
        """Once per server: the first failure is the one worth reading."""
        if conn.state in (ServerState.FAILED, ServerState.DIED):
            return
        conn.state, conn.error = state, message
        for registry in self._registries:
            registry.remove_server(conn.config.name)
        event = McpEvent(conn.config.name, state, message)
        self.events.append(event)
        if self._on_event is not None:
            self._on_event(event)


@contextlib.asynccontextmanager
async def _open_client(conn: _Connection) -> AsyncIterator[Any]:
    from mcp import Client, Implementation

    _quiet_sdk_logs()
    config = conn.config
    info = Implementation(name="mesoclaw", version=_version())
    if config.command is not None:
        from mcp import StdioServerParameters

        env = {name: os.environ[name] for name in config.pass_env if name in os.environ}
        env.update(config.env)
        env[TOKEN_ENV] = conn.token
        conn.stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        params = StdioServerParameters(command=config.command, args=list(config.args), env=env,
                                       cwd=os.path.expanduser(config.cwd) if config.cwd else None,
                                       encoding_error_handler="replace")
        from mcp.client.stdio import stdio_client

        async with Client(stdio_client(params, errlog=conn.stderr), client_info=info, cache=None) as client:
            yield client
        return
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client  # the SDK's own timeouts, as its clients use


    async with create_mcp_http_client(headers=dict(config.headers) or None) as http:
        transport = streamable_http_client(config.url or "", http_client=http)
        async with Client(transport, client_info=info, cache=None) as client:
            yield client


async def _list_tools(client: Any) -> list[Any]:
    """Every tool the server lists, all pages."""
    tools: list[Any] = []
    cursor = None
    for _ in range(MAX_TOOL_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _specs(server: str, listed: list[Any]) -> list[tuple[str, ToolSpec]]:
    """Specs in the server's order. Wire names need only be unique within a server: config
    keeps "__" out of server names, so the part before the first "__" tells servers apart."""
    taken: set[str] = set()
    specs: list[tuple[str, ToolSpec]] = []
    for tool in listed:
        if any(name == tool.name for name, _ in specs):
            continue  # a server listing one name twice: the first wins
        wire = mcp_wire_name(server, tool.name, taken)
        taken.add(wire)
        annotations = tool.annotations
        schema = dict(tool.input_schema or {})
        schema.setdefault("type", "object")
        description = (tool.description or tool.title or "")[:MAX_DESCRIPTION_CHARS]
        specs.append((tool.name, ToolSpec(
            wire, mcp_display_name(server, tool.name), description, schema, Effect.EXTERNAL,
            read_only_hint=bool(annotations and annotations.read_only_hint),
            destructive_hint=annotations.destructive_hint if annotations else None, server=server)))
    return specs


def _to_result(result: Any) -> ToolResult:
    parts: list[str] = []
    for block in result.content:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {block.mime_type}, about {len(block.data) * 3 // 4:,} bytes]")
        elif kind == "resource":
            text = getattr(block.resource, "text", None)
            parts.append(text if text is not None else f"[resource {block.resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource {block.uri}]")
    structured = result.structured_content
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    text = "\n".join(parts) or "(no content)"
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f"\n[… {len(text) - MAX_RESULT_CHARS:,} more characters left out]"
    return ToolResult(text, is_error=bool(result.is_error),
                      detail=StructuredContent(structured) if structured is not None else None)


def _describe(exc: BaseException) -> str:
    """The innermost useful message of an exception (groups unwrapped)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {exc.filename or exc}"
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None) or str(exc) or type(exc).__name__
    return message.splitlines()[0] if message.strip() else type(exc).__name__


def _stderr_tail(conn: _Connection) -> str:
    if conn.stderr is None or conn.stderr.closed:
        return ""
    try:
        conn.stderr.flush()
        size = conn.stderr.seek(0, os.SEEK_END)
        conn.stderr.seek(max(0, size - STDERR_TAIL_BYTES))
        tail = conn.stderr.read().strip()
    except (OSError, ValueError):
        return ""
    return f" (stderr: {tail.splitlines()[-1]})" if tail else ""


def _kill_leftovers(token: str) -> None:
    """Kill every process still carrying this server's token: children that left its group. Returns
    once they have died (SIGKILL only takes effect when the process next runs), so none is still
    running when aclose() returns."""
    proc = Path("/proc")
    if not sys.platform.startswith("linux") or not proc.is_dir():
        return
    needle = f"{TOKEN_ENV}={token}".encode()
    killed = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(entry)
    deadline = time.monotonic() + LEFTOVER_DEATH_SECONDS
    while any(_running(entry) for entry in killed) and time.monotonic() < deadline:
        time.sleep(0.005)


def _running(entry: Path) -> bool:
    """A process that exists and has not died (a zombie only waits for its parent to reap it)."""
    try:
        state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _quiet_sdk_logs() -> None:
    """The SDK logs transport failures with tracebacks; we report them ourselves, in one line."""
    for name in ("mcp", "client", "httpx2", "httpcore2"):
        logger = logging.getLogger(name)
        logger.propagate = False
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mesoclaw")
    except PackageNotFoundError:
        return "0"


async def list_servers(servers: Mapping[str, McpServerConfig]) -> list[ServerStatus]:
    """What `mesoclaw mcp list` prints: each server started, its state and tools, then stopped."""
    async with McpManager(servers) as manager:
        await manager.start()
        return manager.status()
