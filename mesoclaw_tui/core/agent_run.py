"""How an agent run ends, as values: the faces map each to an exit code, a run status or a line of
text by a table (`cli/agent.py RUN_EXITS`, `scheduler.py AGENT_RUN_STATUS`, `tui/agent_runner.py
RUN_END_TEXT`); a test checks each table covers every end.

A run is a sequence of steps: one routed model reply each, then the tool calls it made. It ends
when the model answers without a tool call (ANSWERED), when a step's reply fails (FAILED: the
reply's `FailureKind` says why), when the user stops it (CANCELLED), or at one of its limits
(LIMIT: which one is a `Limit`). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MAX_STEPS = 20


class RunEnd(StrEnum):
    ANSWERED = "answered"  # the model answered without a tool call
    LIMIT = "limit"  # stopped at the step, cost or time limit; the steps so far are kept
    FAILED = "failed"  # a step's reply failed (no model could answer, or it broke off)
    CANCELLED = "cancelled"  # the user stopped it (esc, ctrl+c)


class Limit(StrEnum):
    STEPS = "steps"
    COST = "cost"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class RunLimits:
    """A run's limits. `max_cost` (USD, the sum of the steps' costs) and `timeout` (seconds of wall
    clock, not counting the time the user takes to answer an approval) are off when None."""

    max_steps: int = DEFAULT_MAX_STEPS
    max_cost: float | None = None
    timeout: float | None = None

    def after_reply(self, step: int, spent: float) -> Limit | None:
        """The limit a run has reached once step `step` has replied with tool calls, having spent
        `spent` USD: its calls are then not run, since no step is left to read their results."""
        if self.max_cost is not None and spent >= self.max_cost:
            return Limit.COST
        if step >= self.max_steps:
            return Limit.STEPS
        return None

    def describe(self, limit: Limit) -> str:
        if limit is Limit.STEPS:
            return f"stopped at the step limit ({self.max_steps} step{'' if self.max_steps == 1 else 's'})"
        if limit is Limit.COST:
            return f"stopped at the cost limit (${self.max_cost:g} for the run)"
        return f"stopped at the time limit ({self.timeout:g} s)"
