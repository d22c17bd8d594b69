"""`mesoclaw agent GOAL`: a routed, tool-using run in the current directory. Progress (each step's
model and each call) goes to stderr, the answer to stdout; `--json` prints one line per step."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import click

from ..core.agent_run import RunEnd
from . import output as out
from .main import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, ExitCode

# The run stopped at its step, cost or time limit; the steps so far are kept.
EXIT_LIMIT = 6


@click.command()
@click.argument("goal", required=False)
@click.option("-a", "--attach", "attachments", multiple=True, metavar="PATH",
              help="Attach a file (repeatable), as with `ask`: an image, or a text file sent with the goal.")
@click.option("--yes", "approve_all", is_flag=True,
              help="Approve every call without asking: writes, commands and MCP tools.")
@click.option("--allow", "allow", multiple=True, metavar="TOOL",
              help="Run this tool without asking (repeatable): write_file, edit_file, run_command, "
                   "github.create_issue, or github.* for all of a server's tools.")
@click.option("--max-steps", type=click.IntRange(1, 1000), help="Most model replies in the run (default 20, "
              "or [agent] max_steps).")
@click.option("--max-cost", type=click.FloatRange(min=0, min_open=True), metavar="USD",
              help="Most the run may spend, checked after each step (default: [agent] max_cost, else none).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Wall-clock limit of the run, not counting your approvals (default: [agent] timeout, "
                   "else none).")
@click.option("--task", help="Skip classification: code, general, fast, creative or analysis.")
@click.option("--profile", help="Route with this profile: eco, balanced or premium.")
@click.option("--model", help="Send every step to this model (no routing).")
@click.option("--system", help="More instructions for the model.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines on stderr.")
@click.option("--json", "as_json", is_flag=True,
              help='One JSON line per step ({"type": "step", …}), then one for the run ({"type": "run", …}).')
@click.pass_context
def agent(ctx: click.Context, goal: str | None, attachments: tuple[str, ...], approve_all: bool,
          allow: tuple[str, ...], max_steps: int | None, max_cost: float | None, timeout: float | None,
          task: str | None, profile: str | None, model: str | None, system: str | None, quiet: bool,
          as_json: bool) -> None:
    """Give a routed model a GOAL and tools; it works in the current directory until it answers.

    GOAL or stdin (or both: stdin is context), as with `ask`. The model can read, list and search
    files here without asking. Writes, commands and MCP tools are asked about on your terminal
    (approve, always for this run, deny, edit) unless --yes, --allow or config allows them; with
    no terminal they are denied and the model is told so. Each step is saved in a conversation.

    Exit codes: 0 the model answered; 1 the answer was cut off (max tokens, content filter) or a
    step broke off mid-reply; 2 bad input; 3 no provider configured; 4 no model with tool support
    available, or every candidate failed; 5 the request was refused as it is; 6 the run stopped at
    its step, cost or time limit (the steps so far are kept); 130 interrupted.
    """
    from ..core.types import parse_profile, parse_task
    from .ask import read_prompt
    from .attach import read_attachments

    if task:
        parse_task(task)
    if profile:
        parse_profile(profile)
    files = read_attachments(attachments)
    text = read_prompt(goal, allow_empty=bool(attachments))
    request = _Request(files.prompt(text), files, approve_all, allow, (max_steps, max_cost, timeout),
                       task, profile, model, system)
    state: dict[str, Any] = {}
    progress = _Progress(quiet=quiet or as_json, as_json=as_json)
    try:
        run = asyncio.run(_run(ctx, request, progress, state))
    except KeyboardInterrupt:
        partial = state["loop"].run_state if "loop" in state else None
        if as_json and partial is not None:
            out.emit_json_line({"type": "run", **partial.as_dict()})
        raise ExitCode(EXIT_INTERRUPTED, "interrupted" + ("; the steps so far are kept" if partial and partial.steps
                                                          else "")) from None
    _print_run(run, as_json, quiet)
    code, message = RUN_EXITS[run.end](run)
    if code != EXIT_OK:
        raise ExitCode(code, message or "")


class _Request:
    def __init__(self, goal: str, files: Any, approve_all: bool, allow: tuple[str, ...],
                 limits: tuple[int | None, float | None, float | None], task: str | None, profile: str | None,
                 model: str | None, system: str | None) -> None:
        self.goal, self.files, self.approve_all, self.allow, self.limits = goal, files, approve_all, allow, limits
        self.task, self.profile, self.model, self.system = task, profile, model, system


async def _run(ctx: click.Context, request: _Request, progress: _Progress, state: dict[str, Any]) -> Any:
    from ..agent.run_types import AgentGoal
    from ..agent.session import open_session
    from ..engine import Engine
    from ..service import RouterService
    from .approval_prompt import TerminalApprover

    service = await RouterService.open(ctx.find_root().params.get("db"))
    engine = Engine(service)
    approver = None if request.approve_all else TerminalApprover.open()
    try:
        session = await open_session(service, engine, os.getcwd(), approver=approver,
                                     approve_all=request.approve_all, allow=request.allow,
                                     on_mcp_event=lambda e: _err(f"MCP server {e.server} {e.state}: {e.message}"))
        try:
            state["loop"] = session.loop
            goal = AgentGoal(request.goal, content=request.files.content(request.goal), source="agent",
                             system=request.system, task=request.task, profile=request.profile,
                             model=request.model, limits=session.limits(*request.limits))
            if approver is None and not request.approve_all:
                progress.note_no_terminal(request.allow or session.settings.agent.allow_tools)
            return await session.loop.run(goal, progress.on_event)
        finally:
            await session.aclose()
    finally:
        if approver is not None:
            approver.close()
        await engine.aclose()
        await service.close()


class _Progress:
    """Each step's model and each call, on stderr as they happen; or, with --json, a line per step."""

    def __init__(self, *, quiet: bool, as_json: bool) -> None:
        self.quiet, self.as_json = quiet, as_json
        self.step = 0
        self.notice: str | None = None  # said once the run has started (bad input says only what is wrong)

    def note_no_terminal(self, allowed: Any) -> None:
        if not self.quiet:
            rule = f" (allowed: {', '.join(allowed)})" if allowed else ""
            self.notice = f"no terminal to ask on: writes, commands and MCP tools that no rule allows are denied{rule}"

    def on_event(self, event: Any) -> None:
        from ..agent.describe import call_summary, outcome_summary, tool_name
        from ..engine import FellBack, Finished, Retrying

        kind = type(event).__name__
        if self.notice is not None and kind == "Routed":  # the model is known: the run is on
            _err(self.notice)
            self.notice = None
        if kind == "StepFinished" and self.as_json:
            out.emit_json_line({"type": "step", **event.step.as_dict()})
        if self.quiet:
            return
        if isinstance(event, FellBack | Retrying):
            from .ask import attempt_line

            _err(attempt_line(event.attempt.number, event.attempt))
        elif isinstance(event, Finished):
            self._step_line(event.reply)
        elif kind == "StepStarted":
            self.step = event.number
        elif kind == "CallFinished":
            outcome = event.outcome
            out.echo(f"  {call_summary(tool_name(outcome, outcome.name), outcome.arguments or '{}')}: "
                     f"{outcome_summary(outcome)}", err=True)
        elif kind == "StepFinished" and event.step.skipped and event.step.calls:
            for call in event.step.calls[sum(o is not None for o in event.step.outcomes):]:
                out.echo(f"  {call_summary(call.name, call.arguments)}: {event.step.skipped}", err=True)

    def _step_line(self, reply: Any) -> None:
        from .ask import routing_line

        if reply.provider and reply.task and reply.profile:
            _err(f"step {self.step}: {routing_line(reply)}")
        if reply.tool_calls and reply.text.strip():
            for line in reply.text.strip().splitlines():
                out.echo(f"  | {line}", err=True)


def _print_run(run: Any, as_json: bool, quiet: bool) -> None:
    if as_json:
        out.emit_json_line({"type": "run", **run.as_dict()})
        return
    if run.text and run.end is RunEnd.ANSWERED:
        out.write(run.text + ("" if run.text.endswith("\n") else "\n"))
    if not quiet:
        cost = out.usd(run.cost_usd) + ("" if run.cost_known else " (some prices unknown)")
        _err(f"{run.end.value} after {out.plural(len(run.steps), 'step')}, "
             f"{out.plural(run.calls, 'tool call')}, {run.input_tokens}+{run.output_tokens} tokens, {cost}"
             + (f"; conversation {run.conversation_id}" if run.conversation_id else ""))


def _answered(run: Any) -> tuple[int, str | None]:
    from .ask import UNFINISHED

    reason = run.steps[-1].reply.finish_reason if run.steps else None
    return (EXIT_FAILURE, UNFINISHED[reason]) if reason in UNFINISHED else (EXIT_OK, None)


def _failed(run: Any) -> tuple[int, str | None]:
    from .ask import EXITS

    code, say = EXITS[run.failure]
    return code, say(run.steps[-1].reply)


# How a run ended -> the exit code and the last line on stderr.
RUN_EXITS: dict[RunEnd, Callable[[Any], tuple[int, str | None]]] = {
    RunEnd.ANSWERED: _answered,
    RunEnd.LIMIT: lambda run: (EXIT_LIMIT, f"{run.error}; the steps so far are kept"
                                           + (f" (conversation {run.conversation_id})" if run.conversation_id
                                              else "")),
    RunEnd.FAILED: _failed,
    RunEnd.CANCELLED: lambda run: (EXIT_INTERRUPTED, "interrupted; the steps so far are kept"),
}


def _err(message: str) -> None:
    out.echo(f"mesoclaw: {message}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(agent)
