"""route(...) -> RoutingDecision: the ordered concrete candidates and why every entry was kept or skipped.

A pure function of its inputs. Order: the task's override, the task's custom route, the profile's
chain, the profile's fallback, then any available model in the profile's tier order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .profiles import chain_for, fallback_for
from .provider_info import PROVIDERS
from .registry import Registry
from .types import ModelTarget, RoutableModel, RoutingDecision, RoutingProfile, Skip, TaskType, TraceEntry

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

    def check(self, model: RoutableModel) -> tuple[Skip, str]:
        provider = model.provider
        if provider not in self.configured:
            return Skip.NOT_CONFIGURED, _how_to_configure(provider)
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


def route(
    profile: RoutingProfile,
    task: TaskType,
    overrides: Mapping[TaskType, str],
    custom_routes: Mapping[TaskType, Sequence[str]],
    availability: Availability,
    tokens_needed: int,
    registry: Registry,
) -> RoutingDecision:
    override = overrides.get(task)
    custom = tuple(custom_routes.get(task, ()))
    key = (profile, task, override, custom, availability, tokens_needed)
    cache = registry.route_cache
    decision = cache.get(key)
    if decision is None:
        decision = _route(profile, task, override, custom, availability, tokens_needed, registry)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = decision
    return decision


def _route(profile, task, override, custom, availability, tokens_needed, registry) -> RoutingDecision:
    candidates: list[ModelTarget] = []
    seen: set[tuple[str, str]] = set()
    trace: list[TraceEntry] = []

    def consider(stage: str, name: str, note: str = "") -> None:
        routes = registry.resolve(name)
        if not routes:
            trace.append(TraceEntry(stage, name, None, None, Skip.NO_PROVIDER, "not in the model registry"))
            return
        for model in routes:
            outcome, detail = _judge(model, availability, tokens_needed)
            if outcome is Skip.KEPT:
                if (model.provider, model.model_id) in seen:
                    outcome, detail = Skip.DUPLICATE, ""
                else:
                    seen.add((model.provider, model.model_id))
                    candidates.append(registry.targets[(model.provider, model.model_id)])
                    detail = note
            trace.append(TraceEntry(stage, name, model.provider, model.model_id, outcome, detail))

    after_override = "after the task override" if override else ""
    if override:
        consider("override", override)
    for name in custom:
        consider("custom", name, after_override)
    displaced = "after the custom route" if custom else after_override
    for name in chain_for(profile, task):
        consider("chain", name, displaced)
    consider("fallback", fallback_for(profile), "profile fallback")

    added = 0
    for tier in profile.tier_preference:
        for model in registry.by_tier[tier]:
            if added >= MAX_TIER_CANDIDATES:
                break
            key = (model.provider, model.model_id)
            if key in seen or model.provider not in availability.configured:
                continue
            outcome, _ = _judge(model, availability, tokens_needed)
            if outcome is Skip.KEPT:
                seen.add(key)
                candidates.append(registry.targets[key])
                trace.append(TraceEntry("tier", model.canonical, model.provider, model.model_id, Skip.KEPT,
                                        f"any available {tier.value}-tier model"))
                added += 1
    return RoutingDecision(profile, task, tuple(candidates), tuple(trace), tokens_needed)


def _judge(model: RoutableModel, availability: Availability, tokens_needed: int) -> tuple[Skip, str]:
    if model.retired:
        return Skip.RETIRED, model.status
    outcome, detail = availability.check(model)
    if outcome is not Skip.KEPT:
        return outcome, detail
    if tokens_needed and model.context_window and tokens_needed > model.context_window:
        return Skip.CONTEXT_TOO_SMALL, f"needs ~{tokens_needed:,} tokens, window {model.context_window:,}"
    return Skip.KEPT, ""


def pinned_route(profile: RoutingProfile, task: TaskType, name: str, availability: Availability,
                 tokens_needed: int, registry: Registry) -> RoutingDecision:
    """A model the user named (`--model`, a pinned chat model): its own routes only, no chain."""
    candidates, trace = [], []
    for model in registry.require(name):
        outcome, detail = _judge(model, availability, tokens_needed)
        if outcome is Skip.KEPT:
            candidates.append(model.target)
        trace.append(TraceEntry("pinned", name, model.provider, model.model_id, outcome, detail))
    return RoutingDecision(profile, task, tuple(candidates), tuple(trace), tokens_needed)
