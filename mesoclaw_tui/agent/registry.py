"""The tools of one run: their definitions for the model, and a call checked before it runs.

A bad call (unknown name, arguments that are not JSON or do not fit the schema) is answered
with an error result the model can read and correct; it never ends the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .tools import Tool, ToolResult, ToolSpec

MAX_SCHEMA_ERRORS = 3


@dataclass(frozen=True, slots=True)
class CheckedCall:
    tool: Tool
    arguments: dict[str, Any]


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._validators: dict[str, Any] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        spec = tool.spec
        if spec.wire_name in self._tools:
            raise ValueError(f"two tools are named {spec.wire_name!r} on the wire")
        if any(t.spec.display_name == spec.display_name for t in self._tools.values()):
            raise ValueError(f"two tools are named {spec.display_name!r}")
        self._tools[spec.wire_name] = tool

    def remove_server(self, server: str) -> None:
        """Leave out an MCP server's tools (it failed or died)."""
        for wire in [w for w, t in self._tools.items() if t.spec.server == server]:
            del self._tools[wire]
            self._validators.pop(wire, None)

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __contains__(self, wire_name: object) -> bool:
        return wire_name in self._tools

    def get(self, wire_name: str) -> Tool | None:
        return self._tools.get(wire_name)

    def by_display_name(self, display_name: str) -> Tool | None:
        return next((t for t in self._tools.values() if t.spec.display_name == display_name), None)

    def specs(self) -> list[ToolSpec]:
        return [t.spec for t in self._tools.values()]

    def wire_names(self) -> set[str]:
        return set(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        """Every tool as an OpenAI chat-completions function definition."""
        return [t.spec.definition() for t in self._tools.values()]

    def check(self, wire_name: str, raw_arguments: str | Mapping[str, Any] | None) -> CheckedCall | ToolResult:
        """The tool and its parsed, schema-valid arguments, or an error result for the model."""
        tool = self._tools.get(wire_name)
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            return ToolResult.error(f"unknown tool {wire_name!r} (available: {known})")
        arguments = parse_arguments(raw_arguments)
        if isinstance(arguments, ToolResult):
            return arguments
        problem = self.schema_problem(tool.spec, arguments)
        if problem:
            return ToolResult.error(f"invalid arguments for {tool.spec.display_name}: {problem}")
        return CheckedCall(tool, arguments)

    def schema_problem(self, spec: ToolSpec, arguments: Mapping[str, Any]) -> str | None:
        """What is wrong with arguments for `spec`, None when they fit its schema."""
        validator = self._validator(spec)
        if validator is None:
            return None
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
        if not errors:
            return None
        lines = [(("/".join(str(p) for p in e.absolute_path) + ": ") if e.absolute_path else "") + e.message
                 for e in errors[:MAX_SCHEMA_ERRORS]]
        more = f" (and {len(errors) - MAX_SCHEMA_ERRORS} more)" if len(errors) > MAX_SCHEMA_ERRORS else ""
        return "; ".join(lines) + more

    def _validator(self, spec: ToolSpec) -> Any:
        if spec.wire_name not in self._validators:
            self._validators[spec.wire_name] = _make_validator(spec.parameters)
        return self._validators[spec.wire_name]


def _make_validator(schema: Mapping[str, Any]) -> Any:
    """A jsonschema validator, or None when the schema itself is broken (an MCP server's
    mistake): then the server checks its own arguments."""
    from jsonschema import exceptions, validators

    try:
        cls = validators.validator_for(schema)
        cls.check_schema(schema)
    except (exceptions.SchemaError, TypeError):
        return None
    return cls(schema)


def parse_arguments(raw: str | Mapping[str, Any] | None) -> dict[str, Any] | ToolResult:
    """A model's arguments (JSON text as streamed, or already parsed) as a dict."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        return ToolResult.error(f"arguments are not valid JSON ({exc}); send one JSON object")
    if not isinstance(value, dict):
        return ToolResult.error(f"arguments must be a JSON object, not {type(value).__name__}")
    return value
