"""read_file and list_dir: reads inside the allowed directories, which run without asking."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..tools import Effect, ToolPreview, ToolResult, ToolSpec
from ..workspace import PathDenied
from .base import BINARY_SNIFF_BYTES, BuiltinTool, looks_binary, schema
from .walk import walk

COUNT_LINES_UP_TO = 32 << 20  # past this a file's total line count is not worth reading for


class ReadFile(BuiltinTool):
    SPEC = ToolSpec(
        "read_file", "read_file",
        "Read a UTF-8 text file inside the working directory. Lines come numbered (the numbers "
        "and the tab after them are not part of the file). Long files are cut: read on with "
        "start_line/end_line.",
        schema({"path": {"type": "string", "description": "File path, relative to the working directory"},
                "start_line": {"type": "integer", "minimum": 1, "description": "First line (1-based)"},
                "end_line": {"type": "integer", "minimum": 1, "description": "Last line, inclusive"}},
               ["path"]),
        Effect.READ)

    async def preview(self, arguments: dict[str, Any]) -> ToolPreview:
        return ToolPreview(summary=f"read {arguments.get('path')}")

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return await asyncio.to_thread(self._read, arguments)

    def _read(self, arguments: dict[str, Any]) -> ToolResult:
        start, end = arguments.get("start_line", 1), arguments.get("end_line")
        if end is not None and end < start:
            return ToolResult.error(f"end_line {end} is before start_line {start}")
        try:
            real = self.workspace.resolve(arguments.get("path"))
            with self.workspace.open_regular(real) as (fh, info):
                head = fh.read(BINARY_SNIFF_BYTES)
                if looks_binary(head):
                    return ToolResult.error(f"{self.workspace.show(real)} is a binary file; read_file reads text")
                fh.seek(0)
                body, shown_to, total = self._lines(fh, start, end, info.st_size)
        except PathDenied as exc:
            return ToolResult.error(str(exc))
        name = self.workspace.show(real)
        if total == 0:
            return ToolResult(f"{name}: empty file")
        if shown_to < start:
            return ToolResult.error(f"start_line {start} is past the end of {name} ({total} lines)")
        of = f" of {total}" if total is not None else ""
        header = f"{name}: lines {start}-{shown_to}{of}"
        note = ""
        last = total if end is None else (min(end, total) if total is not None else end)
        if last is None or shown_to < last:
            note = (f"\n[cut at line {shown_to} to stay under {self.limits.read_max_chars:,} characters; "
                    f"read on with start_line={shown_to + 1}]")
        return ToolResult(f"{header}\n{body}{note}")

    def _lines(self, fh: BinaryIO, start: int, end: int | None, size: int) -> tuple[str, int, int | None]:
        """The numbered lines start..end within the character cap, the last line shown, and
        the total line count (None when the file is too big to count)."""
        out: list[str] = []
        used, shown_to, count, full = 0, start - 1, 0, False
        for count, (raw, length) in enumerate(_bounded_lines(fh, self.limits.read_max_line_chars * 4), 1):
            if count < start:
                continue
            if full or (end is not None and count > end):
                if size > COUNT_LINES_UP_TO:
                    return "".join(out), shown_to, None
                full = True  # only counting lines from here on
                continue
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if length > len(raw) or len(text) > self.limits.read_max_line_chars:
                text = text[: self.limits.read_max_line_chars] + f" [… line cut: {length:,} bytes]"
            line = f"{count:>6}\t{text}\n"
            if out and used + len(line) > self.limits.read_max_chars:
                full = True
                continue
            out.append(line)
            used += len(line)
            shown_to = count
        return "".join(out), shown_to, count


def _bounded_lines(fh: BinaryIO, limit: int) -> Iterator[tuple[bytes, int]]:
    """Each line's first `limit` bytes and its full length: a 1 GB line is never in memory."""
    while True:
        head = fh.readline(limit)
        if not head:
            return
        length = len(head)
        if not head.endswith(b"\n") and len(head) == limit:
            while True:
                rest = fh.readline(limit)
                length += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
        yield head, length


class ListDir(BuiltinTool):
    SPEC = ToolSpec(
        "list_dir", "list_dir",
        "List a directory inside the working directory: subdirectories end with '/', files show "
        "their size, symlinks end with '@'. recursive=true lists the whole tree, leaving out what "
        ".gitignore ignores and .git itself.",
        schema({"path": {"type": "string", "description": "Directory, relative to the working directory",
                         "default": "."},
                "recursive": {"type": "boolean", "default": False}}, []),
        Effect.READ)

    async def preview(self, arguments: dict[str, Any]) -> ToolPreview:
        return ToolPreview(summary=f"list {arguments.get('path', '.')}")

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return await asyncio.to_thread(self._list, arguments)

    def _list(self, arguments: dict[str, Any]) -> ToolResult:
        recursive = bool(arguments.get("recursive", False))
        try:
            real = self.workspace.resolve(arguments.get("path", "."))
            if not real.is_dir():
                raise PathDenied(f"{self.workspace.show(real)} is not a directory")
            lines, more = self._entries(real, recursive)
        except PathDenied as exc:
            return ToolResult.error(str(exc))
        name = self.workspace.show(real)
        if not lines:
            return ToolResult(f"{name}: empty directory")
        note = f"\n[{self.limits.list_max_entries:,} entries shown; list a subdirectory for more]" if more else ""
        return ToolResult(f"{name}:\n" + "\n".join(lines) + note)

    def _entries(self, real: Path, recursive: bool) -> tuple[list[str], bool]:
        lines: list[str] = []
        with contextlib.closing(walk(self.workspace, real, recursive=recursive,
                                     use_gitignore=recursive)) as entries:
            for entry in entries:
                if len(lines) >= self.limits.list_max_entries:
                    return lines, True
                suffix = {"dir": "/", "link": "@"}.get(entry.kind, "")
                size = f"  {_size(entry.size)}" if entry.kind == "file" else ""
                lines.append(f"{entry.rel}{suffix}{size}")
        return lines, False


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"
