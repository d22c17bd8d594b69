"""What `router status`, `router task`, `router test` and the router screen show: read-only views."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..core.profiles import chain_for, fallback_for
from ..core.tokens import estimate_tokens
from ..core.types import (
    Classification,
    Lifecycle,
    RoutingDecision,
    Skip,
    TaskType,
    TraceEntry,
    parse_task,
    real_today,
)
from ..settings import Settings, display_url
from .records import ChainEntry, RouterConfig

if TYPE_CHECKING:
    from ..core.outdated import OutdatedReference
    from ..core.registry import Registry
    from ..core.types import RoutingProfile
    from ..store import Store

# Of several skipped routes for one name, the reason worth showing.
TELLING = (Skip.CONTEXT_TOO_SMALL, Skip.MISSING_CAPABILITY, Skip.COOLDOWN, Skip.UNAVAILABLE, Skip.RETIRED,
           Skip.NOT_CONFIGURED, Skip.NO_PROVIDER)


def _telling(entry: TraceEntry) -> int:
    return TELLING.index(entry.outcome) if entry.outcome in TELLING else len(TELLING)


def effective_chain(decision: RoutingDecision, registry: Registry | None = None) -> list[ChainEntry]:
    """The named entries a task's decision went through (override, custom, chain, fallback, tier), each
    once: an entry whose model is already a candidate earlier in the chain (the fallback repeating a
    chain entry, an override the chain also names) is left out, as is a name already shown. With the
    registry, an entry standing in for a retired model says which model that is."""
    groups: dict[tuple[str, str], list[TraceEntry]] = {}
    for entry in decision.trace:
        key = entry.name if entry.stage != "tier" else entry.model or ""
        groups.setdefault((entry.stage, key), []).append(entry)
    chain: list[ChainEntry] = []
    shown_names: set[str] = set()
    for (stage, _key), entries in groups.items():
        kept = next((e for e in entries if e.kept), None)
        if kept is None and any(e.outcome is Skip.DUPLICATE for e in entries):
            continue  # it routes to a candidate an earlier entry already is
        # Of a retired model's entries, its successor's say what routing did about it.
        shown = kept or min([e for e in entries if e.successor] or entries, key=_telling)
        entry = ChainEntry(stage, entries[0].name, shown.provider, shown.model, kept is not None, shown.reason,
                           _successor_name(shown, registry))
        if entry.shown in shown_names:
            continue
        shown_names.add(entry.shown)
        chain.append(entry)
    return chain


def _successor_name(entry: TraceEntry, registry: Registry | None) -> str:
    if not entry.successor or registry is None or entry.provider is None or entry.model is None:
        return ""
    model = registry.get(entry.provider, entry.model)
    return model.canonical if model is not None else ""


def outdated_dict(ref: OutdatedReference) -> dict[str, Any]:
    """One outdated reference as `router status --json` and `router models --outdated --json` give it."""
    return {"stage": ref.stage, "profile": ref.profile.value if ref.profile else None,
            "task": ref.task.value if ref.task else None, "model": ref.name, "canonical": ref.canonical,
            "status": ref.status.value, "retires": ref.retires or None, "resolves_to": ref.resolves_to or None,
            "successor": ref.successor or None, "message": ref.message}


def status_note(ref: OutdatedReference) -> str:
    """The note `router status` and the router screen show: what is outdated and what answers in its
    place (a retired model is never routed to), and for the user's own settings how to change them."""
    note = ref.message
    if ref.status is Lifecycle.RETIRED and ref.resolves_to:
        note += " answers in its place"
    better = ref.resolves_to if ref.resolves_to != ref.canonical else ref.successor
    if ref.stage == "override" and ref.task is not None and better:
        note += f"; `mesoclaw router task {ref.task.value} --set {better}` to name it"
    elif ref.stage == "custom" and ref.task is not None:
        note += f"; `mesoclaw router chain {ref.task.value} --set …` to change it"
    return note


class ViewsMixin:
    """Part of RouterService (which provides the routing methods these views read)."""

    store: Store
    settings: Settings

    if TYPE_CHECKING:
        async def registry(self) -> Registry: ...
        async def get_router_config(self) -> RouterConfig: ...
        async def get_routing_for_task(self, task: str | TaskType, *, tokens_needed: int = 0,
                                       profile: str | RoutingProfile | None = None,
                                       config: RouterConfig | None = None) -> RoutingDecision: ...

    async def effective_chain(self, decision: RoutingDecision) -> list[ChainEntry]:
        return effective_chain(decision, await self.registry())

    async def task_view(self, task: TaskType, config: RouterConfig) -> dict[str, Any]:
        decision = await self.get_routing_for_task(task, config=config)
        primary = decision.primary
        return {
            "task": task.value,
            "profile": config.profile.value,
            "primary": {"provider": primary.provider, "model": primary.model, "canonical": primary.canonical}
            if primary else None,
            "chain": [c.as_dict() for c in effective_chain(decision, await self.registry())],
            "profile_chain": list(chain_for(config.profile, task)),
            "fallback": fallback_for(config.profile),
            "override": config.task_overrides.get(task),
            "custom_route": list(config.custom_routes.get(task, ())) or None,
        }

    async def status(self) -> dict[str, Any]:
        config = await self.get_router_config()
        tasks = {t.value: await self.task_view(t, config) for t in TaskType}
        outdated = await self.outdated(config, profiles=(config.profile,))
        return {
            "profile": config.profile.value,
            "description": config.profile.description,
            "tasks": tasks,
            "overrides": {t.value: m for t, m in config.task_overrides.items()},
            "custom_routes": {t.value: list(m) for t, m in config.custom_routes.items()},
            "providers": {
                pid: {"configured": s.configured, "key_source": s.key_source, "base_url": display_url(s.base_url)}
                for pid, s in self.settings.providers.items()
            },
            "database": str(self.store.path),
            "outdated": [outdated_dict(ref) for ref in outdated],
            "notes": [status_note(ref) for ref in outdated],
        }

    async def outdated(self, config: RouterConfig | None = None,
                       profiles: Iterable[RoutingProfile] | None = None) -> list[OutdatedReference]:
        """Every chain and fallback (of `profiles`, default all), task override and custom route that
        names a model retired today or retiring within 30 days, with what it resolves to."""
        from ..core.outdated import outdated_references
        from ..core.types import RoutingProfile

        config = config or await self.get_router_config()
        return outdated_references(await self.registry(), real_today(), overrides=config.task_overrides,
                                   custom_routes=config.custom_routes,
                                   profiles=tuple(RoutingProfile) if profiles is None else tuple(profiles))

    async def test_route(self, text: str, *, profile: str | None = None, task: str | None = None,
                         previous: TaskType | None = None) -> tuple[Classification, RoutingDecision]:
        from ..core.classifier import classify

        classification = classify(text, previous=previous)
        chosen = parse_task(task) if task else classification.task
        decision = await self.get_routing_for_task(chosen, profile=profile, tokens_needed=estimate_tokens(text))
        return classification, decision
