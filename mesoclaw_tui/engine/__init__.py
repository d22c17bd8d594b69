"""One routed completion: classify, route, try candidates in order, stream, record usage.

    engine = Engine(service)
    async for event in engine.stream(Turn("fix this traceback")):   # Routed, Trying, Delta/ToolDelta …, Finished
        ...

A Turn may carry a whole conversation (content parts, tool calls, tool results) with tools, a tool
choice and a response format; the router then only picks models that have what the request needs
(tools, parallel tool calls, structured output, image input), and when none has, the reply fails
with MISSING_CAPABILITY before any request. Before the first token (text or tool-call delta) a
failing candidate is skipped (and its provider cooled down or marked); after it a failure ends the
reply, keeps the partial text marked incomplete, and says so. A reply past the size cap
(MESOCLAW_MAX_REPLY_CHARS) is ended there and kept, marked REPLY_TOO_LARGE. Every attempt, and every reply's tokens and cost, is recorded. A reply that failed carries a
`core.failures.FailureKind`; each face maps it to its exit code, HTTP status or message.

    types.py    Turn, Attempt, Reply and the events
    runner.py   Engine: plan -> attempt -> settle
    request.py  what a turn needs of a model, its size in tokens, the cap on a reply's size
    policy.py   what a provider error means for the turn, and which FailureKind a reply ends with
    records.py  every read and write of the database the engine makes
"""

from __future__ import annotations

from .records import HISTORY_LIMIT
from .request import DEFAULT_MAX_REPLY_CHARS, MAX_REPLY_ENV, max_reply_chars, needs_of, prompt_tokens
from .runner import DEFAULT_MAX_OUTPUT, MAX_ATTEMPTS, RETRY_AFTER_CAP_S, Engine, Plan
from .types import (
    Attempt,
    Delta,
    EngineEvent,
    FellBack,
    Finished,
    Reply,
    Retrying,
    Routed,
    ToolDelta,
    Trying,
    Turn,
)

__all__ = [
    "DEFAULT_MAX_OUTPUT", "DEFAULT_MAX_REPLY_CHARS", "HISTORY_LIMIT", "MAX_ATTEMPTS", "MAX_REPLY_ENV",
    "RETRY_AFTER_CAP_S", "Attempt", "Delta", "Engine", "EngineEvent", "FellBack", "Finished", "Plan", "Reply",
    "Retrying", "Routed", "ToolDelta", "Trying", "Turn", "max_reply_chars", "needs_of", "prompt_tokens",
]
