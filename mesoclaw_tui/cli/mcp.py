"""`mesoclaw mcp list`: the MCP servers of config.toml, each started, its state and tools, then stopped."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from . import output as out
from .main import EXIT_FAILURE, ExitCode, json_option


@click.group()
def mcp() -> None:
    """MCP servers the agent can use ([mcp.servers.NAME] in config.toml; see docs/agents.md)."""


@mcp.command("list")
@json_option
@click.pass_context
def list_servers(ctx: click.Context, as_json: bool) -> None:
    """Start each configured server, show its state (running, failed, disabled) and its tools, stop it.

    Exit 1 when a server could not start.
    """
    from ..agent.config import load_agent_settings
    from ..agent.mcp_client import ServerState, list_servers
    from ..settings import resolve_paths

    servers = load_agent_settings(resolve_paths(ctx.find_root().params.get("db"))).servers
    statuses = asyncio.run(list_servers(servers)) if servers else []
    if as_json:
        out.emit_json([_as_dict(s) for s in statuses])
    elif not statuses:
        out.echo("no MCP servers configured: add [mcp.servers.NAME] to config.toml (see docs/agents.md)")
    else:
        _print(statuses)
    if any(s.state is ServerState.FAILED for s in statuses):
        raise ExitCode(EXIT_FAILURE)


def _as_dict(status: Any) -> dict[str, Any]:
    return {"name": status.name, "transport": status.transport, "target": status.target,
            "state": status.state.value, "error": status.error,
            "tools": [{"name": t.display_name, "wire_name": t.wire_name, "description": t.description,
                       "read_only": t.read_only_hint} for t in status.tools]}


def _print(statuses: list[Any]) -> None:
    console = out.console()
    styles = {"running": "green", "failed": "red", "died": "red", "disabled": "dim"}
    for status in statuses:
        console.print(out.markup("[bold]{}[/] ({} {}): ", status.name, status.transport, status.target)
                      + out.styled(status.state.value, styles.get(status.state.value, "")))
        if status.error:
            console.print(out.markup("  [red]{}[/]", status.error))
        for tool in status.tools:
            mark = " (read-only)" if tool.read_only_hint else ""
            description = " ".join((tool.description or "").split())[:80]
            console.print(out.markup("  {}{}  [dim]{}[/]", tool.display_name, mark, description))


def register(cli: click.Group) -> None:
    cli.add_command(mcp)
