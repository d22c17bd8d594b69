"""The directories the built-in tools may touch, and file access that stays inside them.

A path is resolved (symlinks followed, `..` applied) and must land inside the working
directory or a directory the user allowed. Checking a path and then opening it leaves a gap
in which a directory could be swapped for a symlink, so files are opened from the root down,
one directory at a time, with O_NOFOLLOW: a component that turned into a symlink since the
check fails instead of leading outside. Writes go to a temporary file in the same directory,
renamed over the target, so they never follow a symlink or write through a hard link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer for ever.
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class PathDenied(Exception):
    """A path a tool may not use, or cannot: the message goes back to the model."""


@dataclass(frozen=True, slots=True)
class Workspace:
    """The working directory (where relative paths start and commands run) and extra roots."""

    root: Path
    extra: tuple[Path, ...] = ()

    @classmethod
    def create(cls, root: str | os.PathLike[str], extra: Sequence[str | os.PathLike[str]] = ()) -> Workspace:
        """Roots are resolved once, here, so a later symlink swap cannot move them."""
        resolved = [Path(os.path.realpath(os.path.expanduser(p))) for p in (root, *extra)]
        for path in resolved:
            if not path.is_dir():
                raise ValueError(f"{path} is not a directory")
        return cls(resolved[0], tuple(p for p in resolved[1:] if p != resolved[0]))

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.root, *self.extra)

    def describe(self) -> str:
        return ", ".join(str(r) for r in self.roots)

    def root_of(self, real: Path) -> Path | None:
        """The root a resolved path lies in; the longest wins when roots nest."""
        inside = [r for r in self.roots if real == r or real.is_relative_to(r)]
        return max(inside, key=lambda r: len(r.parts)) if inside else None

    def resolve(self, path: object) -> Path:
        """The real path for a tool's `path` argument, or PathDenied when it leads outside."""
        if not isinstance(path, str) or not path.strip():
            raise PathDenied("path must be a non-empty string")
        if "\0" in path:
            raise PathDenied("path contains a NUL character")
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        real = Path(os.path.realpath(candidate))
        if self.root_of(real) is None:
            raise PathDenied(f"{path} is outside the allowed directories ({self.describe()})")
        return real

    def show(self, real: Path) -> str:
        """A resolved path as the user and the model read it: relative to the root when inside."""
        if real == self.root:
            return "."
        return str(real.relative_to(self.root)) if real.is_relative_to(self.root) else str(real)

    def _walk_down(self, real_dir: Path, *, create: bool = False) -> int:
        """An fd of `real_dir`, reached from its root without following any symlink."""
        root = self.root_of(real_dir)
        if root is None:
            raise PathDenied(f"{real_dir} is outside the allowed directories ({self.describe()})")
        fd = os.open(root, DIR_FLAGS)
        try:
            for part in real_dir.relative_to(root).parts:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o777, dir_fd=fd)
                next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = next_fd
        except OSError as exc:
            os.close(fd)
            raise _denied(real_dir, exc) from None
        return fd

    @contextlib.contextmanager
    def open_dir(self, real_dir: Path) -> Iterator[int]:
        fd = self._walk_down(real_dir)
        try:
            yield fd
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def open_regular(self, real: Path) -> Iterator[tuple[BinaryIO, os.stat_result]]:
        """A regular file inside a root, opened for reading; devices, FIFOs and directories refused."""
        with self.open_dir(real.parent) as dir_fd:
            try:
                fh, info = open_regular_at(dir_fd, real.name)
            except OSError as exc:
                raise _denied(real, exc) from None
        if fh is None:
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise PathDenied(f"{self.show(real)} is {kind}")
        with fh:
            yield fh, info

    def read_bytes(self, real: Path, limit: int) -> bytes:
        """The whole file, refused when it is larger than `limit` bytes."""
        with self.open_regular(real) as (fh, info):
            if info.st_size > limit:
                raise PathDenied(f"{self.show(real)} is {info.st_size:,} bytes, over the {limit:,}-byte limit")
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise PathDenied(f"{self.show(real)} is over the {limit:,}-byte limit")
        return data

    def existing_mode(self, real: Path) -> int | None:
        """The permission bits of an existing regular file, None when there is none."""
        try:
            with self.open_dir(real.parent) as dir_fd:
                info = os.stat(real.name, dir_fd=dir_fd, follow_symlinks=False)
        except (PathDenied, FileNotFoundError):
            return None
        if stat.S_ISDIR(info.st_mode):
            raise PathDenied(f"{self.show(real)} is a directory")
        return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None

    def write_bytes(self, real: Path, data: bytes) -> None:
        """Replace (or create) a file atomically; missing parent directories are created."""
        if real == self.root_of(real):
            raise PathDenied(f"{self.show(real)} is a directory")
        mode = self.existing_mode(real)
        dir_fd = self._walk_down(real.parent, create=True)
        tmp = f".{real.name[:100]}.{secrets.token_hex(4)}.mesoclaw-tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                         0o666 if mode is None else mode, dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                if mode is not None:
                    os.chmod(tmp, mode, dir_fd=dir_fd)  # the umask may have narrowed the open()
                os.replace(tmp, real.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)
                raise
        except OSError as exc:
            raise _denied(real, exc) from None
        finally:
            os.close(dir_fd)


def open_regular_at(dir_fd: int, name: str) -> tuple[BinaryIO | None, os.stat_result]:
    """`name` in the directory `dir_fd`, opened for reading without following a symlink; the
    file is None (and nothing left open) when it is not a regular file. OSError passes up."""
    fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return None, info
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb"), info


def _denied(path: Path, exc: OSError) -> PathDenied:
    if exc.errno in (errno.ELOOP, errno.EMLINK):
        return PathDenied(f"{path}: a symlink appeared in the path while it was in use")
    if exc.errno == errno.ENOENT:
        return PathDenied(f"{path} does not exist")
    if exc.errno == errno.ENOTDIR:
        # O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR, not ELOOP
        return PathDenied(f"{path}: a part of the path is not a directory (or is a symlink)")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return PathDenied(f"{path}: permission denied")
    if exc.errno == errno.EISDIR:
        return PathDenied(f"{path} is a directory")
    return PathDenied(f"{path}: {exc.strerror or exc}")
