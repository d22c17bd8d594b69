"""The built-in tools, bound to one run's workspace."""

from __future__ import annotations

from collections.abc import Iterable

from ..tools import Tool
from ..workspace import Workspace
from .base import ToolLimits
from .command import RunCommand, secret_env_names
from .editing import EditFile, WriteFile
from .reading import ListDir, ReadFile
from .search import Search

BUILTIN_NAMES = ("read_file", "list_dir", "search", "write_file", "edit_file", "run_command")


def builtin_tools(workspace: Workspace, limits: ToolLimits | None = None, *,
                  secret_envs: Iterable[str] = ()) -> list[Tool]:
    """Every built-in tool. `secret_envs`: environment variables commands must not see beyond
    the providers' own key variables (e.g. a config's api_key_env names)."""
    limits = limits or ToolLimits()
    return [ReadFile(workspace, limits), ListDir(workspace, limits), Search(workspace, limits),
            WriteFile(workspace, limits), EditFile(workspace, limits),
            RunCommand(workspace, limits, secret_env_names(secret_envs))]


__all__ = ["BUILTIN_NAMES", "ToolLimits", "builtin_tools"]
