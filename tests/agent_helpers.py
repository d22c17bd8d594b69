"""Shared by the agent tests: a workspace with an outside neighbour, a scripted approver,
and a process check that counts a zombie as dead."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mesoclaw_tui.agent.approval import (
    ApprovalAnswer,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalRules,
    Decision,
)
from mesoclaw_tui.agent.builtin import ToolLimits, builtin_tools
from mesoclaw_tui.agent.executor import ToolExecutor
from mesoclaw_tui.agent.registry import ToolRegistry
from mesoclaw_tui.agent.workspace import Workspace


@dataclass
class Dirs:
    root: Path  # the working directory
    outside: Path  # a sibling directory the tools must never reach
    secret: Path  # a file in it

    def workspace(self, extra: Iterable[Path] = ()) -> Workspace:
        return Workspace.create(self.root, list(extra))


def make_dirs(tmp_path: Path) -> Dirs:
    root, outside = tmp_path / "work", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("TOP SECRET\n")
    return Dirs(root, outside, secret)


@dataclass
class ScriptedApprover:
    """Answers approval requests from a script, and keeps every request it was shown."""

    answers: list[ApprovalAnswer] = field(default_factory=list)
    requests: list[ApprovalRequest] = field(default_factory=list)

    async def ask(self, request: ApprovalRequest) -> ApprovalAnswer:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"asked about {request.summary} with no answer scripted")
        return self.answers.pop(0)


def answer(decision: Decision, **kw: object) -> ApprovalAnswer:
    return ApprovalAnswer(decision, **kw)  # type: ignore[arg-type]


def executor(workspace: Workspace, *, rules: ApprovalRules | None = None, approver: object = None,
             limits: ToolLimits | None = None) -> ToolExecutor:
    registry = ToolRegistry(builtin_tools(workspace, limits))
    return ToolExecutor(registry, ApprovalPolicy(rules or ApprovalRules()), approver)  # type: ignore[arg-type]


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie waiting for its reaper."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"
