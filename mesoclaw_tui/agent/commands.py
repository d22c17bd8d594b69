"""Command lines as the model sends them (an argv list or a shell string), and allowlist rules.

An allowlist rule such as `git status` is a prefix of argv *tokens*: `git status --short`
matches, `git statusx` and `git stash` do not. A shell string matches only when it contains
nothing the shell would treat as more than one plain command (`;`, `&&`, `|`, redirections,
`$(…)`, backquotes, newlines…), so `git status; rm -rf ~` never passes a rule.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# Anything that lets a shell string run more than the one command its words name, or
# redirect it: separators, pipes, substitutions, redirections, escapes, line breaks.
SHELL_OPERATORS = re.compile(r"[;&|<>()`$\\\n\r\x00]")


@dataclass(frozen=True, slots=True)
class CommandLine:
    """One command to run: `argv` (no shell) or `shell` (run by /bin/sh -c), never both."""

    argv: tuple[str, ...] = ()
    shell: str | None = None

    @property
    def display(self) -> str:
        return self.shell if self.shell is not None else shlex.join(self.argv)

    def tokens(self) -> tuple[str, ...] | None:
        """The words a prefix rule is matched against; None when no rule may match
        (a shell string with operators or unbalanced quotes)."""
        if self.shell is None:
            return self.argv
        if SHELL_OPERATORS.search(self.shell):
            return None
        try:
            return tuple(shlex.split(self.shell, comments=False, posix=True))
        except ValueError:
            return None


def command_from_arguments(arguments: Mapping[str, object]) -> CommandLine:
    """`{"argv": [...]}` or `{"command": "..."}`; ValueError (for the model) otherwise."""
    argv, shell = arguments.get("argv"), arguments.get("command")
    if (argv is None) == (shell is None):
        raise ValueError("give exactly one of `argv` (a list of strings) or `command` (a shell string)")
    if shell is not None:
        if not isinstance(shell, str) or not shell.strip():
            raise ValueError("`command` must be a non-empty string")
        if "\x00" in shell:
            raise ValueError("`command` contains a NUL character")
        return CommandLine(shell=shell)
    if (not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv)
            or not argv[0]):
        raise ValueError("`argv` must be a non-empty list of strings")
    if any("\x00" in a for a in argv):
        raise ValueError("`argv` contains a NUL character")
    return CommandLine(argv=tuple(argv))


def parse_prefix(rule: str) -> tuple[str, ...]:
    """A config allowlist entry ("git status", "pytest") as tokens; ValueError when unusable."""
    if not isinstance(rule, str) or SHELL_OPERATORS.search(rule):
        raise ValueError(f"command prefix {rule!r} must be plain words, without shell operators")
    try:
        tokens = tuple(shlex.split(rule))
    except ValueError as exc:
        raise ValueError(f"command prefix {rule!r}: {exc}") from None
    if not tokens:
        raise ValueError("a command prefix must name a program")
    return tokens


def matching_prefix(command: CommandLine, prefixes: Iterable[Sequence[str]]) -> tuple[str, ...] | None:
    """The first allowlist prefix the command's tokens start with, or None."""
    tokens = command.tokens()
    if not tokens:
        return None
    for prefix in prefixes:
        if len(prefix) <= len(tokens) and tuple(tokens[: len(prefix)]) == tuple(prefix):
            return tuple(prefix)
    return None
