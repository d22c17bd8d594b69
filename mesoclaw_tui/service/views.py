"""What `router status`, `router task`, `router test` and the router screen show: read-only views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.profiles import chain_for, fallback_for
from ..core.tokens import estimate_tokens
from ..core.types import Classification, RoutingDecision, Skip, TaskType, TraceEntry, parse_task
from ..settings import Settings, display_url
from .records import ChainEntry, RouterConfig

if TYPE_CHECKING:
    from ..core.registry import Registry
    from ..core.types import RoutingProfile
    from ..store import Store

# Of several skipped routes for one name, the reason worth showing (the duplicate one least).
TELLING = (Skip.CONTEXT_TOO_SMALL, Skip.COOLDOWN, Skip.UNAVAILABLE, Skip.RETIRED, Skip.NOT_CONFIGURED,
           Skip.NO_PROVIDER, Skip.DUPLICATE)


def effective_chain(decision: RoutingDecision) -> list[ChainEntry]:
    """The named entries a task's decision went through (override, custom, chain, fallback, tier)."""
    groups: dict[tuple[str, str], list[TraceEntry]] = {}
    for entry in decision.trace:
        key = entry.name if entry.stage != "tier" else entry.model or ""
        groups.setdefault((entry.stage, key), []).append(entry)
    chain = []
    for (stage, _key), entries in groups.items():
        kept = next((e for e in entries if e.kept), None)
        shown = kept or min(entries, key=lambda e: TELLING.index(e.outcome) if e.outcome in TELLING
                            else len(TELLING))
        # A name already among the candidates (the fallback repeating a chain entry) is as
        # available as that entry.
        available = kept is not None or any(e.outcome is Skip.DUPLICATE for e in entries)
        chain.append(ChainEntry(stage, entries[0].name, shown.provider, shown.model, available, shown.reason))
    return chain


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
        return effective_chain(decision)

    async def task_view(self, task: TaskType, config: RouterConfig) -> dict[str, Any]:
        decision = await self.get_routing_for_task(task, config=config)
        primary = decision.primary
        return {
            "task": task.value,
            "profile": config.profile.value,
            "primary": {"provider": primary.provider, "model": primary.model, "canonical": primary.canonical}
            if primary else None,
            "chain": [c.as_dict() for c in effective_chain(decision)],
            "profile_chain": list(chain_for(config.profile, task)),
            "fallback": fallback_for(config.profile),
            "override": config.task_overrides.get(task),
            "custom_route": list(config.custom_routes.get(task, ())) or None,
        }

    async def status(self) -> dict[str, Any]:
        config = await self.get_router_config()
        tasks = {t.value: await self.task_view(t, config) for t in TaskType}
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
            "notes": await self._status_notes(tasks),
        }

    async def _status_notes(self, tasks: dict[str, dict[str, Any]]) -> list[str]:
        """Warnings worth a glance: a primary model (of the task views just built) that is deprecated
        or retiring."""
        registry = await self.registry()
        notes = []
        for task, view in tasks.items():
            primary = view["primary"]
            model = registry.get(primary["provider"], primary["model"]) if primary else None
            if model and ("deprecated" in model.status or "retire" in model.status):
                notes.append(f"{task} is served by {model.canonical}, which is {model.status}; "
                             f"`mesoclaw router task {task} --set MODEL` picks another")
        return notes

    async def test_route(self, text: str, *, profile: str | None = None, task: str | None = None,
                         previous: TaskType | None = None) -> tuple[Classification, RoutingDecision]:
        from ..core.classifier import classify

        classification = classify(text, previous=previous)
        chosen = parse_task(task) if task else classification.task
        decision = await self.get_routing_for_task(chosen, profile=profile, tokens_needed=estimate_tokens(text))
        return classification, decision
