"""Errors become notifications, never tracebacks.

`guarded` wraps a handler or worker body: a MesoclawError or MesoclawFailure (bad input, a provider
or database problem) becomes a notification with its message; anything else becomes a notification
too, with the traceback written to tui-errors.log. The app keeps running either way.
"""

from __future__ import annotations

import asyncio
import functools
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

if TYPE_CHECKING:
    from textual.dom import DOMNode

P = ParamSpec("P")
R = TypeVar("R")
N = TypeVar("N", bound="DOMNode")

LOG_NAME = "tui-errors.log"


def log_path(app: Any) -> Path | None:
    service = getattr(app, "service", None)
    return service.settings.paths.data_dir / LOG_NAME if service is not None else None


def write_log(app: Any, error: BaseException) -> Path | None:
    path = log_path(app)
    if path is None:
        return None
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(error)) + "\n")
    except OSError:
        return None
    return path


def report(app: Any, error: BaseException, title: str = "Error") -> None:
    from ..core.types import MesoclawError, MesoclawFailure

    if isinstance(error, MesoclawError | MesoclawFailure):
        app.notify(str(error), title=title, severity="error", timeout=8)
        return
    app.unexpected_errors.append(error)
    path = write_log(app, error)
    where = f" (details in {path})" if path else ""
    app.notify(f"{type(error).__name__}: {error}{where}", title="Unexpected error", severity="error", timeout=10)


def guarded(func: Callable[Concatenate[N, P], Awaitable[R]]) -> Callable[Concatenate[N, P], Awaitable[R | None]]:
    """For async methods of widgets and screens (node.app is the app)."""

    @functools.wraps(func)
    async def wrapper(node: N, *args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return await func(node, *args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            report(node.app, exc)
            return None

    return wrapper


def open_failure(error: BaseException) -> tuple[str, str]:
    """Why the app could not open its service, as (toast title, sentence): config.toml's problem
    names the file and the line, and is not called a database problem."""
    from ..settings import ConfigFileError, ConfigFileUnreadable

    if isinstance(error, ConfigFileError | ConfigFileUnreadable):
        return "config.toml is not valid", f"Cannot use config.toml: {error}. Fix it and start mesoclaw again."
    return "Cannot open mesoclaw's database", f"Cannot open the database: {error}"
