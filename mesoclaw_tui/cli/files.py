"""Reading a file a command was given, bounded: an import file (or stdin) is read up to a limit and
refused above it, never read whole."""

from __future__ import annotations

import sys

from ..core.types import MesoclawError


def read_bounded(file: str, limit: int, kind: str) -> bytes:
    """At most `limit` bytes of FILE (`-`: stdin); a missing file, a folder or an unreadable file is one
    line naming it. `kind` says what the file should have been ("a conversation file")."""
    try:
        if file == "-":
            buffer = getattr(sys.stdin, "buffer", None)
            return buffer.read(limit) if buffer is not None else sys.stdin.read(limit).encode("utf-8")
        with open(file, "rb") as fh:
            return fh.read(limit)
    except FileNotFoundError:
        raise MesoclawError(f"no such file: {file}") from None
    except IsADirectoryError:
        raise MesoclawError(f"{file} is a directory, not {kind}") from None
    except OSError as exc:
        raise MesoclawError(f"cannot read {file}: {exc.strerror}") from None
