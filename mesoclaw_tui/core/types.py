"""The router's domain types: pure data, no I/O, stdlib only."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class ModelTarget:
    """One concrete place to send a request: a provider and the model ID its API accepts."""

    provider: str
    model: str
    cost_tier: CostTier
    canonical: str = ""

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"


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
    status: str = ""  # "", "legacy", "deprecated", "shut down", "local", "not listed by provider" …
    source: str = "builtin"  # "builtin", "user" or "refresh"
    as_of: str = ""
    approx: bool = False  # facts not confirmed against the provider's own page
    aliases: tuple[str, ...] = ()

    @property
    def retired(self) -> bool:
        return self.status.startswith("shut down") or self.status == "not listed by provider"

    @property
    def target(self) -> ModelTarget:
        return ModelTarget(self.provider, self.model_id, self.cost_tier, self.canonical)

    def price_known(self) -> bool:
        return self.input_price is not None and self.output_price is not None


class Skip(StrEnum):
    """Why a candidate was kept or left out of a routing decision."""

    KEPT = "kept"
    NOT_CONFIGURED = "not configured"
    NO_PROVIDER = "no provider serves it"
    UNKNOWN_MODEL = "unknown model"
    CONTEXT_TOO_SMALL = "context too small"
    DUPLICATE = "already a candidate"
    RETIRED = "retired"
    UNAVAILABLE = "unavailable"  # a live check says the provider or model cannot serve now
    COOLDOWN = "cooling down"


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One entry the router considered, from which stage, and what became of it."""

    stage: str  # "override", "custom", "chain", "fallback", "tier"
    name: str  # the model as the stage named it
    provider: str | None
    model: str | None
    outcome: Skip
    detail: str = ""

    @property
    def kept(self) -> bool:
        return self.outcome is Skip.KEPT

    @property
    def reason(self) -> str:
        return f"{self.outcome.value}: {self.detail}" if self.detail else self.outcome.value


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    profile: RoutingProfile
    task: TaskType
    candidates: tuple[ModelTarget, ...]
    trace: tuple[TraceEntry, ...]
    tokens_needed: int = 0

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
