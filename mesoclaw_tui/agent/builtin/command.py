"""run_command: one process (argv, or a line for /bin/sh) in the working directory.

The process runs in its own session (no controlling terminal, so nothing can prompt on the
user's screen), with stdin closed, without the provider API keys in its environment, under a
timeout; on timeout or cancellation its whole process group is killed, and so is anything
it left running in the group when it exits. Output is capped: the head and the tail are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...core.provider_info import PROVIDERS
from ..commands import CommandLine, command_from_arguments
from ..tools import CommandRun, Effect, ToolPreview, ToolResult, ToolSpec
from .base import BuiltinTool, schema

READ_CHUNK = 65536
OUTPUT_DRAIN_SECONDS = 1.0  # after the group is gone, how long a pipe held elsewhere may stay open


def secret_env_names(extra: Iterable[str] = ()) -> frozenset[str]:
    """The provider API key variables (and any the user's config names) a command never sees."""
    names = {name for info in PROVIDERS.values() for name in info.key_envs}
    return frozenset(names | {"OLLAMA_API_KEY"} | set(extra))


def command_environment(environ: Mapping[str, str], drop: Iterable[str]) -> dict[str, str]:
    dropped = set(drop)
    env = {k: v for k, v in environ.items() if k not in dropped}
    # Nothing may wait for a terminal: there is none (stdin is closed, no controlling tty).
    env.update(GIT_TERMINAL_PROMPT="0", PAGER="cat", GIT_PAGER="cat")
    return env


@dataclass
class _Output:
    """Head and tail of a stream, at most `cap` bytes in all; the middle is counted, not kept."""

    cap: int
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap // 2 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            del self.tail[: max(0, len(self.tail) - self.cap // 2)]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        if not self.truncated:
            return (self.head + self.tail).decode("utf-8", "replace")
        left_out = self.total - len(self.head) - len(self.tail)
        return f"{head}\n[… {left_out:,} bytes of output left out …]\n{self.tail.decode('utf-8', 'replace')}"


@dataclass
class RunCommand(BuiltinTool):
    SPEC = ToolSpec(
        "run_command", "run_command",
        "Run a command in the working directory and return its exit code and output (stdout and "
        "stderr together; long output keeps its beginning and end). Give `argv` (program and "
        "arguments, no shell) or `command` (a line for /bin/sh). No terminal: stdin is empty and "
        "nothing can prompt. Needs the user's approval unless allowlisted.",
        schema({"argv": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                         "description": "Program and arguments, run without a shell"},
                "command": {"type": "string", "description": "A shell command line, run with /bin/sh -c"},
                "timeout": {"type": "number", "exclusiveMinimum": 0,
                            "description": "Seconds before the command is killed"}}, []),
        Effect.COMMAND)

    secret_envs: frozenset[str] = field(default_factory=secret_env_names)

    async def preview(self, arguments: dict[str, Any]) -> ToolPreview:
        try:
            command = command_from_arguments(arguments)
        except ValueError as exc:
            return ToolPreview(summary="run_command", error=str(exc))
        return ToolPreview(summary=f"run: {command.display}")

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        try:
            command = command_from_arguments(arguments)
        except ValueError as exc:
            return ToolResult.error(str(exc))
        timeout = min(float(arguments.get("timeout") or self.limits.command_timeout),
                      self.limits.command_max_timeout)
        argv = command.argv if command.shell is None else ("/bin/sh", "-c", command.shell)
        started = time.perf_counter()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=self.workspace.root, env=command_environment(os.environ, self.secret_envs),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            return ToolResult.error(f"could not start {argv[0]!r}: {exc.strerror or exc}")
        output = _Output(self.limits.command_output_bytes)
        exit_code, timed_out = await self._supervise(proc, output, timeout)
        return _result(command, exit_code, timed_out, output, timeout, time.perf_counter() - started)

    async def _supervise(self, proc: asyncio.subprocess.Process, output: _Output,
                         timeout: float) -> tuple[int | None, bool]:
        reader = asyncio.ensure_future(_pump(proc, output))
        timed_out = False
        try:
            try:
                await asyncio.wait_for(_exited(proc), timeout)
            except TimeoutError:
                timed_out = True
                await _kill_group(proc, self.limits.command_kill_grace)
        except BaseException:  # cancelled (the user stopped the run): nothing stays behind
            _signal_group(proc.pid, signal.SIGKILL)
            reader.cancel()
            raise
        finally:
            _signal_group(proc.pid, signal.SIGKILL)  # what it left running in its group
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(reader), OUTPUT_DRAIN_SECONDS)
        reader.cancel()
        return (None if timed_out else proc.returncode), timed_out


async def _pump(proc: asyncio.subprocess.Process, output: _Output) -> None:
    assert proc.stdout is not None
    while chunk := await proc.stdout.read(READ_CHUNK):
        output.add(chunk)


async def _exited(proc: asyncio.subprocess.Process) -> None:
    """Until the process itself exits; some Pythons' wait() also waits for its pipes to close,
    which a background child may hold open for ever."""
    waiter = asyncio.ensure_future(proc.wait())
    try:
        while proc.returncode is None and not waiter.done():
            await asyncio.wait({waiter}, timeout=0.05)
    finally:
        waiter.cancel()


def _signal_group(pgid: int, sig: int) -> bool:
    """Signal the process group the command leads; False when it is gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _kill_group(proc: asyncio.subprocess.Process, grace: float) -> None:
    if not _signal_group(proc.pid, signal.SIGTERM):
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_exited(proc), grace)
    _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_exited(proc), grace)


def _result(command: CommandLine, exit_code: int | None, timed_out: bool, output: _Output,
            timeout: float, seconds: float) -> ToolResult:
    text = output.text() or "(no output)"
    detail = CommandRun(command.display, exit_code, timed_out, output.truncated, seconds)
    if timed_out:
        return ToolResult(f"timed out after {timeout:g} s; the command and its process group were killed\n{text}",
                          is_error=True, detail=detail)
    status = f"exit code {exit_code}" if exit_code is not None and exit_code >= 0 else (
        f"killed by signal {-(exit_code or 0)}")
    return ToolResult(f"{status}\n{text}", detail=detail)
