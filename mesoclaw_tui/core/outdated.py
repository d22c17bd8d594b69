"""Which chains, fallbacks, task overrides and custom routes name a model that is retired on a given
day or retires within WARN_DAYS, and what routing does about it: the basis of `router status`
notes, `router models --outdated` and the app's router screen. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from .lifecycle import is_outdated, status_on
from .profiles import CHAINS, FALLBACKS
from .registry import Registry
from .types import Lifecycle, RoutingProfile, TaskType


class OutdatedReference(NamedTuple):
    """A model named where routing looks (a chain, a fallback, an override, a custom route) that
    is retired on `today` or retires within WARN_DAYS, and what routing does about it.

    A named tuple: this module loads on every CLI start, and a dataclass costs far more to define."""

    stage: str  # "chain", "fallback", "override", "custom"
    profile: RoutingProfile | None  # for chains and fallbacks
    task: TaskType | None  # None for a fallback
    name: str  # as the stage names it
    canonical: str
    status: Lifecycle  # RETIRED or DEPRECATED
    retires: str  # "" for a model retired without a date (no longer listed)
    resolves_to: str  # the canonical name routing uses instead; the name itself while still served
    successor: str  # the recommended replacement ("" if none is known)

    @property
    def where(self) -> str:
        """"balanced code chain", "eco fallback", "code override", "fast custom route"."""
        if self.stage == "chain":
            return f"{self.profile.value} {self.task.value} chain"
        if self.stage == "fallback":
            return f"{self.profile.value} fallback"
        return f"{self.task.value} {'override' if self.stage == 'override' else 'custom route'}"

    @property
    def message(self) -> str:
        where = self.where
        when = f" {self.retires}" if self.retires else ""
        if self.status is Lifecycle.RETIRED:
            then = f" -> {self.resolves_to}" if self.resolves_to else "; no successor, it is skipped"
            return f"{where}: {self.name} retired{when}{then}"
        advice = f"; successor {self.successor}" if self.successor else ""
        return f"{where}: {self.name} is deprecated, retires{when}{advice}"


def outdated_references(registry: Registry, today: str, *,
                        overrides: Mapping[TaskType, str] | None = None,
                        custom_routes: Mapping[TaskType, Sequence[str]] | None = None,
                        profiles: Sequence[RoutingProfile] = tuple(RoutingProfile),
                        chains: Mapping[RoutingProfile, Mapping[TaskType, Sequence[str]]] | None = None,
                        fallbacks: Mapping[RoutingProfile, str] | None = None) -> list[OutdatedReference]:
    """Every reference, in the profiles' chains and fallbacks, the task overrides and the custom
    routes, to a model that is retired on `today` or retires within WARN_DAYS: the basis of
    `router status` notes and `router models --outdated`."""
    chains = CHAINS if chains is None else chains
    fallbacks = FALLBACKS if fallbacks is None else fallbacks
    named: list[tuple[str, RoutingProfile | None, TaskType | None, str]] = []
    for profile in profiles:
        named += [("chain", profile, task, name) for task, names in chains[profile].items() for name in names]
        named.append(("fallback", profile, None, fallbacks[profile]))
    named += [("override", None, task, name) for task, name in (overrides or {}).items()]
    named += [("custom", None, task, name) for task, names in (custom_routes or {}).items() for name in names]
    found = []
    for stage, profile, task, name in named:
        routes = registry.resolve(name)
        if not routes or not is_outdated(routes[0], today):  # the vendor's own route first
            continue
        model = routes[0]
        status = status_on(model, today)
        resolves_to = model.canonical
        if model.retired_on(today):  # its vendor retired it: the successor stands in (see core.router)
            replacement = registry.replacement(model, today)
            resolves_to = replacement[0].canonical if replacement else ""
        found.append(OutdatedReference(stage, profile, task, name, model.canonical, status, model.retires,
                                       resolves_to, model.successor))
    return found
