"""What went wrong with the database file, said as one line that names the file and what to do.

SQLite's own messages mislead users: a full disk often surfaces as "disk I/O error" (which reads as
corruption), a busy database as "database is locked". Every sqlite3 error that leaves the store is
turned into a StoreError here, by SQLite's primary result code and, for I/O errors, the free space
left on the file's disk.
"""

from __future__ import annotations

import os
import sqlite3
from enum import StrEnum
from pathlib import Path

from ..core.types import MesoclawFailure

# Below this much free space an I/O error is taken for a full disk (SQLite needs a few pages to write).
NEARLY_FULL_BYTES = 4 * 1024 * 1024

# SQLite's primary result codes (https://sqlite.org/rescode.html) that mean something to a user.
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 3, 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_AUTH, SQLITE_NOTADB = 11, 13, 14, 23, 26


class Problem(StrEnum):
    FULL = "full"
    BUSY = "busy"
    DAMAGED = "damaged"
    READONLY = "readonly"
    UNREADABLE = "unreadable"
    NEWER = "newer"
    FOREIGN = "foreign"
    IO = "io"
    OTHER = "other"


class StoreError(MesoclawFailure):
    """The database cannot be used as it is: one line naming the file and what to do (exit 1)."""

    def __init__(self, message: str, problem: Problem):
        super().__init__(message)
        self.problem = problem


def free_bytes(path: Path) -> int | None:
    """Free space (for an unprivileged user) on the disk holding `path`, or None if unknown."""
    folder = path if path.is_dir() else path.parent
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return None
    return stats.f_bavail * stats.f_frsize


def disk_full(path: Path) -> StoreError:
    free = free_bytes(path)
    left = f" ({free:,} bytes free)" if free is not None else ""
    return StoreError(f"the disk holding {path} is full{left}: free some space and try again "
                      "(nothing was half-written)", Problem.FULL)


def busy(path: Path, seconds: float) -> StoreError:
    return StoreError(f"{path} stayed locked by another process for {seconds:g} s: try again (a long import, "
                      "a backup or a stuck process may hold it)", Problem.BUSY)


def damaged(path: Path, detail: str) -> StoreError:
    return StoreError(f"{path} is damaged ({detail}): move it aside (mesoclaw then starts a new one) or restore a "
                      f"backup; `sqlite3 {path} .recover` may save what is readable", Problem.DAMAGED)


def describe(exc: sqlite3.Error, path: Path) -> StoreError:
    """The StoreError for an sqlite3 error raised while using the database at `path`."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == SQLITE_FULL:
        return disk_full(path)
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return busy(path, 0)
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return damaged(path, str(exc))
    if primary == SQLITE_READONLY:
        return StoreError(f"cannot write {path}: it is read-only (check the permissions of the file and of "
                          f"{path.parent}, and that the disk is not mounted read-only)", Problem.READONLY)
    if primary in (SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_AUTH):
        return StoreError(f"cannot open {path} ({exc}): it must be a file you can read and write, in a folder "
                          "you can write", Problem.UNREADABLE)
    if primary == SQLITE_IOERR:
        free = free_bytes(path)
        if free is not None and free < NEARLY_FULL_BYTES:
            return disk_full(path)
        return StoreError(f"disk I/O error on {path} ({exc}): check the disk and its free space (nothing was "
                          "half-written)", Problem.IO)
    return StoreError(f"database error on {path}: {exc}", Problem.OTHER)


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (any extended code): worth trying again shortly."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    text = str(exc)
    return "locked" in text or "busy" in text
