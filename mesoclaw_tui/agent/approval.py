"""Who says yes to a tool call, and how.

The policy is pure: given a call's spec and arguments it rules ALLOW (a read inside the
allowed directories), ALLOW_RULE (--yes, --allow, a command allowlist prefix, an MCP server
whose read-only tools the user trusts), ALLOW_RUN (approved for the rest of this run), ASK
(a face's `Approver` decides) or DENY (nobody can approve: no terminal, a scheduled job).

Only the user's answers change what is approved for the run. A tool's output is data for the
model; nothing in it reaches the policy.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from .commands import CommandLine, command_from_arguments, matching_prefix, parse_prefix
from .tools import Effect, ToolSpec

RUN_COMMAND = "run_command"


class Decision(StrEnum):
    """A user's answer to one approval request."""

    APPROVE = "approve"
    APPROVE_ALWAYS = "approve_always"  # this call, and the same again for the rest of the run
    DENY = "deny"
    EDIT = "edit"  # run with the arguments the user edited


@dataclass(frozen=True, slots=True)
class ApprovalAnswer:
    decision: Decision
    arguments: Mapping[str, Any] | None = None  # the edited arguments, for EDIT
    reason: str = ""  # the user's words on a denial, passed to the model

    def __post_init__(self) -> None:
        if self.decision is Decision.EDIT and self.arguments is None:
            raise ValueError("an EDIT answer carries the edited arguments")


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What a face shows when it asks: the tool, the arguments, a summary line, the diff.

    Every string here comes from the model (or a file it names): a face neutralises control
    characters before it shows them.
    """

    call_id: str
    tool: ToolSpec
    arguments: Mapping[str, Any]
    summary: str  # "run: git push", "write src/app.py", "github.create_issue {...}"
    diff: str | None  # the unified diff a write or edit would make
    always_scope: str  # what APPROVE_ALWAYS covers: "this exact command", "every file write"


class Approver(Protocol):
    """Implemented by each face: a terminal prompt, the app's dialog, a test's script.

    A scheduled job has no approver: its allowlist (ApprovalRules) is all it gets.
    """

    async def ask(self, request: ApprovalRequest) -> ApprovalAnswer: ...


class Verdict(StrEnum):
    ALLOW = "allow"  # reads inside the allowed directories
    ALLOW_RULE = "allow_rule"  # --yes, --allow, a command prefix, a trusted read-only MCP tool
    ALLOW_RUN = "allow_run"  # the user approved the same earlier in this run
    ASK = "ask"
    DENY = "deny"  # needs approval and nobody can give it

    @property
    def runs_without_asking(self) -> bool:
        return self in (Verdict.ALLOW, Verdict.ALLOW_RULE, Verdict.ALLOW_RUN)


@dataclass(frozen=True, slots=True)
class Ruling:
    verdict: Verdict
    reason: str  # why, for the transcript: "allowlisted: git status", "--yes"


@dataclass(frozen=True, slots=True)
class ApprovalRules:
    """The user's standing rules: config's command allowlist and trusted MCP servers, the
    CLI's --yes and --allow, a scheduled job's --allow list."""

    command_prefixes: tuple[tuple[str, ...], ...] = ()
    allow_tools: tuple[str, ...] = ()  # display names; "github.*" for every tool of a server
    approve_all: bool = False  # --yes
    trusted_read_only_servers: frozenset[str] = frozenset()  # auto_approve_read_only = true

    @classmethod
    def build(cls, *, allow_commands: Iterable[str] = (), allow_tools: Iterable[str] = (),
              approve_all: bool = False, trusted_read_only_servers: Iterable[str] = ()) -> ApprovalRules:
        """From config and flags; ValueError naming the bad prefix."""
        return cls(tuple(parse_prefix(rule) for rule in allow_commands), tuple(allow_tools), approve_all,
                   frozenset(trusted_read_only_servers))

    def allows_tool(self, spec: ToolSpec) -> str | None:
        for pattern in self.allow_tools:
            if pattern == spec.display_name or (
                    "*" in pattern and fnmatch.fnmatchcase(spec.display_name, pattern)):
                return pattern
        return None


def always_key(spec: ToolSpec, arguments: Mapping[str, Any]) -> tuple[str, ...]:
    """What one APPROVE_ALWAYS answer approves again: the exact command for run_command (any
    other command is asked again), the tool itself for file writes and MCP tools."""
    if spec.display_name == RUN_COMMAND:
        try:
            command = command_from_arguments(arguments)
        except ValueError:
            return (spec.display_name, "\0invalid")
        return (spec.display_name, "argv", *command.argv) if command.shell is None else (
            spec.display_name, "shell", command.shell)
    return (spec.display_name,)


def always_scope(spec: ToolSpec) -> str:
    if spec.display_name == RUN_COMMAND:
        return "this exact command, for the rest of this run"
    return f"every {spec.display_name} call, for the rest of this run"


@dataclass
class ApprovalPolicy:
    """The rules plus what the user approved during this run. One per run."""

    rules: ApprovalRules = field(default_factory=ApprovalRules)
    _approved: set[tuple[str, ...]] = field(default_factory=set)

    def decide(self, spec: ToolSpec, arguments: Mapping[str, Any], *, can_ask: bool) -> Ruling:
        """`can_ask`: a face with an Approver is attached (a terminal, the app's dialog)."""
        if spec.effect is Effect.READ:
            return Ruling(Verdict.ALLOW, "reads inside the allowed directories")
        if self.rules.approve_all:
            return Ruling(Verdict.ALLOW_RULE, "--yes")
        pattern = self.rules.allows_tool(spec)
        if pattern:
            return Ruling(Verdict.ALLOW_RULE, f"--allow {pattern}")
        prefix = self._command_prefix(spec, arguments)
        if prefix:
            return Ruling(Verdict.ALLOW_RULE, "allowlisted: " + " ".join(prefix))
        if (spec.server is not None and spec.read_only_hint
                and spec.server in self.rules.trusted_read_only_servers):
            return Ruling(Verdict.ALLOW_RULE, f"read-only tool of {spec.server} (auto_approve_read_only)")
        if always_key(spec, arguments) in self._approved:
            return Ruling(Verdict.ALLOW_RUN, "approved for this run")
        if can_ask:
            return Ruling(Verdict.ASK, "needs approval")
        return Ruling(Verdict.DENY, "needs approval and nobody can approve here")

    def remember(self, spec: ToolSpec, arguments: Mapping[str, Any]) -> None:
        """The user answered APPROVE_ALWAYS: the same call runs without asking from now on."""
        self._approved.add(always_key(spec, arguments))

    def _command_prefix(self, spec: ToolSpec, arguments: Mapping[str, Any]) -> tuple[str, ...] | None:
        if spec.display_name != RUN_COMMAND or spec.server is not None or not self.rules.command_prefixes:
            return None
        try:
            command: CommandLine = command_from_arguments(arguments)
        except ValueError:
            return None
        return matching_prefix(command, self.rules.command_prefixes)


def denial_text(spec: ToolSpec, ruling_or_answer: Ruling | ApprovalAnswer) -> str:
    """What the model is told when a call was not run."""
    if isinstance(ruling_or_answer, ApprovalAnswer):
        why = f" They said: {ruling_or_answer.reason}" if ruling_or_answer.reason else ""
        return (f"Not run: the user denied this {spec.display_name} call.{why} "
                "Do not repeat it; continue another way or say what you need.")
    return (f"Not run: {spec.display_name} needs the user's approval and nobody can approve it in this "
            f"session (no terminal). The user can allow it with --yes or --allow {spec.display_name}. "
            "Do not retry; continue without it or say what you need.")


def allow_patterns_problem(patterns: Sequence[str], known: Iterable[str]) -> str | None:
    """An --allow name that matches no tool, for a face's one-line error (None when all match)."""
    names = list(known)
    for pattern in patterns:
        if not any(pattern == n or ("*" in pattern and fnmatch.fnmatchcase(n, pattern)) for n in names):
            return f"--allow {pattern}: no such tool (choose from: {', '.join(sorted(names))})"
    return None
