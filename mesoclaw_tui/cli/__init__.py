"""The `mesoclaw` entry point. Imports nothing heavy at module level: headless commands start fast.

`mesoclaw` alone opens the app without loading click: the app's first frame waits for nothing it
does not draw. Everything else goes through the click commands in cli/main.py.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        from .main import main as run_command

        return run_command(args)
    from .exits import EXIT_OK, exit_code_for

    try:
        from ..tui.launch import launch

        launch(os.environ.get("MESOCLAW_DB") or None)  # what the root group's --db reads from the environment
    except (Exception, KeyboardInterrupt) as exc:
        return exit_code_for(exc)
    return EXIT_OK


def entry() -> None:
    sys.exit(main())
