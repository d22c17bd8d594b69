"""The agent's tables of config.toml, validated: `[agent]` and `[mcp.servers.NAME]`.

Takes the plain dicts tomllib gives; every mistake is a MesoclawError naming the key and
what it accepts, so a face prints one line and exits 2.

    [agent]
    allow_commands = ["git status", "git diff", "pytest"]   # run without asking (argv prefixes)
    paths = ["~/notes"]                                       # more directories tools may use
    allow_tools = ["docs.search"]                             # run without asking
    max_steps = 20
    max_cost = 0.50                                           # USD per run
    timeout = 600                                             # seconds per run

    [mcp.servers.github]                                      # stdio: a command
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-github"]
    pass_env = ["GITHUB_TOKEN"]
    auto_approve_read_only = true

    [mcp.servers.docs]                                        # streamable HTTP: a URL
    url = "http://127.0.0.1:8931/mcp"
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.types import MesoclawError
from .commands import parse_prefix

if TYPE_CHECKING:
    from ..paths import Paths

# Letters first (Gemini), single "-"/"_" between parts: "__" on the wire always ends the server.
SERVER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*")
MAX_SERVER_NAME = 32
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
STDIO_KEYS = ("command", "args", "env", "pass_env", "cwd")
HTTP_KEYS = ("url", "headers")
COMMON_KEYS = ("auto_approve_read_only", "enabled", "startup_timeout", "tool_timeout")
AGENT_KEYS = ("allow_commands", "allow_tools", "paths", "max_steps", "max_cost", "timeout")


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    name: str
    command: str | None = None  # stdio
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold tokens
    pass_env: tuple[str, ...] = ()  # names copied from mesoclaw's own environment
    cwd: str | None = None
    url: str | None = None  # streamable HTTP
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    auto_approve_read_only: bool = False
    enabled: bool = True
    startup_timeout: float = 30.0
    tool_timeout: float = 120.0

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    @property
    def target(self) -> str:
        """What `mcp list` shows: the command line, or the URL without its password."""
        if self.command is not None:
            return shlex.join((self.command, *self.args))
        from ..settings import display_url

        return display_url(self.url or "")


@dataclass(frozen=True, slots=True)
class AgentConfig:
    allow_commands: tuple[str, ...] = ()
    allow_tools: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    max_steps: int = 20
    max_cost: float | None = None
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """The agent's settings from config.toml: `[agent]` and the MCP servers."""

    agent: AgentConfig = field(default_factory=AgentConfig)
    servers: Mapping[str, McpServerConfig] = field(default_factory=dict)


def load_agent_settings(paths: Paths) -> AgentSettings:
    """`[agent]` and `[mcp.servers.*]` of the config.toml at `paths`, validated: a mistake is a
    MesoclawError naming the file and the key."""
    from ..settings import config_tables

    source, (agent, mcp) = config_tables(paths, "agent", "mcp")
    return AgentSettings(parse_agent_table(agent, source), parse_mcp_servers(mcp, source))


def parse_agent_table(table: object, source: str = "config.toml") -> AgentConfig:
    if table is None:
        return AgentConfig()
    where = f"{source}: [agent]"
    data = _table(table, where, AGENT_KEYS)
    commands = _strings(data, "allow_commands", where)
    for rule in commands:
        try:
            parse_prefix(rule)
        except ValueError as exc:
            raise MesoclawError(f"{where} allow_commands: {exc}") from None
    steps = data.get("max_steps", 20)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 1000:
        raise MesoclawError(f"{where} max_steps must be a whole number from 1 to 1000")
    return AgentConfig(commands, _strings(data, "allow_tools", where), _strings(data, "paths", where), steps,
                       _positive(data, "max_cost", where), _positive(data, "timeout", where))


def parse_mcp_servers(table: object, source: str = "config.toml") -> dict[str, McpServerConfig]:
    """The `[mcp]` table (as tomllib returns it, or None) -> servers by name, in file order."""
    if table is None:
        return {}
    mcp = _table(table, f"{source}: [mcp]", ("servers",))
    servers = mcp.get("servers", {})
    if not isinstance(servers, dict):
        raise MesoclawError(f"{source}: [mcp.servers] must be a table of [mcp.servers.NAME] tables")
    return {name: _server(name, body, source) for name, body in servers.items()}


def _server(name: str, body: object, source: str) -> McpServerConfig:
    where = f"{source}: [mcp.servers.{name}]"
    if not SERVER_NAME.fullmatch(name) or len(name) > MAX_SERVER_NAME:
        raise MesoclawError(f"{where}: a server name is letters and digits, parts joined by single '-' or "
                            f"'_', starting with a letter, at most {MAX_SERVER_NAME} characters")
    data = _table(body, where, STDIO_KEYS + HTTP_KEYS + COMMON_KEYS)
    has_command, has_url = "command" in data, "url" in data
    if has_command == has_url:
        raise MesoclawError(f"{where} needs exactly one of command (a local server over stdio) "
                            "or url (streamable HTTP)")
    if has_command and any(k in data for k in HTTP_KEYS):
        raise MesoclawError(f"{where}: headers go with url, not command")
    if has_url and any(k in data for k in STDIO_KEYS):
        raise MesoclawError(f"{where}: {', '.join(STDIO_KEYS[1:])} go with command, not url")
    common = {"auto_approve_read_only": _bool(data, "auto_approve_read_only", where, False),
              "enabled": _bool(data, "enabled", where, True),
              "startup_timeout": _positive(data, "startup_timeout", where) or 30.0,
              "tool_timeout": _positive(data, "tool_timeout", where) or 120.0}
    if has_command:
        pass_env = _strings(data, "pass_env", where)
        bad = next((n for n in pass_env if not ENV_NAME.fullmatch(n)), None)
        if bad is not None:
            raise MesoclawError(f"{where} pass_env: {bad!r} is not an environment variable name")
        return McpServerConfig(name, command=_text(data, "command", where), args=_strings(data, "args", where),
                               env=_string_map(data, "env", where), pass_env=pass_env,
                               cwd=_text(data, "cwd", where) if "cwd" in data else None, **common)
    url = _text(data, "url", where)
    if not url.startswith(("http://", "https://")):
        raise MesoclawError(f"{where} url must start with http:// or https://")
    return McpServerConfig(name, url=url, headers=_string_map(data, "headers", where), **common)


def _table(value: object, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MesoclawError(f"{where} must be a table")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise MesoclawError(f"{where}: unknown key {unknown[0]!r} (valid keys: {', '.join(keys)})")
    return value


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise MesoclawError(f"{where} {key} must be a non-empty string")
    return value


def _strings(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and "\0" not in v for v in value):
        raise MesoclawError(f"{where} {key} must be a list of strings")
    return tuple(value)


def _string_map(data: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise MesoclawError(f"{where} {key} must be a table of strings")
    if any("\0" in k or "\0" in v or "\n" in v or "\r" in v for k, v in value.items()):
        raise MesoclawError(f"{where} {key}: values must not contain NUL or line breaks")
    return dict(value)


def _bool(data: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise MesoclawError(f"{where} {key} must be true or false")
    return value


def _positive(data: Mapping[str, Any], key: str, where: str) -> float | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise MesoclawError(f"{where} {key} must be a positive number")
    return float(value)
