"""Scheduled agent jobs (`mesoclaw schedule add NAME --kind agent "goal" --allow TOOL…`).

Nobody is there to ask: a job's run uses only what its --allow list and config allow (reads inside
its directory always); everything else is denied and the model told so. Its steps are not saved as
a conversation; the run's output lists every step (model, tokens, cost, each call and what became
of it) and ends with the answer, and each step's usage row is written with source "job".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.agent_run import RunEnd
from ..core.types import MesoclawError
from .builtin import BUILTIN_NAMES
from .describe import call_summary, outcome_summary, tool_name
from .run_types import AgentGoal, AgentRun, StepFinished, StepRecord

if TYPE_CHECKING:
    from ..engine import Engine
    from ..service import AgentJobSettings, Job, RouterService
    from ..service.job_records import RunResult
    from .config import AgentSettings

# A scheduled run with no timeout from the job or config stops after this long: nobody is watching.
DEFAULT_JOB_TIMEOUT_S = 600.0


def _answered(run: AgentRun) -> str:
    reason = run.steps[-1].reply.finish_reason if run.steps else None
    return "incomplete" if reason in ("length", "content_filter") else "ok"


def _failed(run: AgentRun) -> str:
    """As a prompt job's reply would (scheduler.RUN_STATUS): incomplete when it broke off, else failed."""
    status = run.failure.status if run.failure is not None else "failed"
    return "interrupted" if status == "cancelled" else status


# How an agent job's run ended -> its run status (a prompt job's reply: scheduler.RUN_STATUS).
AGENT_RUN_STATUS: dict[RunEnd, Callable[[AgentRun], str]] = {
    RunEnd.ANSWERED: _answered,
    RunEnd.LIMIT: lambda run: "incomplete",  # the error says which limit
    RunEnd.FAILED: _failed,
    RunEnd.CANCELLED: lambda run: "interrupted",
}


def check_allow(allow: Sequence[str], settings: AgentSettings) -> None:
    """A job's --allow names, checked when it is added (its MCP servers are not started for that): a
    built-in tool, or NAME.tool / NAME.* of a configured server. MesoclawError naming the choices."""
    import fnmatch

    servers = set(settings.servers)
    for name in allow:
        server = name.split(".", 1)[0] if "." in name else None
        if name in BUILTIN_NAMES or (server in servers and name[len(server) + 1:]):
            continue
        if "*" in name and server is None and any(fnmatch.fnmatchcase(b, name) for b in BUILTIN_NAMES):
            continue
        known = [*BUILTIN_NAMES, *(f"{s}.*" for s in sorted(servers))]
        raise MesoclawError(f"--allow {name}: no such tool (choose from: {', '.join(known)})")


def servers_needed(allow: Iterable[str], settings: AgentSettings) -> set[str]:
    """The MCP servers a job can use: those its allowlist (or config's) names, and those whose
    read-only tools config trusts. Others would only have their calls denied: they are not started."""
    names = {a.split(".", 1)[0] for a in (*allow, *settings.agent.allow_tools) if "." in a}
    names |= {n for n, s in settings.servers.items() if s.auto_approve_read_only}
    return names & set(settings.servers)


async def run_agent_job(service: RouterService, engine: Engine, job: Job,
                        on_output: Callable[[str], Any] | None = None,
                        output: list[str] | None = None) -> RunResult:
    """Run the job's goal; `output` gathers the run's output as steps finish (what is kept if the run
    is interrupted), and `on_output` is given each piece as it comes (`schedule run` prints it)."""
    from .config import load_agent_settings
    from .session import open_session

    settings = job.agent
    assert settings is not None, "not an agent job"
    config = load_agent_settings(service.settings.paths)
    pieces = output if output is not None else []

    def on_event(event: Any) -> None:
        if type(event) is StepFinished:
            piece = step_text(event.step)
            pieces.append(piece)
            if on_output is not None:
                on_output(piece)

    session = await open_session(service, engine, settings.cwd, allow=settings.allow, settings=config,
                                 servers=servers_needed(settings.allow, config))
    try:
        limits = session.limits(settings.max_steps, settings.max_cost, settings.timeout)
        if limits.timeout is None:
            from dataclasses import replace

            limits = replace(limits, timeout=DEFAULT_JOB_TIMEOUT_S)
        goal = AgentGoal(job.prompt, source="job", persist=False, task=None if job.task == "auto" else job.task,
                         profile=job.profile, limits=limits)
        run = await session.loop.run(goal, on_event)
    finally:
        await session.aclose()
    if run.text and run.end is RunEnd.ANSWERED:
        pieces.append("\n" + run.text)
        if on_output is not None:
            on_output("\n" + run.text)
    return run_result(run, "".join(pieces).strip("\n"), _mcp_note(session))


def _mcp_note(session: Any) -> str | None:
    events = session.mcp.events if session.mcp is not None else []
    return "; ".join(f"MCP server {e.server} {e.state}: {e.message}" for e in events) or None


def step_text(step: StepRecord) -> str:
    """One step as a job run's output shows it."""
    reply = step.reply
    cost = "cost unknown" if reply.cost_usd is None else f"${reply.cost_usd:.6f}"
    who = f"{reply.provider}:{reply.model}" if reply.provider else "no model"
    lines = [f"step {step.number} · {who} · {reply.input_tokens or 0}+{reply.output_tokens or 0} tokens · {cost}"
             + (f" · {reply.status}" if reply.status != "complete" else "")]
    if reply.tool_calls and reply.text.strip():
        lines += [f"  | {line}" for line in reply.text.strip().splitlines()]
    for call, outcome in zip(step.calls, step.outcomes, strict=True):
        lines.append(f"  {call_summary(tool_name(outcome, call.name), call.arguments)}: "
                     f"{outcome_summary(outcome, step.skipped)}")
    return "\n".join(lines) + "\n"


def run_result(run: AgentRun, output: str, note: str | None = None) -> RunResult:
    """The job run's row: its status by how the run ended, the steps' usage summed."""
    import json

    from ..service.job_records import RunResult

    assert run.end is not None
    last = run.steps[-1].reply if run.steps else None
    error = "; ".join(part for part in (run.error if run.end is not RunEnd.ANSWERED else None, note) if part) or None
    return RunResult(
        AGENT_RUN_STATUS[run.end](run), output, error, run.task, last.profile.value if last and last.profile else None,
        last.provider if last else None, last.model if last else None,
        json.dumps([a.as_dict() for s in run.steps for a in s.reply.attempts]),
        run.input_tokens, run.output_tokens, int(run.estimated), run.cost_usd if run.cost_known else None,
        last.usage_id if last else None)


def job_settings(cwd: str, allow: Sequence[str], max_steps: int | None, max_cost: float | None,
                 timeout: float | None) -> AgentJobSettings:
    from ..service import AgentJobSettings

    return AgentJobSettings(cwd, tuple(allow), max_steps, max_cost, timeout)
