"""Exit codes and the one-line error contract, without click (the bare `mesoclaw` path uses them too).

Errors become one line on stderr and an exit code that means something: 2 for bad input (nothing
changed), 1 for other failures, 130 for Ctrl+C. Never a traceback.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_NO_PROVIDER, EXIT_ALL_FAILED = 3, 4


class ExitCode(Exception):
    """Leave with this code after the command has printed what it had to say."""

    def __init__(self, code: int, message: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message


def say(message: str) -> None:
    """One line on stderr; its text may come from outside (a provider's error, a file), so its control
    characters are made visible, and a URL in it never shows its password (an error may quote a base URL)."""
    from ..core.text import neutralise

    if "@" in message:
        from ..settings import mask_url_passwords

        message = mask_url_passwords(message)
    sys.stderr.write(f"mesoclaw: {neutralise(message)}\n")
    sys.stderr.flush()


def exit_code_for(exc: BaseException) -> int:
    """The exit code of an error that ended a command, after saying it in one line."""
    from ..core.types import MesoclawError, MesoclawFailure

    if isinstance(exc, ExitCode):
        if exc.message:
            say(exc.message)
        return exc.code
    if isinstance(exc, BrokenPipeError):
        return EXIT_OK
    if isinstance(exc, KeyboardInterrupt):
        say("interrupted")
        return EXIT_INTERRUPTED
    if isinstance(exc, MesoclawError):
        say(str(exc))
        return EXIT_USAGE
    if isinstance(exc, MesoclawFailure):
        say(str(exc))
        return EXIT_FAILURE
    say(f"unexpected error: {type(exc).__name__}: {exc}")  # the promise: never a traceback to a user
    return EXIT_FAILURE
