"""What goes into an agent run (AgentGoal), what it streams to a face (events), and what it ends
as (AgentRun, made of StepRecords).

Every string a step carries beside the user's goal (the model's text, tool arguments and results)
came from outside: faces neutralise it before showing it; `as_dict` keeps it exact for --json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.agent_run import Limit, RunEnd, RunLimits
from ..core.failures import FailureKind

if TYPE_CHECKING:
    from ..engine import Reply
    from ..providers.base import Content, ToolCall
    from .executor import CallOutcome
    from .tools import ToolSpec


@dataclass(frozen=True)
class AgentGoal:
    """What the user asks an agent to do.

    `text` is stored as the user's message and classified: the run's task comes from it and the
    conversation, never from a tool's output. `content` is the goal with images (attachments).
    With `conversation_id`, that conversation's answered turns are the context and the run's steps
    are added to it; without, a new conversation is made. `persist=False` (a scheduled job) stores
    no conversation: the steps' usage rows are still written, and the job's run records the steps.
    """

    text: str
    content: Content | None = None
    conversation_id: int | None = None
    source: str = "agent"  # the usage rows' source: agent (the CLI), chat (the app), job
    persist: bool = True
    system: str | None = None  # added to the agent's own instructions
    task: str | None = None
    profile: str | None = None
    model: str | None = None  # every step goes to this model (else the conversation's pinned one, else routed)
    limits: RunLimits = field(default_factory=RunLimits)


# events ------------------------------------------------------------------------------------------------
# Between StepStarted and StepFinished the engine's own events of the step's reply pass through
# unchanged (Routed, Trying, Retrying, FellBack, Delta, ToolDelta, Finished).


@dataclass(slots=True)
class RunStarted:
    conversation_id: int | None
    task: str
    limits: RunLimits


@dataclass(slots=True)
class StepStarted:
    number: int


@dataclass(slots=True)
class CallStarted:
    """A call is about to be checked (and perhaps asked about) and run."""

    step: int
    index: int
    call: ToolCall
    spec: ToolSpec | None  # None for a tool the run does not have


@dataclass(slots=True)
class CallFinished:
    step: int
    index: int
    outcome: CallOutcome


@dataclass(slots=True)
class StepFinished:
    step: StepRecord


AgentEvent = RunStarted | StepStarted | CallStarted | CallFinished | StepFinished


# records -----------------------------------------------------------------------------------------------


@dataclass
class StepRecord:
    """One step: the model's reply, the calls it made, and what became of each (None: not run, see
    `skipped`)."""

    number: int
    reply: Reply
    calls: tuple[ToolCall, ...] = ()
    outcomes: list[CallOutcome | None] = field(default_factory=list)
    skipped: str | None = None  # why calls were not run: a limit, the user stopping the run
    message_id: int | None = None  # the step's message in its conversation

    def __post_init__(self) -> None:
        if len(self.outcomes) < len(self.calls):
            self.outcomes += [None] * (len(self.calls) - len(self.outcomes))

    def call_dicts(self) -> list[dict[str, Any]]:
        out = []
        for call, outcome in zip(self.calls, self.outcomes, strict=True):
            entry: dict[str, Any] = {"id": call.id, "name": call.name, "arguments": call.arguments}
            if outcome is None:
                entry |= {"tool": None, "status": "skipped", "result": self.skipped, "is_error": True}
            else:
                entry |= {"tool": outcome.spec.display_name if outcome.spec else None,
                          "status": outcome.status.value, "result": outcome.result.text,
                          "is_error": outcome.result.is_error,
                          "ruling": outcome.ruling.reason if outcome.ruling else None,
                          "answer": outcome.answer.decision.value if outcome.answer else None,
                          "seconds": round(outcome.seconds, 3)}
                if outcome.answer is not None and outcome.answer.arguments is not None:
                    entry["ran_arguments"] = dict(outcome.answer.arguments)
            out.append(entry)
        return out

    def as_dict(self) -> dict[str, Any]:
        """One line of `mesoclaw agent --json`."""
        reply = self.reply
        return {"step": self.number, "provider": reply.provider, "model": reply.model,
                "task": reply.task.value if reply.task else None, "status": reply.status,
                "failure": reply.failure.value if reply.failure else None, "error": reply.error,
                "text": reply.text, "finish_reason": reply.finish_reason,
                "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
                          "cost_usd": reply.cost_usd, "estimated": reply.estimated},
                "attempts": [a.as_dict() for a in reply.attempts], "tool_calls": self.call_dicts()}


@dataclass
class AgentRun:
    """A run as it went: its steps, and once it is over how it ended."""

    goal: AgentGoal
    conversation_id: int | None = None
    task: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    end: RunEnd | None = None  # None while it runs
    limit: Limit | None = None  # with RunEnd.LIMIT
    failure: FailureKind | None = None  # with RunEnd.FAILED (and CANCELLED): the step's reply's
    error: str | None = None  # what a face says about the end: the limit, the failure
    seconds: float = 0.0

    @property
    def text(self) -> str:
        """The answer: the last step's text (a run stopped early may have none)."""
        return self.steps[-1].reply.text if self.steps else ""

    @property
    def cost_usd(self) -> float:
        """What the steps whose price is known cost (see `cost_known`)."""
        return sum(s.reply.cost_usd or 0.0 for s in self.steps)

    @property
    def cost_known(self) -> bool:
        return all(s.reply.cost_usd is not None for s in self.steps if s.reply.provider)

    @property
    def input_tokens(self) -> int:
        return sum(s.reply.input_tokens or 0 for s in self.steps)

    @property
    def output_tokens(self) -> int:
        return sum(s.reply.output_tokens or 0 for s in self.steps)

    @property
    def estimated(self) -> bool:
        return any(s.reply.estimated for s in self.steps)

    @property
    def calls(self) -> int:
        return sum(len(s.calls) for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        """The last line of `mesoclaw agent --json`."""
        last = self.steps[-1].reply if self.steps else None
        return {"end": self.end.value if self.end else None, "limit": self.limit.value if self.limit else None,
                "failure": self.failure.value if self.failure else None, "error": self.error, "text": self.text,
                "steps": len(self.steps), "tool_calls": self.calls, "conversation_id": self.conversation_id,
                "task": self.task, "provider": last.provider if last else None, "model": last.model if last else None,
                "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                          "cost_usd": self.cost_usd if self.cost_known else None, "estimated": self.estimated},
                "seconds": round(self.seconds, 3)}
