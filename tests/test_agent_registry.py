"""Tool names on the wire, the definitions the model gets, and calls checked before they run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mesoclaw_tui.agent.builtin import BUILTIN_NAMES, builtin_tools
from mesoclaw_tui.agent.executor import CallStatus, ToolExecutor
from mesoclaw_tui.agent.registry import ToolRegistry
from mesoclaw_tui.agent.tools import WIRE_NAME, Effect, ToolPreview, ToolResult, ToolSpec, mcp_wire_name
from mesoclaw_tui.agent.workspace import Workspace

from .conftest import REPO


def test_mcp_wire_names_are_safe_deterministic_and_distinct() -> None:
    assert mcp_wire_name("github", "create_issue") == "github__create_issue"
    dotted = mcp_wire_name("docs", "search.pages")
    assert WIRE_NAME.fullmatch(dotted) and dotted.startswith("docs__search_pages_")
    assert dotted == mcp_wire_name("docs", "search.pages")  # the same every run
    assert dotted != mcp_wire_name("docs", "search/pages")  # both clean to search_pages
    long = mcp_wire_name("a-server-name-of-32-characters-x", "t" * 200)
    assert len(long) <= 64 and WIRE_NAME.fullmatch(long)
    assert mcp_wire_name("a-server-name-of-32-characters-x", "t" * 199) != long
    first = mcp_wire_name("s", "x.y")
    assert mcp_wire_name("s", "x.y", taken={first}) != first


def test_definitions_are_openai_function_tools(tmp_path: Path) -> None:
    registry = ToolRegistry(builtin_tools(Workspace.create(tmp_path)))
    definitions = registry.definitions()
    assert [d["function"]["name"] for d in definitions] == list(BUILTIN_NAMES)
    read = definitions[0]
    assert read["type"] == "function" and read["function"]["parameters"]["required"] == ["path"]
    json.dumps(definitions)  # plain JSON all the way down


class Boom:
    spec = ToolSpec("boom", "boom", "Raises.", {"type": "object", "properties": {}}, Effect.READ)

    async def preview(self, arguments: dict[str, Any]) -> ToolPreview:
        return ToolPreview("boom")

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        raise RuntimeError("a bug in the tool")


class BrokenSchema:
    spec = ToolSpec("loose", "loose", "Its schema is not a schema.", {"type": "object", "properties": 5},
                    Effect.READ)

    async def preview(self, arguments: dict[str, Any]) -> ToolPreview:
        return ToolPreview("loose")

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return ToolResult(f"got {arguments}")


async def test_bad_calls_come_back_as_errors_the_model_can_read(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hi\n")
    registry = ToolRegistry([*builtin_tools(Workspace.create(tmp_path)), Boom(), BrokenSchema()])
    run = ToolExecutor(registry)
    unknown = await run.execute("rm_rf", {})
    assert unknown.status is CallStatus.INVALID and "unknown tool 'rm_rf'" in unknown.result.text
    assert "read_file" in unknown.result.text
    not_json = await run.execute("read_file", '{"path": "a.txt"')
    assert not_json.status is CallStatus.INVALID and "not valid JSON" in not_json.result.text
    not_object = await run.execute("read_file", "[1, 2]")
    assert "must be a JSON object" in not_object.result.text
    wrong = await run.execute("read_file", {"path": 7, "start_line": 0})
    assert wrong.status is CallStatus.INVALID
    assert "path: 7 is not of type 'string'" in wrong.result.text and "start_line" in wrong.result.text
    streamed = await run.execute("read_file", '{"path": "a.txt"}')
    assert streamed.status is CallStatus.RAN and "hi" in streamed.result.text
    crash = await run.execute("boom", "")
    assert crash.status is CallStatus.RAN and crash.result.is_error
    assert crash.result.text == "boom failed: RuntimeError: a bug in the tool"
    loose = await run.execute("loose", {"anything": 1})
    assert loose.result.text == "got {'anything': 1}"


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    registry = ToolRegistry([Boom()])
    with pytest.raises(ValueError, match="boom"):
        registry.add(Boom())


def test_headless_commands_import_nothing_of_the_agent(isolated_env: Path) -> None:
    code = textwrap.dedent("""
        import sys
        from mesoclaw_tui.cli.main import main
        assert main(["router", "status"]) == 0
        heavy = ("mcp", "jsonschema", "regex", "pathspec")
        print(sorted(m for m in sys.modules if m.startswith("mesoclaw_tui.agent") or m in heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_the_agent_modules_import_their_heavy_libraries_only_when_used() -> None:
    code = textwrap.dedent("""
        import sys
        import mesoclaw_tui.agent.approval, mesoclaw_tui.agent.config, mesoclaw_tui.agent.executor
        import mesoclaw_tui.agent.mcp_client, mesoclaw_tui.agent.builtin
        print(sorted(m for m in ("mcp", "jsonschema", "regex", "pathspec", "textual", "httpx") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "[]"
