"""A small real MCP server for the agent tests, written with the `mcp` SDK's MCPServer.

    python tests/fakes/mcp_server.py            # stdio
    python tests/fakes/mcp_server.py --http     # streamable HTTP on 127.0.0.1; prints "PORT <n>"
    python tests/fakes/mcp_server.py --fail     # exits before it answers (a server that cannot start)

Tools: add (read-only hint), echo, shout (claims read-only), fail (a tool error),
crash (the process exits mid-call), pid, spawn_child (leaves a `sleep` running), slow.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

if __name__ == "__main__" and "--fail" in sys.argv:  # before the SDK's import: fail fast
    print("fake MCP server: cannot start (on purpose)", file=sys.stderr)
    sys.exit(1)

import anyio  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402
from mcp.server.mcpserver.exceptions import ToolError  # noqa: E402
from mcp.types import ToolAnnotations  # noqa: E402

server = MCPServer("fake", log_level="ERROR")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool(name="shout.loud", annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False))
def shout(text: str) -> str:
    """Upper-case the text (its name has a dot, which no provider accepts on the wire)."""
    return text.upper()


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the reason."""
    raise ToolError(f"failed on purpose: {reason}")


@server.tool()
def crash() -> str:
    """The server process exits while answering."""
    os._exit(3)


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def spawn_child() -> int:
    """Start a long `sleep` in the server's process group and return its pid."""
    return subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).pid


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await anyio.sleep(seconds)
    return "done"


def _serve_http() -> None:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(server.streamable_http_app(), log_level="error", lifespan="on")
    anyio.run(uvicorn.Server(config).serve, [sock])


if __name__ == "__main__":
    if "--http" in sys.argv:
        _serve_http()
    else:
        server.run()
