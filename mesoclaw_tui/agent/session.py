"""One face's agent set-up, the same for the CLI, the app and scheduled jobs: config.toml's `[agent]`
and MCP servers, the run's tools and approval rules, and the loop that drives them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.agent_run import RunLimits
from .config import AgentSettings, load_agent_settings
from .loop import AgentLoop

if TYPE_CHECKING:
    from ..engine import Engine
    from ..service import RouterService
    from .approval import Approver
    from .executor import ToolExecutor
    from .mcp_client import McpEvent, McpManager


@dataclass
class AgentSession:
    settings: AgentSettings
    executor: ToolExecutor
    loop: AgentLoop
    mcp: McpManager | None
    own_mcp: bool  # started here, so stopped here

    def limits(self, max_steps: int | None = None, max_cost: float | None = None,
               timeout: float | None = None) -> RunLimits:
        """A face's flags over config's [agent] values over the defaults."""
        config = self.settings.agent
        return RunLimits(max_steps or config.max_steps, max_cost if max_cost is not None else config.max_cost,
                         timeout if timeout is not None else config.timeout)

    async def aclose(self) -> None:
        if self.own_mcp and self.mcp is not None:
            await self.mcp.aclose()


async def open_session(service: RouterService, engine: Engine, cwd: str | os.PathLike[str], *,
                       approver: Approver | None = None, approve_all: bool = False, allow: Sequence[str] = (),
                       settings: AgentSettings | None = None, mcp: McpManager | None = None,
                       servers: Iterable[str] | None = None,
                       on_mcp_event: Callable[[McpEvent], None] | None = None) -> AgentSession:
    """The session of one run (or, with a long-lived `mcp`, of one app): MesoclawError for a config
    mistake or an --allow name that names no tool. `servers` limits which MCP servers start (a
    scheduled job starts only those its allowlist can use); `approver` None means nobody is asked."""
    from .toolbox import prepare_tools

    settings = settings or load_agent_settings(service.settings.paths)
    own = mcp is None
    if own:
        wanted = {n: c for n, c in settings.servers.items() if servers is None or n in set(servers)}
        if wanted:
            from .mcp_client import McpManager

            mcp = McpManager(wanted, on_event=on_mcp_event)
    try:
        executor = await prepare_tools(cwd, settings.agent, mcp=mcp, approver=approver, approve_all=approve_all,
                                       allow_tools=allow, secret_envs=key_env_names(service))
    except BaseException:
        if own and mcp is not None:
            await mcp.aclose()
        raise
    loop = AgentLoop(engine, executor, workdir=str(executor_root(executor) or cwd))
    return AgentSession(settings, executor, loop, mcp, own and mcp is not None)


def key_env_names(service: RouterService) -> list[str]:
    """The variables the configured keys were read from: commands never see them."""
    return [s.key_source.removeprefix("env ") for s in service.settings.providers.values()
            if s.key_source.startswith("env ")]


def executor_root(executor: ToolExecutor) -> str | None:
    """The working directory the built-in tools are confined to (as resolved)."""
    tool = executor.registry.get("read_file")
    workspace = getattr(tool, "workspace", None)
    return str(workspace.root) if workspace is not None else None
