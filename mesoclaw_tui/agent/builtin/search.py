"""search: a regular expression over the text files under a directory, as `path:line: text`.

Respects .gitignore, skips .git, binary and very large files, never follows symlinks. The
pattern runs under the `regex` module's timeout, so a pattern with catastrophic backtracking
ends the search with a note instead of hanging the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import time
from dataclasses import dataclass, field
from typing import Any

from ..tools import Effect, ToolPreview, ToolResult, ToolSpec
from ..workspace import PathDenied, open_regular_at
from .base import BuiltinTool, looks_binary, schema
from .walk import Entry, walk

LINE_WINDOW = 300  # characters of a matching line shown
DEFAULT_RESULTS = 100


@dataclass
class _Hits:
    limit: int
    deadline: float
    lines: list[str] = field(default_factory=list)
    files: int = 0
    stopped: str = ""

    @property
    def done(self) -> bool:
        return bool(self.stopped)


class Search(BuiltinTool):
    SPEC = ToolSpec(
        "search", "search",
        "Search the text files under a directory for a regular expression (Python syntax, "
        "multiline: ^ and $ match at line ends). Answers `path:line: text`, paths relative to the "
        "working directory. Files ignored by .gitignore, binary files and .git are skipped.",
        schema({"pattern": {"type": "string", "description": "Regular expression"},
                "path": {"type": "string", "default": ".", "description": "Directory or file to search"},
                "glob": {"type": "string", "description": "Only files matching this glob, e.g. *.py or src/**/*.ts"},
                "ignore_case": {"type": "boolean", "default": False},
                "max_results": {"type": "integer", "minimum": 1, "description": "At most this many lines"}},
               ["pattern"]),
        Effect.READ)

    async def preview(self, arguments: dict[str, Any]) -> ToolPreview:
        return ToolPreview(summary=f"search {arguments.get('pattern')!r} in {arguments.get('path', '.')}")

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return await asyncio.to_thread(self._search, arguments)

    def _search(self, arguments: dict[str, Any]) -> ToolResult:
        import regex

        flags = regex.MULTILINE | (regex.IGNORECASE if arguments.get("ignore_case") else 0)
        try:
            pattern = regex.compile(arguments["pattern"], flags)
        except (regex.error, OverflowError) as exc:
            return ToolResult.error(f"bad regular expression: {exc}")
        limit = min(int(arguments.get("max_results", DEFAULT_RESULTS)), self.limits.search_max_results)
        hits = _Hits(limit, time.monotonic() + self.limits.search_seconds)
        try:
            real = self.workspace.resolve(arguments.get("path", "."))
            if real.is_dir():
                self._search_tree(real, pattern, arguments.get("glob"), hits)
            else:
                self._search_file(real, pattern, hits)
        except PathDenied as exc:
            return ToolResult.error(str(exc))
        return ToolResult(self._report(pattern.pattern, hits))

    def _search_tree(self, real: Any, pattern: Any, glob: str | None, hits: _Hits) -> None:
        prefix = self.workspace.show(real)
        prefix = "" if prefix == "." else prefix + "/"
        with contextlib.closing(walk(self.workspace, real, recursive=True)) as entries:
            for entry in entries:
                if hits.done:
                    return
                if time.monotonic() > hits.deadline:
                    hits.stopped = (f"stopped after {self.limits.search_seconds:g} s; narrow the path or glob")
                    return
                if entry.kind != "file" or entry.size > self.limits.search_max_file_bytes:
                    continue
                if glob and not _glob_matches(glob, entry.rel):
                    continue
                data = _read_entry(entry, self.limits.search_max_file_bytes)
                if data is not None:
                    self._scan(prefix + entry.rel, data, pattern, hits)

    def _search_file(self, real: Any, pattern: Any, hits: _Hits) -> None:
        with self.workspace.open_regular(real) as (fh, info):
            if info.st_size > self.limits.search_max_file_bytes:
                raise PathDenied(f"{self.workspace.show(real)} is too large to search "
                                 f"({info.st_size:,} bytes)")
            data = fh.read(self.limits.search_max_file_bytes)
        self._scan(self.workspace.show(real), data, pattern, hits)

    def _scan(self, shown: str, data: bytes, pattern: Any, hits: _Hits) -> None:
        if looks_binary(data):
            return
        text = data.decode("utf-8", "replace")
        line_no, line_start, last_line = 1, 0, 0
        try:
            timeout = max(0.0, hits.deadline - time.monotonic())
            for match in pattern.finditer(text, timeout=timeout):
                line_no += text.count("\n", line_start, match.start())
                line_start = text.rfind("\n", 0, match.start()) + 1
                if line_no == last_line:
                    continue  # one result per line
                if not last_line:
                    hits.files += 1
                last_line = line_no
                hits.lines.append(f"{shown}:{line_no}: {_window(text, line_start, match.start())}")
                if len(hits.lines) >= hits.limit:
                    hits.stopped = f"stopped at {hits.limit} results; narrow the pattern, path or glob"
                    return
        except TimeoutError:
            hits.stopped = (f"stopped after {self.limits.search_seconds:g} s; the pattern may backtrack "
                            "badly, or the tree is large: narrow the path or glob")

    def _report(self, pattern: str, hits: _Hits) -> str:
        if not hits.lines:
            return f"no matches for {pattern!r}" + (f" ({hits.stopped})" if hits.stopped else "")
        head = f"{len(hits.lines)} matching lines in {hits.files} files"
        tail = f"\n[{hits.stopped}]" if hits.stopped else ""
        return head + "\n" + "\n".join(hits.lines) + tail


def _window(text: str, line_start: int, at: int) -> str:
    end = text.find("\n", line_start)
    line = text[line_start: end if end != -1 else len(text)].rstrip("\r")
    if len(line) <= LINE_WINDOW:
        return line
    column = at - line_start
    begin = max(0, min(column - LINE_WINDOW // 3, len(line) - LINE_WINDOW))
    return ("…" if begin else "") + line[begin: begin + LINE_WINDOW] + "…"


def _glob_matches(glob: str, rel: str) -> bool:
    """`*.py` matches by file name anywhere; a glob with "/" matches the whole relative path."""
    if "/" not in glob:
        return fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], glob)
    return fnmatch.fnmatchcase(rel, glob) or fnmatch.fnmatchcase(rel, glob.replace("**/", ""))


def _read_entry(entry: Entry, limit: int) -> bytes | None:
    try:
        fh, _ = open_regular_at(entry.dir_fd, entry.name)
    except OSError:
        return None
    if fh is None:
        return None
    with fh:
        return fh.read(limit)
