"""What a failure means: for the rest of the turn (a provider error before the first token), and for
the reply (which FailureKind, in which words). Pure: no I/O, no provider imports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..core.failures import FailureKind
from ..core.provider_info import no_provider_message
from ..core.types import Capability, RoutingDecision, Skip
from .types import Attempt

# Auth or billing failure: skip the provider this long, or until `mesoclaw providers check` passes.
# Short, because the usual fix (a new key in the environment) cannot be seen from the database.
UNUSABLE_S = 600.0
MODEL_MISSING_S = 86_400.0
_SHOWN_SKIPS = 6  # entries of a routing trace named in a failure message, at most


class Outcome(Enum):
    """How one attempt at one target ended (a cancelled one ends by raising, as it must)."""

    OK = "ok"  # the reply is complete
    FELL_BACK = "fell back"  # failed before its first token: the next candidate is tried
    STOP = "stop"  # the provider refused the request itself: another model would too
    BROKE = "broke"  # failed after its first token: the partial reply is kept, nothing else is tried
    TOO_LARGE = "too large"  # passed the cap on a reply's size: ended there, the text so far kept


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a provider error before the first token means for the provider, the model and the turn."""

    cool_provider: bool = False  # record a provider failure (a cooldown; or unusable, with unusable_s)
    cooldown_s: float | None = None  # None: back off from the failure count
    unusable_s: float | None = None
    model_missing: bool = False  # mark this provider's model unavailable for MODEL_MISSING_S
    skip_provider: bool = False  # try none of this provider's other models in this turn
    larger_window: bool = False  # from now on only models with a larger context window
    stop: bool = False


_DOWN = Verdict(cool_provider=True, skip_provider=True)
_UNUSABLE = Verdict(cool_provider=True, cooldown_s=0, unusable_s=UNUSABLE_S, skip_provider=True)
_VERDICTS = {
    "auth": _UNUSABLE, "billing": _UNUSABLE,
    "server": _DOWN, "overloaded": _DOWN, "timeout": _DOWN, "connect": _DOWN, "stream_error": _DOWN,
    "truncated": _DOWN,
    "context_length": Verdict(larger_window=True),
    "bad_request": Verdict(stop=True),
}


def verdict_for(kind: str, message: str, retry_after: float | None) -> Verdict:
    if kind == "rate_limit":
        return Verdict(cool_provider=True, cooldown_s=retry_after, skip_provider=True)
    if kind == "model_not_found":
        # A 404 that is not about the model (a wrong base URL, say) is the provider's problem.
        return Verdict(model_missing=True) if "model" in message.lower() else _DOWN
    return _VERDICTS.get(kind, Verdict())


# the reply's failure ------------------------------------------------------------------------------------


def failure_of_attempts(outcome: Outcome | None, attempts: Sequence[Attempt]) -> FailureKind | None:
    """The failure of a turn whose candidates were tried; outcome None: the candidates ran out."""
    if outcome is Outcome.OK:
        return None
    if outcome is Outcome.BROKE:
        return FailureKind.INCOMPLETE
    if outcome is Outcome.TOO_LARGE:
        return FailureKind.REPLY_TOO_LARGE
    if outcome is Outcome.STOP:
        return FailureKind.BAD_REQUEST
    if attempts and all(a.outcome == "context_length" for a in attempts):
        return FailureKind.CONTEXT_TOO_LARGE
    return FailureKind.ALL_FAILED


# What a request needs, in the words of a failure message.
CAPABILITY_WORDS = {
    Capability.TOOLS: "tool calls", Capability.PARALLEL_TOOLS: "parallel tool calls",
    Capability.STRUCTURED_OUTPUT: "structured output (JSON)", Capability.IMAGE_INPUT: "image input",
    Capability.REASONING: "reasoning",
}


def failure_message(failure: FailureKind | None, attempts: Sequence[Attempt], decision: RoutingDecision,
                    missing: Sequence[Capability] = ()) -> str | None:
    """The one line that says why a reply failed (None when it did not)."""
    if failure is None:
        return None
    last = attempts[-1] if attempts else None
    if failure is FailureKind.INCOMPLETE and last is not None:
        return f"{last.provider}:{last.model} failed mid-reply: {last.error}"
    if failure is FailureKind.REPLY_TOO_LARGE and last is not None:
        return f"{last.provider}:{last.model}: {last.error}"
    if failure is FailureKind.MISSING_CAPABILITY:
        return _missing(missing, decision)
    if failure is FailureKind.BAD_REQUEST and last is not None:
        return f"{last.provider}:{last.model}: {last.error}"
    if failure is FailureKind.CANCELLED:
        return "cancelled by the user"
    if failure is FailureKind.NO_PROVIDER:
        return no_provider_message()
    if failure is FailureKind.CONTEXT_TOO_LARGE:
        return _too_large(attempts, decision)
    if attempts or decision.candidates:
        return "every candidate failed: " + _attempts_text(attempts)
    return _nothing_available(decision)


def _attempts_text(attempts: Sequence[Attempt]) -> str:
    return "; ".join(f"{a.provider}:{a.model} {a.outcome}" + (f" ({a.error})" if a.error else "") for a in attempts)


def _too_large(attempts: Sequence[Attempt], decision: RoutingDecision) -> str:
    if attempts:
        tried = ", ".join(f"{a.provider}:{a.model}" for a in attempts)
        return f"the request is too long for the context window of every model tried ({tried})"
    skipped = [e for e in decision.trace if e.outcome is Skip.CONTEXT_TOO_SMALL][:_SHOWN_SKIPS]
    lines = "; ".join(f"{e.provider}:{e.model} {e.detail}" for e in skipped)
    return (f"the request (~{decision.tokens_needed:,} tokens with the reply) is too large for the context "
            f"window of every available model" + (f": {lines}" if lines else ""))


def _missing(missing: Sequence[Capability], decision: RoutingDecision) -> str:
    skipped = [e for e in decision.trace if e.outcome is Skip.MISSING_CAPABILITY][:_SHOWN_SKIPS]
    lines = "; ".join(f"{e.provider}:{e.model} {e.detail}" for e in skipped)
    wanted = ", ".join(CAPABILITY_WORDS[c] for c in missing)
    return f"no available model has {wanted}, which this request needs" + (f": {lines}" if lines else "")


def _nothing_available(decision: RoutingDecision) -> str:
    if decision.trace and decision.trace[0].stage == "pinned":
        reasons = "; ".join(f"{e.provider}: {e.reason}" for e in decision.trace)
        return f"{decision.trace[0].name} cannot be used now: {reasons}"
    skipped = [e for e in decision.trace if not e.kept][:_SHOWN_SKIPS]
    lines = "; ".join(f"{e.name} ({e.provider or '-'}): {e.reason}" for e in skipped)
    return f"no available model for {decision.task.value}: {lines}"


def failure_of_decision(decision: RoutingDecision, configured: Any, fits_without_context: bool,
                        fits_without_needs: bool = False) -> FailureKind | None:
    """Why a decision leaves nothing to try (None when it has candidates): the request's needs
    before its size, as a model that cannot read an image cannot take it at any size."""
    if decision.candidates:
        return None
    if not configured:
        return FailureKind.NO_PROVIDER
    if fits_without_needs:
        return FailureKind.MISSING_CAPABILITY
    return FailureKind.CONTEXT_TOO_LARGE if fits_without_context else FailureKind.NO_AVAILABLE_MODEL


def missing_capabilities(needs: frozenset[Capability],
                         had: Sequence[frozenset[Capability] | None]) -> tuple[Capability, ...]:
    """Of what a request needs, what none of the models that could otherwise take it has (`had`:
    their capabilities, None where unrecorded); when each lacks something different, all of it."""
    missing = tuple(c for c in sorted(needs) if all(caps is not None and c not in caps for caps in had))
    return missing or tuple(sorted(needs))
