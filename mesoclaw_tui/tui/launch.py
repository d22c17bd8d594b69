"""`mesoclaw` with no subcommand: run the full-screen app."""

from __future__ import annotations

import sys


def launch(db: str | None) -> None:
    """Run the app on the terminal. A failure ends as one line on stderr (the CLI's contract)."""
    from ..core.types import MesoclawError, MesoclawFailure

    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise MesoclawError("the app needs a terminal; for scripts use `mesoclaw ask` or `mesoclaw router …`")
    from .app import MesoclawApp

    app = MesoclawApp(db)
    app.run()
    if app.unexpected_errors:
        error = app.unexpected_errors[-1]
        where = f" (details in {app.crash_log})" if app.crash_log else ""
        raise MesoclawFailure(f"the app stopped on an unexpected error: {type(error).__name__}: {error}{where}")
    if app.open_error:
        raise MesoclawFailure(app.open_error)
