"""A directory walk for list_dir and search: inside the workspace, symlinks never followed,
`.git` skipped, and `.gitignore` files (each applying below its own directory) respected.

Directories are opened by fd from the one above with O_NOFOLLOW, so a directory swapped for
a symlink during the walk is skipped rather than followed outside.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..workspace import DIR_FLAGS, Workspace, open_regular_at

MAX_GITIGNORE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Entry:
    rel: str  # relative to the walk's start, "/"-separated
    name: str
    kind: str  # "file", "dir", "link", "other"
    size: int
    dir_fd: int  # the fd of the directory holding it: valid only while the walk is at it


@dataclass(frozen=True, slots=True)
class _Ignore:
    base: str  # the directory of this .gitignore, relative to the walk's start ("" for the start)
    spec: Any  # pathspec.GitIgnoreSpec

    def verdict(self, rel: str, is_dir: bool) -> bool | None:
        if self.base:
            if not rel.startswith(self.base + "/"):
                return None
            rel = rel[len(self.base) + 1:]
        return self.spec.check_file(rel + "/" if is_dir else rel).include


class GitIgnores:
    """The .gitignore files that apply during a walk, deepest first."""

    def __init__(self) -> None:
        self._stack: list[_Ignore] = []

    def ignored(self, rel: str, is_dir: bool) -> bool:
        for ignore in reversed(self._stack):
            verdict = ignore.verdict(rel, is_dir)
            if verdict is not None:
                return verdict
        return False

    def push(self, dir_fd: int, base: str, name: str = ".gitignore") -> bool:
        lines = _read_small(dir_fd, name)
        if lines is None:
            return False
        import pathspec

        self._stack.append(_Ignore(base, pathspec.GitIgnoreSpec.from_lines(lines)))
        return True

    def pop(self) -> None:
        self._stack.pop()

    def add(self, lines: list[str] | None, rebase: Path) -> None:
        """An ancestor directory's patterns, for paths below `rebase` (relative to it)."""
        if lines:
            import pathspec

            spec = pathspec.GitIgnoreSpec.from_lines(lines)
            self._stack.append(_Ignore("", _Rebased(spec, "/".join(rebase.parts))))


def _read_small(dir_fd: int, name: str) -> list[str] | None:
    try:
        fh, _ = open_regular_at(dir_fd, name)
    except OSError:
        return None
    if fh is None:
        return None
    with fh:
        return fh.read(MAX_GITIGNORE_BYTES).decode("utf-8", "replace").splitlines()


def _ancestor_ignores(workspace: Workspace, start: Path, ignores: GitIgnores) -> None:
    """The repository's info/exclude and the .gitignore files between the root and the start
    apply to the walk too, matched on paths re-based from the start to their own directory.
    Pushed weakest first: the walk asks the deepest (last pushed) first."""
    root = workspace.root_of(start)
    assert root is not None
    chain = [root]
    for part in start.relative_to(root).parts:
        chain.append(chain[-1] / part)
    with workspace.open_dir(root) as fd:
        ignores.add(_read_small(fd, ".git/info/exclude"), start.relative_to(root))
    for directory in chain[:-1]:
        with workspace.open_dir(directory) as fd:
            ignores.add(_read_small(fd, ".gitignore"), start.relative_to(directory))


@dataclass(frozen=True, slots=True)
class _Rebased:
    """An ancestor's spec asked about a path relative to the walk's start."""

    spec: Any
    prefix: str

    def check_file(self, rel: str) -> Any:
        return self.spec.check_file(f"{self.prefix}/{rel}" if self.prefix else rel)


def walk(workspace: Workspace, start: Path, *, recursive: bool, use_gitignore: bool = True) -> Iterator[Entry]:
    """Entries under `start` (a resolved directory inside the workspace), sorted by name per
    directory, directories after the files of their parent when recursive."""
    ignores = GitIgnores()
    if use_gitignore:
        _ancestor_ignores(workspace, start, ignores)
    with workspace.open_dir(start) as fd:
        yield from _walk_dir(fd, "", ignores, recursive, use_gitignore)


def _walk_dir(fd: int, base: str, ignores: GitIgnores, recursive: bool, use_gitignore: bool) -> Iterator[Entry]:
    pushed = use_gitignore and ignores.push(fd, base)
    try:
        subdirs: list[str] = []
        for entry in sorted(_scan(fd), key=lambda e: e.name):
            rel = f"{base}/{entry.name}" if base else entry.name
            kind, size = _kind(entry)
            if use_gitignore and entry.name == ".git" and kind == "dir":
                continue
            if use_gitignore and ignores.ignored(rel, kind == "dir"):
                continue
            yield Entry(rel, entry.name, kind, size, fd)
            if kind == "dir" and recursive:
                subdirs.append(entry.name)
        for name in subdirs:
            try:
                child = os.open(name, DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue  # gone, unreadable, or swapped for a symlink since the scan
            try:
                yield from _walk_dir(child, f"{base}/{name}" if base else name, ignores, recursive, use_gitignore)
            finally:
                os.close(child)
    finally:
        if pushed:
            ignores.pop()


def _scan(fd: int) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(fd) as it:
            return list(it)
    except OSError:
        return []


def _kind(entry: os.DirEntry[str]) -> tuple[str, int]:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return "other", 0
    if stat.S_ISLNK(info.st_mode):
        return "link", 0
    if stat.S_ISDIR(info.st_mode):
        return "dir", 0
    if stat.S_ISREG(info.st_mode):
        return "file", info.st_size
    return "other", 0
