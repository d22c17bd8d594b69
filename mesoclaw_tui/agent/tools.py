"""What a tool is, independent of any provider: its spec, its result, and its name on the wire."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

# OpenAI and Anthropic accept [A-Za-z0-9_-]{1,64}; Gemini also wants a letter or "_" first.
WIRE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
MAX_WIRE_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MCP_SEPARATOR = "__"  # server__tool on the wire; config keeps "__" out of server names


class Effect(StrEnum):
    """What a call can do to the user's machine; the approval policy starts from this."""

    READ = "read"  # reads inside the allowed directories: runs without asking
    WRITE = "write"  # changes files inside the allowed directories
    COMMAND = "command"  # runs a process
    EXTERNAL = "external"  # an MCP server's tool: anything the server does


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the model and the user see it."""

    wire_name: str  # what the model calls: safe for every provider
    display_name: str  # what the user sees and names in --allow: "read_file", "github.create_issue"
    description: str
    parameters: Mapping[str, Any]  # JSON schema of the arguments object
    effect: Effect
    read_only_hint: bool = False  # MCP annotations: a hint from the server, trusted only if config says so
    destructive_hint: bool | None = None
    server: str | None = None  # the MCP server's name; None for built-ins

    def definition(self) -> dict[str, Any]:
        """The OpenAI chat-completions function definition (the providers translate it)."""
        return {"type": "function",
                "function": {"name": self.wire_name, "description": self.description,
                             "parameters": dict(self.parameters)}}


@dataclass(frozen=True, slots=True)
class FileChange:
    """A write or edit, shown to the user as a unified diff."""

    path: str  # as the user reads it: relative to the working directory when inside it
    diff: str
    created: bool = False


@dataclass(frozen=True, slots=True)
class CommandRun:
    command: str  # the command line as shown to the user
    exit_code: int | None  # None when it timed out or could not start
    timed_out: bool = False
    truncated: bool = False  # output past the cap was left out
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class StructuredContent:
    """An MCP tool's structured result, kept exact for --json and the transcript."""

    value: Any


ToolDetail = FileChange | CommandRun | StructuredContent


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What goes back to the model (text) and what a face may show besides (detail).

    The text is untrusted data from a file, a process or a server: it goes back to the model
    as a tool result and nowhere else; faces neutralise control characters before showing it.
    """

    text: str
    is_error: bool = False
    detail: ToolDetail | None = None

    @classmethod
    def error(cls, text: str) -> ToolResult:
        return cls(text, is_error=True)


@dataclass(frozen=True, slots=True)
class ToolPreview:
    """What the approval prompt shows before a call runs: one line, and a diff for file changes.

    `error` is set when the call cannot succeed (an edit whose text is not in the file, a path
    outside the allowed directories): nothing is asked, the model gets the error.
    """

    summary: str
    diff: str | None = None
    error: str | None = None


@runtime_checkable
class Tool(Protocol):
    """A tool of one run. `run` never raises for a failure the model can act on: it returns
    `ToolResult.error(...)`; the executor turns any other exception into an error result too."""

    @property
    def spec(self) -> ToolSpec: ...

    async def preview(self, arguments: dict[str, Any]) -> ToolPreview: ...

    async def run(self, arguments: dict[str, Any]) -> ToolResult: ...


def mcp_display_name(server: str, tool: str) -> str:
    return f"{server}.{tool}"


def mcp_wire_name(server: str, tool: str, taken: Container[str] = ()) -> str:
    """`server__tool` when that is safe, short enough and free; otherwise the tool part is
    cleaned, cut and followed by a hash of the display name, lengthened until it is free.

    The server name is validated by config (letters, digits, single "-"/"_", at most 32), so
    the first "__" ends it and two servers never share a prefix; the hash keeps two tool
    names that clean to the same text apart (`a.b` and `a/b`).
    """
    plain = f"{server}{MCP_SEPARATOR}{tool}"
    if WIRE_NAME.fullmatch(plain) and plain not in taken:
        return plain
    cleaned = _UNSAFE.sub("_", tool)
    digest = hashlib.sha256(mcp_display_name(server, tool).encode()).hexdigest()
    for length in (8, 12, 16, 24, 32):
        room = MAX_WIRE_NAME - len(server) - len(MCP_SEPARATOR) - length - 1
        name = f"{server}{MCP_SEPARATOR}{cleaned[:room]}_{digest[:length]}"
        if name not in taken:
            return name
    raise ValueError(f"no free wire name for {mcp_display_name(server, tool)}")
