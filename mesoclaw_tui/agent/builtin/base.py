"""What the built-in tools share: their limits, the workspace, text and diffs."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..tools import ToolPreview, ToolSpec
from ..workspace import Workspace

BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True)
class ToolLimits:
    """Caps that keep one call from flooding the model's context or running for ever."""

    read_max_chars: int = 100_000
    read_max_line_chars: int = 4_000
    list_max_entries: int = 1_000
    search_max_results: int = 200
    search_max_file_bytes: int = 4 << 20
    search_seconds: float = 10.0
    write_max_bytes: int = 4 << 20
    edit_max_bytes: int = 8 << 20
    command_timeout: float = 120.0  # when the model gives none
    command_max_timeout: float = 900.0
    command_output_bytes: int = 30_000
    command_kill_grace: float = 2.0  # SIGTERM, then this long, then SIGKILL


@dataclass
class BuiltinTool:
    """A built-in tool bound to one run's workspace."""

    workspace: Workspace
    limits: ToolLimits = field(default_factory=ToolLimits)

    SPEC: ClassVar[ToolSpec]

    @property
    def spec(self) -> ToolSpec:
        return self.SPEC

    async def preview(self, arguments: dict[str, Any]) -> ToolPreview:
        return ToolPreview(summary=f"{self.spec.display_name} {arguments}")


def looks_binary(head: bytes) -> bool:
    return b"\0" in head[:BINARY_SNIFF_BYTES]


def unified_diff(old: str, new: str, path: str, *, created: bool = False) -> str:
    """A git-style unified diff, with git's marker for a last line without a newline."""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile="/dev/null" if created else f"a/{path}", tofile=f"b/{path}", n=3)
    out: list[str] = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def diff_counts(diff: str) -> tuple[int, int]:
    """Lines added and removed by a unified diff."""
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
