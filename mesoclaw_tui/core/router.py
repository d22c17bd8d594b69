"""route(...) -> RoutingDecision: the ordered concrete candidates and why every entry was kept or skipped.

A pure function of its inputs (today's date among them). Order: the task's override, the task's
custom route, the profile's chain, the profile's fallback, then any available model in the
profile's tier order. A retired model is never a candidate; a stage naming one gets its successor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .profiles import chain_for, fallback_for
from .provider_info import PROVIDERS
from .registry import Registry
from .types import (
    Capability,
    CostTier,
    ModelTarget,
    RoutableModel,
    RoutingDecision,
    RoutingProfile,
    Skip,
    TaskType,
    TraceEntry,
    real_today,
)

# Enum members bound once: in Python 3.11 each `Skip.X` lookup costs as much as a dict lookup and
# the router makes dozens per decision.
KEPT, RETIRED, DUPLICATE, NO_PROVIDER, CONTEXT_TOO_SMALL, MISSING_CAPABILITY = (
    Skip.KEPT, Skip.RETIRED, Skip.DUPLICATE, Skip.NO_PROVIDER, Skip.CONTEXT_TOO_SMALL, Skip.MISSING_CAPABILITY)


def _entry(stage: str, name: str, provider: str | None, model: str | None, outcome: Skip, detail: str = "",
           successor: bool = False) -> TraceEntry:
    return _new_tuple(TraceEntry, (stage, name, provider, model, outcome, detail, successor))


_new_tuple = tuple.__new__
_TIER_NOTE = {tier: f"any available {tier.value}-tier model" for tier in CostTier}

# The tier stage is a last resort; a handful of candidates is plenty for the engine to try.
MAX_TIER_CANDIDATES = 4
_CACHE_LIMIT = 512


@dataclass(frozen=True, slots=True)
class Availability:
    """What can serve right now: providers configured, and what live checks ruled out."""

    configured: frozenset[str] = frozenset()
    unavailable_models: frozenset[tuple[str, str]] = frozenset()  # (provider, model_id) not served
    unavailable_providers: frozenset[str] = frozenset()  # auth or billing failed
    cooling: frozenset[str] = frozenset()  # providers in a cooldown after failures
    # Whether any live check rules something out: when not, a configured provider serves (the
    # router's common case, decided without building a reason).
    restricted: bool = field(init=False, default=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "restricted",
                           bool(self.unavailable_models or self.unavailable_providers or self.cooling))

    def check(self, model: RoutableModel) -> tuple[Skip, str]:
        provider = model.provider
        if provider not in self.configured:
            return Skip.NOT_CONFIGURED, _HOW_TO_CONFIGURE[provider]
        if provider in self.unavailable_providers:
            return Skip.UNAVAILABLE, (f"{provider} rejected the key or billing recently; "
                                      "`mesoclaw providers check` clears this once fixed")
        if (provider, model.model_id) in self.unavailable_models:
            return Skip.UNAVAILABLE, f"{provider} does not serve {model.model_id}"
        if provider in self.cooling:
            return Skip.COOLDOWN, f"{provider} failed recently"
        return Skip.KEPT, ""


def _how_to_configure(provider: str) -> str:
    info = PROVIDERS[provider]
    if not info.needs_key:
        return "set OLLAMA_HOST or enable ollama in config.toml"
    return "set " + " or ".join(info.key_envs)


_HOW_TO_CONFIGURE = {provider: _how_to_configure(provider) for provider in PROVIDERS}


def needs_for(*, tools: bool = False, parallel_tool_calls: bool = False, json_schema: bool = False,
              images: bool = False, reasoning: bool = False) -> frozenset[Capability]:
    """The capabilities a request needs, from what it carries: tool definitions, an explicit
    `parallel_tool_calls: true`, a JSON-schema response format, image parts, a reasoning effort."""
    wanted = ((tools, Capability.TOOLS), (tools and parallel_tool_calls, Capability.PARALLEL_TOOLS),
              (json_schema, Capability.STRUCTURED_OUTPUT), (images, Capability.IMAGE_INPUT),
              (reasoning, Capability.REASONING))
    return frozenset(capability for needed, capability in wanted if needed)


def route(
    profile: RoutingProfile,
    task: TaskType,
    overrides: Mapping[TaskType, str],
    custom_routes: Mapping[TaskType, Sequence[str]],
    availability: Availability,
    tokens_needed: int,
    registry: Registry,
    *,
    needs: frozenset[Capability] = frozenset(),
    today: str | None = None,
) -> RoutingDecision:
    """`needs`: the capabilities the request requires (tools, images, …); a candidate lacking one
    is skipped with the reason. `today`: an ISO date (default the real date); a model retired by
    then is never routed to, and a stage naming it gets its successor instead."""
    today = today or real_today()
    override = overrides.get(task)
    custom = tuple(custom_routes.get(task, ()))
    key = (profile, task, override, custom, availability, tokens_needed, needs, today)
    cache = registry.route_cache
    decision = cache.get(key)
    if decision is None:
        decision = _Routing(availability, tokens_needed, needs, today, registry).run(
            profile, task, override, custom)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = decision
    return decision


class _Routing:
    """One routing decision being built: the candidates so far and the trace."""

    __slots__ = ("availability", "tokens_needed", "needs", "today", "registry", "candidates", "seen", "trace")

    def __init__(self, availability: Availability, tokens_needed: int, needs: frozenset[Capability],
                 today: str, registry: Registry) -> None:
        self.availability, self.tokens_needed, self.needs = availability, tokens_needed, needs
        self.today, self.registry = today, registry
        self.candidates: list[ModelTarget] = []
        self.seen: set[tuple[str, str]] = set()
        self.trace: list[TraceEntry] = []

    def run(self, profile: RoutingProfile, task: TaskType, override: str | None,
            custom: tuple[str, ...]) -> RoutingDecision:
        after_override = "after the task override" if override else ""
        if override:
            self.consider("override", override)
        for name in custom:
            self.consider("custom", name, after_override)
        displaced = "after the custom route" if custom else after_override
        for name in chain_for(profile, task):
            self.consider("chain", name, displaced)
        self.consider("fallback", fallback_for(profile), "profile fallback")
        self.tier_stage(profile)
        return RoutingDecision(profile, task, tuple(self.candidates), tuple(self.trace), self.tokens_needed,
                               self.needs, self.today)

    def consider(self, stage: str, name: str, note: str = "") -> None:
        routes = self.registry.resolve(name)
        if not routes:
            self.trace.append(_entry(stage, name, None, None, NO_PROVIDER, "not in the model registry"))
            return
        retired, today = None, self.today
        for model in routes:
            if model.retired_from and model.retired_from <= today:
                retired = retired or model
                self.trace.append(_entry(stage, name, model.provider, model.model_id, RETIRED,
                                         _retired_detail(model, self.registry, today)))
            else:
                self.judge(stage, name, model, note)
        # The vendor's own route (first) decides: a model its vendor retired or no longer lists is
        # gone, whatever a gateway still lists, so its successor joins after any gateway route kept.
        if retired is not None and routes[0] is retired:
            self.replace_retired(stage, name, retired, note)

    def replace_retired(self, stage: str, name: str, retired: RoutableModel, note: str) -> None:
        """A stage named a retired model: its successor stands in, on the provider the name pinned
        when that provider serves it."""
        routes = self.registry.replacement(retired, self.today)
        if ":" in name and name.partition(":")[0].strip().lower() in PROVIDERS:
            pinned = [m for m in routes if m.provider == retired.provider]
            routes = pinned or routes
        detail = f"{retired.canonical} retired {retired.retires or 'earlier'} -> {routes[0].canonical}" \
            if routes else ""
        for model in routes:
            self.judge(stage, name, model, f"{detail}; {note}" if note else detail, successor=True)

    def judge(self, stage: str, name: str, model: RoutableModel, note: str, successor: bool = False) -> None:
        outcome, detail = _judge(model, self.availability, self.tokens_needed, self.needs, self.today)
        if outcome is KEPT:
            key = model.key
            if key in self.seen:
                outcome, detail = DUPLICATE, ""
            else:
                self.seen.add(key)
                self.candidates.append(self.registry.targets[key])
                detail = note
        elif successor and note:
            detail = f"{note}; {detail}" if detail else note
        self.trace.append(_entry(stage, name, model.provider, model.model_id, outcome, detail, successor))

    def tier_stage(self, profile: RoutingProfile) -> None:
        added = 0
        configured = self.availability.configured
        today = self.today
        for tier in profile.tier_preference:
            for model in self.registry.by_tier[tier]:
                if added >= MAX_TIER_CANDIDATES:
                    return
                key = model.key
                if key in self.seen or model.provider not in configured or (
                        model.retired_from and model.retired_from <= today):
                    continue
                outcome, _ = _judge(model, self.availability, self.tokens_needed, self.needs, self.today)
                if outcome is KEPT:
                    self.seen.add(key)
                    self.candidates.append(self.registry.targets[key])
                    self.trace.append(_entry("tier", model.canonical, model.provider, model.model_id,
                                             KEPT, _TIER_NOTE[tier]))
                    added += 1


def _retired_detail(model: RoutableModel, registry: Registry, today: str) -> str:
    when = f"retired {model.retires}" if model.retires else "retired"
    if model.status == "not listed by provider":
        when = f"not listed by {model.provider} since {model.retires}" if model.retires else "not listed"
    routes = registry.replacement(model, today)
    return f"{when} -> {routes[0].canonical}" if routes else f"{when}, no successor known"


def _judge(model: RoutableModel, availability: Availability, tokens_needed: int,
           needs: frozenset[Capability], today: str) -> tuple[Skip, str]:
    if model.retired_from and model.retired_from <= today:
        return RETIRED, model.status
    if availability.restricted or model.provider not in availability.configured:
        outcome, detail = availability.check(model)
        if outcome is not KEPT:
            return outcome, detail
    if tokens_needed and model.context_window and tokens_needed > model.context_window:
        return CONTEXT_TOO_SMALL, f"needs ~{tokens_needed:,} tokens, window {model.context_window:,}"
    if needs and model.capabilities is not None and not needs <= model.capabilities:
        return MISSING_CAPABILITY, ", ".join(c.missing for c in sorted(needs - model.capabilities))
    return KEPT, ""


def pinned_route(profile: RoutingProfile, task: TaskType, name: str, availability: Availability,
                 tokens_needed: int, registry: Registry, *, needs: frozenset[Capability] = frozenset(),
                 today: str | None = None) -> RoutingDecision:
    """A model the user named (`--model`, a pinned chat model): its own routes only, no chain; a
    retired one gets its successor, flagged, as a chain entry would."""
    today = today or real_today()
    routing = _Routing(availability, tokens_needed, needs, today, registry)
    registry.require(name)
    routing.consider("pinned", name)
    return RoutingDecision(profile, task, tuple(routing.candidates), tuple(routing.trace), tokens_needed,
                           needs, today)
