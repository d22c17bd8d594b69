"""write_file and edit_file: changes inside the allowed directories, shown as a diff before
they are approved and after they are made."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..tools import Effect, FileChange, ToolPreview, ToolResult, ToolSpec
from ..workspace import PathDenied
from .base import BuiltinTool, diff_counts, looks_binary, schema, unified_diff

DIFF_TO_MODEL_CHARS = 4_000  # an edit's diff goes back to the model when it is this short


@dataclass(frozen=True, slots=True)
class _Change:
    real: Path
    old: str | None  # None: the file does not exist yet
    new: str
    note: str = ""

    def file_change(self, shown: str) -> FileChange:
        return FileChange(shown, unified_diff(self.old or "", self.new, shown, created=self.old is None),
                          created=self.old is None)


class _FileTool(BuiltinTool):
    """Shared by write_file and edit_file: compute the change, preview it, then make it."""

    def _change(self, arguments: dict[str, Any]) -> _Change:
        raise NotImplementedError

    def _current(self, real: Path) -> str | None:
        """The file's text, None when it does not exist; PathDenied for binary or non-UTF-8."""
        if not real.exists() and not real.is_symlink():
            return None
        data = self.workspace.read_bytes(real, self.limits.edit_max_bytes)
        if looks_binary(data):
            raise PathDenied(f"{self.workspace.show(real)} is a binary file")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise PathDenied(f"{self.workspace.show(real)} is not UTF-8 text; it is left unchanged") from None

    async def preview(self, arguments: dict[str, Any]) -> ToolPreview:
        verb = "write" if self.spec.display_name == "write_file" else "edit"
        try:
            change = await asyncio.to_thread(self._change, arguments)
        except (PathDenied, ValueError) as exc:
            return ToolPreview(summary=f"{verb} {arguments.get('path')}", error=str(exc))
        shown = self.workspace.show(change.real)
        diff = change.file_change(shown).diff
        added, removed = diff_counts(diff)
        kind = "create" if change.old is None else verb
        return ToolPreview(summary=f"{kind} {shown} (+{added} -{removed})", diff=diff)

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return await asyncio.to_thread(self._apply, arguments)

    def _apply(self, arguments: dict[str, Any]) -> ToolResult:
        try:
            change = self._change(arguments)
            self.workspace.write_bytes(change.real, change.new.encode("utf-8"))
        except (PathDenied, ValueError) as exc:
            return ToolResult.error(str(exc))
        shown = self.workspace.show(change.real)
        detail = change.file_change(shown)
        added, removed = diff_counts(detail.diff)
        verb = "created" if detail.created else ("wrote" if self.spec.display_name == "write_file" else "edited")
        text = f"{verb} {shown} (+{added} -{removed}){change.note}"
        if self.spec.display_name == "edit_file" and len(detail.diff) <= DIFF_TO_MODEL_CHARS:
            text += "\n" + detail.diff
        return ToolResult(text, detail=detail)


class WriteFile(_FileTool):
    SPEC = ToolSpec(
        "write_file", "write_file",
        "Create a file, or replace a file's whole content, inside the working directory (missing "
        "directories are created). Prefer edit_file to change part of an existing file. Needs the "
        "user's approval.",
        schema({"path": {"type": "string", "description": "File path, relative to the working directory"},
                "content": {"type": "string", "description": "The complete new content"}},
               ["path", "content"]),
        Effect.WRITE)

    def _change(self, arguments: dict[str, Any]) -> _Change:
        real = self.workspace.resolve(arguments.get("path"))
        content = arguments["content"]
        if len(content.encode("utf-8")) > self.limits.write_max_bytes:
            raise ValueError(f"content is over the {self.limits.write_max_bytes:,}-byte limit")
        return _Change(real, self._current(real), content)


class EditFile(_FileTool):
    SPEC = ToolSpec(
        "edit_file", "edit_file",
        "Replace an exact piece of text in a file inside the working directory. old_string must "
        "appear exactly once (copy it with its whitespace and enough surrounding lines to be "
        "unique), unless replace_all is true. Needs the user's approval.",
        schema({"path": {"type": "string", "description": "File path, relative to the working directory"},
                "old_string": {"type": "string", "description": "The exact text to replace"},
                "new_string": {"type": "string", "description": "The text to put in its place"},
                "replace_all": {"type": "boolean", "default": False,
                                "description": "Replace every occurrence"}},
               ["path", "old_string", "new_string"]),
        Effect.WRITE)

    def _change(self, arguments: dict[str, Any]) -> _Change:
        real = self.workspace.resolve(arguments.get("path"))
        old_string, new_string = arguments["old_string"], arguments["new_string"]
        replace_all = bool(arguments.get("replace_all", False))
        if not old_string:
            raise ValueError("old_string is empty; use write_file to create or replace a whole file")
        if old_string == new_string:
            raise ValueError("old_string and new_string are the same; nothing would change")
        text = self._current(real)
        shown = self.workspace.show(real)
        if text is None:
            raise ValueError(f"{shown} does not exist; use write_file to create it")
        count = text.count(old_string)
        if count == 0 and "\r\n" in text and "\r\n" not in old_string:
            # The model writes "\n"; a CRLF file keeps its own line endings.
            old_string, new_string = old_string.replace("\n", "\r\n"), new_string.replace("\n", "\r\n")
            count = text.count(old_string)
        if count == 0:
            raise ValueError(f"old_string was not found in {shown}; read the file and copy the text exactly, "
                             "whitespace included")
        if count > 1 and not replace_all:
            raise ValueError(f"old_string appears {count} times in {shown}; include more surrounding text to "
                             "make it unique, or set replace_all to replace every one")
        note = f"; replaced {count} occurrences" if count > 1 else ""
        return _Change(real, text, text.replace(old_string, new_string), note)
