"""The router's domain types: pure data, no I/O, stdlib only."""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from datetime import date as _date
from datetime import datetime as _datetime
from datetime import timedelta as _timedelta
from enum import StrEnum
from typing import NamedTuple


class MesoclawError(Exception):
    """An error the user caused (unknown profile, task, model, provider; bad file).

    The message names the valid choices. Front ends show it as one line and change nothing;
    the CLI exits with code 2.
    """


class MesoclawFailure(Exception):
    """A failure the user did not type (a corrupt database, a provider that failed).

    Shown as one line; the CLI exits with code 1.
    """


class CostTier(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class TaskType(StrEnum):
    CODE = "code"
    GENERAL = "general"
    FAST = "fast"
    CREATIVE = "creative"
    ANALYSIS = "analysis"


class RoutingProfile(StrEnum):
    ECO = "eco"
    BALANCED = "balanced"
    PREMIUM = "premium"

    @property
    def description(self) -> str:
        return _PROFILE_DESCRIPTIONS[self][0]

    @property
    def use_case(self) -> str:
        return _PROFILE_DESCRIPTIONS[self][1]

    @property
    def tier_preference(self) -> tuple[CostTier, ...]:
        return _PROFILE_TIERS[self]

    def next(self) -> RoutingProfile:
        """eco -> balanced -> premium -> eco: the order a single key cycles through."""
        order = list(RoutingProfile)
        return order[(order.index(self) + 1) % len(order)]


# The seed's profile table: description, use case, cost tier preference.
_PROFILE_DESCRIPTIONS = {
    RoutingProfile.ECO: ("Cost-optimized, uses cheaper models", "Development, testing, budget-conscious"),
    RoutingProfile.BALANCED: ("Quality/cost balance for general use", "General use (default)"),
    RoutingProfile.PREMIUM: ("Maximum quality, uses most capable models", "Production, critical tasks"),
}
_PROFILE_TIERS = {
    RoutingProfile.ECO: (CostTier.LOW, CostTier.MEDIUM),
    RoutingProfile.BALANCED: (CostTier.MEDIUM, CostTier.LOW, CostTier.HIGH),
    RoutingProfile.PREMIUM: (CostTier.HIGH, CostTier.MEDIUM),
}


def parse_enum(kind: type[StrEnum], value: str, what: str) -> StrEnum:
    """Parse a user-given enum value, or raise MesoclawError naming the valid choices."""
    try:
        return kind(value.strip().lower())
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise MesoclawError(f"unknown {what} '{value}' (choose one of: {choices})") from None


def parse_profile(value: str) -> RoutingProfile:
    return parse_enum(RoutingProfile, value, "profile")  # type: ignore[return-value]


def parse_task(value: str) -> TaskType:
    return parse_enum(TaskType, value, "task")  # type: ignore[return-value]


def parse_tier(value: str) -> CostTier:
    return parse_enum(CostTier, value, "cost tier")  # type: ignore[return-value]


class ModelTarget(NamedTuple):
    """One concrete place to send a request: a provider and the model ID its API accepts.

    This module's value records that need no validation are named tuples, not dataclasses: every
    CLI start defines them, and a named tuple is several times cheaper to define."""

    provider: str
    model: str
    cost_tier: CostTier
    canonical: str = ""

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"


class Lifecycle(StrEnum):
    """Where a model is in its provider's lifecycle (the providers' own four words).

    A model is retired once its retirement date has passed, whatever its recorded status says;
    `core.lifecycle.status_on` gives the status on a given day.
    """

    ACTIVE = "active"
    LEGACY = "legacy"  # still served, superseded; no retirement announced
    DEPRECATED = "deprecated"  # retirement announced
    RETIRED = "retired"  # no longer served


class Capability(StrEnum):
    """What a request may need from a model beyond plain text in and out."""

    TOOLS = "tools"
    PARALLEL_TOOLS = "parallel_tools"
    STRUCTURED_OUTPUT = "structured_output"  # JSON schema
    IMAGE_INPUT = "image_input"
    REASONING = "reasoning"

    @property
    def missing(self) -> str:
        """The router's skip reason for a model that lacks this capability."""
        return _MISSING[self]


_MISSING = {
    Capability.TOOLS: "no tool support",
    Capability.PARALLEL_TOOLS: "no parallel tool calls",
    Capability.STRUCTURED_OUTPUT: "no structured output",
    Capability.IMAGE_INPUT: "no image input",
    Capability.REASONING: "no reasoning",
}

# `retired_from` of a model marked retired without a date: before any date compares.
ALWAYS = "0000-00-00"


@dataclass(frozen=True, slots=True)
class RoutableModel:
    """One model as one provider serves it."""

    provider: str
    model_id: str  # the ID the provider's API accepts today
    canonical: str  # the name chains use, shared by every provider that serves the model
    cost_tier: CostTier
    context_window: int | None = None
    max_output: int | None = None
    input_price: float | None = None  # USD per 1M tokens; None means unknown, never $0
    output_price: float | None = None
    best_for: str = ""
    status: str = ""  # a display label ("legacy", "retires 2027-01-14", "local", "not listed by provider" …)
    source: str = "builtin"  # "builtin", "user" or "refresh"
    as_of: str = ""  # the date the facts (prices above all) were checked
    approx: bool = False  # facts not confirmed against the provider's own page
    aliases: tuple[str, ...] = ()
    lifecycle: Lifecycle = Lifecycle.ACTIVE  # as the provider last said; see core.lifecycle.status_on
    retires: str = ""  # ISO date the provider retires (or retired) it, where announced
    successor: str = ""  # the canonical name the provider recommends instead
    capabilities: frozenset[Capability] | None = None  # None: not recorded (the router does not skip)
    price_source: str = ""  # where the prices come from: "genai-prices 0.2.3", "provider listing", "user" …
    note: str = ""  # where facts come from, and where sources disagree
    # Derived: the first day the router no longer routes to it ("" if no date). Precomputed
    # because the router reads it for every candidate.
    retired_from: str = field(init=False, default="", compare=False)
    # Derived: (provider, model_id), built once rather than for every routing decision.
    key: tuple[str, str] = field(init=False, default=("", ""), compare=False, repr=False)

    def __post_init__(self) -> None:
        marked = self.lifecycle is Lifecycle.RETIRED or self.status.startswith("shut down") \
            or self.status == "not listed by provider"
        object.__setattr__(self, "retired_from", (self.retires or ALWAYS) if marked else self.retires)
        object.__setattr__(self, "key", (self.provider, self.model_id))

    def retired_on(self, today: str) -> bool:
        """Whether the model is retired on `today` (an ISO date): marked so, or its date has passed."""
        return bool(self.retired_from) and self.retired_from <= today

    @property
    def retired(self) -> bool:
        """Retired on the real date (faces that have no "today" of their own)."""
        return self.retired_on(real_today())

    @property
    def target(self) -> ModelTarget:
        return ModelTarget(self.provider, self.model_id, self.cost_tier, self.canonical)

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model_id}"

    def price_known(self) -> bool:
        return self.input_price is not None and self.output_price is not None


def real_today() -> str:
    """The real (local) date as an ISO string: the default "today" of every lifecycle decision.

    Read on every routing decision, so the date is kept until the next local midnight rather than
    asked of the clock each time (date.today() costs more than the memoised route itself)."""
    global _today
    now = _time.time()
    if now >= _today[0]:
        day = _date.fromtimestamp(now)
        midnight = _datetime.combine(day + _timedelta(days=1), _datetime.min.time()).timestamp()
        _today = (midnight, day.isoformat())
    return _today[1]


_today: tuple[float, str] = (0.0, "")


class Skip(StrEnum):
    """Why a candidate was kept or left out of a routing decision."""

    KEPT = "kept"
    NOT_CONFIGURED = "not configured"
    NO_PROVIDER = "no provider serves it"
    UNKNOWN_MODEL = "unknown model"
    CONTEXT_TOO_SMALL = "context too small"
    DUPLICATE = "already a candidate"
    RETIRED = "retired"
    MISSING_CAPABILITY = "missing capability"
    UNAVAILABLE = "unavailable"  # a live check says the provider or model cannot serve now
    COOLDOWN = "cooling down"


class TraceEntry(NamedTuple):
    """One entry the router considered, from which stage, and what became of it.

    A named tuple rather than a dataclass: the router builds a dozen per decision, and a tuple is
    several times cheaper to build than a frozen dataclass."""

    stage: str  # "override", "custom", "chain", "fallback", "tier", "pinned"
    name: str  # the model as the stage named it
    provider: str | None
    model: str | None
    outcome: Skip
    detail: str = ""
    # True when the stage named a retired model and this entry is its successor standing in.
    successor: bool = False

    @property
    def kept(self) -> bool:
        return self.outcome is Skip.KEPT

    @property
    def reason(self) -> str:
        return f"{self.outcome.value}: {self.detail}" if self.detail else self.outcome.value


class RoutingDecision(NamedTuple):
    """The ordered candidates for one request, the trace of how they were chosen, and the inputs
    (tokens, capabilities needed, the day) they were chosen for."""

    profile: RoutingProfile
    task: TaskType
    candidates: tuple[ModelTarget, ...]
    trace: tuple[TraceEntry, ...]
    tokens_needed: int = 0
    needs: frozenset[Capability] = frozenset()
    today: str = ""

    @property
    def replaced(self) -> tuple[TraceEntry, ...]:
        """Entries that stand in for a retired model the stage named (to flag them)."""
        return tuple(e for e in self.trace if e.successor)

    @property
    def primary(self) -> ModelTarget | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, slots=True)
class Classification:
    task: TaskType
    signals: tuple[str, ...] = ()
    confidence: float = 0.0
    runner_up: TaskType | None = None
    scores: dict[str, float] = field(default_factory=dict)
