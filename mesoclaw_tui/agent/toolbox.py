"""One run's tools, put together the same way by every face: the built-ins confined to the
working directory (and config's `paths`), the MCP servers' tools, and the approval rules
from config and flags."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.types import MesoclawError
from .approval import ApprovalPolicy, ApprovalRules, Approver, allow_patterns_problem
from .builtin import ToolLimits, builtin_tools
from .config import AgentConfig
from .executor import ToolExecutor
from .mcp_client import McpManager
from .registry import ToolRegistry
from .workspace import Workspace


async def prepare_tools(cwd: str | os.PathLike[str], config: AgentConfig, *, mcp: McpManager | None = None,
                        approver: Approver | None = None, approve_all: bool = False,
                        allow_tools: Sequence[str] = (), limits: ToolLimits | None = None,
                        secret_envs: Iterable[str] = ()) -> ToolExecutor:
    """The executor a run hands the model's calls to.

    `approver` is the face's prompt, None where nobody can answer (no terminal, a scheduled
    job): then only reads and what the rules allow run. `allow_tools` are --allow names,
    added to config's `allow_tools`. `secret_envs` are more variables commands must not see
    (a config's api_key_env names). Starts the MCP servers if they are not running yet.
    Raises MesoclawError for a bad `paths` entry or an --allow name that names no tool.
    """
    workspace = _workspace(cwd, config.paths)
    registry = ToolRegistry(builtin_tools(workspace, limits, secret_envs=secret_envs))
    servers: list[str] = []
    if mcp is not None:
        await mcp.add_tools_to(registry)
        servers = [status.name for status in mcp.status()]
    allowed = (*config.allow_tools, *allow_tools)
    _check_allow(allowed, registry, servers)
    rules = ApprovalRules.build(allow_commands=config.allow_commands, allow_tools=allowed,
                                approve_all=approve_all,
                                trusted_read_only_servers=mcp.trusted_read_only_servers() if mcp else ())
    return ToolExecutor(registry, ApprovalPolicy(rules), approver)


def _workspace(cwd: str | os.PathLike[str], paths: Sequence[str]) -> Workspace:
    for path in paths:
        if not Path(os.path.expanduser(path)).is_dir():
            raise MesoclawError(f"[agent] paths: {path} is not a directory")
    try:
        return Workspace.create(cwd, list(paths))
    except ValueError as exc:
        raise MesoclawError(str(exc)) from None


def _check_allow(patterns: Sequence[str], registry: ToolRegistry, servers: Sequence[str]) -> None:
    """An --allow name must name a tool; one of a configured server that is not running now
    (failed, disabled) is kept, since its tools cannot be known."""
    unknown_server_tools = [p for p in patterns if p.split(".", 1)[0] not in servers or "." not in p]
    problem = allow_patterns_problem(unknown_server_tools, [s.display_name for s in registry.specs()])
    if problem:
        raise MesoclawError(problem)
