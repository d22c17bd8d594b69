"""One routed completion: classify, route, try candidates in order, stream, record usage.

    engine = Engine(service)
    async for event in engine.stream(Turn("fix this traceback")):   # Routed, Trying, Delta …, Finished
        ...

Before the first token a failing candidate is skipped (and its provider cooled down or marked);
after the first token a failure ends the reply, keeps the partial text marked incomplete, and says
so. Every attempt, and every reply's tokens and cost, is recorded. A reply that failed carries a
`core.failures.FailureKind`; each face maps it to its exit code, HTTP status or message.

    types.py    Turn, Attempt, Reply and the events
    runner.py   Engine: plan -> attempt -> settle
    policy.py   what a provider error means for the turn, and which FailureKind a reply ends with
    records.py  every read and write of the database the engine makes
"""

from __future__ import annotations

from .records import HISTORY_LIMIT
from .runner import DEFAULT_MAX_OUTPUT, MAX_ATTEMPTS, RETRY_AFTER_CAP_S, Engine, Plan, prompt_tokens
from .types import Attempt, Delta, EngineEvent, FellBack, Finished, Reply, Retrying, Routed, Trying, Turn

__all__ = [
    "DEFAULT_MAX_OUTPUT", "HISTORY_LIMIT", "MAX_ATTEMPTS", "RETRY_AFTER_CAP_S", "Attempt", "Delta", "Engine",
    "EngineEvent", "FellBack", "Finished", "Plan", "Reply", "Retrying", "Routed",
    "Trying", "Turn", "prompt_tokens",
]
