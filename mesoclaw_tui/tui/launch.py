"""`mesoclaw` with no subcommand: run the full-screen app."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import MesoclawApp


def launch(db: str | None) -> None:
    """Run the app on the terminal. A failure ends as one line on stderr (the CLI's contract)."""
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        from ..core.types import MesoclawError

        raise MesoclawError("the app needs a terminal; for scripts use `mesoclaw ask` or `mesoclaw router …`")
    # Until the first frame is drawn nothing is garbage yet: everything imported and composed lives as
    # long as the app, so a collection at startup only scans it (about 10 ms of a ~300 ms first paint,
    # benchmarks/tui_first_paint.py). The app freezes those objects and collects again once its service
    # is open (MesoclawApp._open_service).
    gc.disable()
    from .app import MesoclawApp

    app = MesoclawApp(db, offer_setup=True)  # with no provider configured, the setup screen first
    app.run()
    raise_if_failed(app)


def raise_if_failed(app: MesoclawApp) -> None:
    """After the app has run: an error that ended it, or a database it could not open, as one line."""
    from ..core.types import MesoclawFailure

    if app.unexpected_errors:
        error = app.unexpected_errors[-1]
        where = f" (details in {app.crash_log})" if app.crash_log else ""
        raise MesoclawFailure(f"the app stopped on an unexpected error: {type(error).__name__}: {error}{where}")
    if app.open_error:
        raise MesoclawFailure(app.open_error)
