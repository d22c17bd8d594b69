"""Model lifecycle on a given day: status, what a model the provider stopped listing becomes, and
which chains, overrides and custom routes name a model that is retired or about to be.

Pure: every function takes "today" as an ISO date (the faces pass the real date).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from .profiles import CHAINS, FALLBACKS
from .types import Lifecycle, RoutableModel, RoutingProfile, TaskType

if TYPE_CHECKING:
    from .registry import Registry

# A retirement this close is worth a warning wherever the model is named.
WARN_DAYS = 30
NOT_LISTED = "not listed by provider"


def days_until(today: str, day: str) -> int:
    return (date.fromisoformat(day) - date.fromisoformat(today)).days


def status_on(model: RoutableModel, today: str) -> Lifecycle:
    """The model's lifecycle status on `today`: retired once its date has passed (or when marked
    retired without one); deprecated when the date is announced, and always within WARN_DAYS."""
    if model.retired_on(today):
        return Lifecycle.RETIRED
    return _status(model.lifecycle, model.retires, today)


def _status(lifecycle: Lifecycle, retires: str, today: str) -> Lifecycle:
    if retires and retires <= today:
        return Lifecycle.RETIRED
    if retires and days_until(today, retires) <= WARN_DAYS:
        return Lifecycle.DEPRECATED
    if lifecycle is Lifecycle.RETIRED:  # retired without a date, or a date still to come
        return Lifecycle.RETIRED if not retires else Lifecycle.DEPRECATED
    return lifecycle


def status_label(model: RoutableModel, today: str) -> str:
    """A short label for lists: "", "legacy", "deprecated, retires 2027-01-14", "retired 2026-11-30"."""
    if model.retired_on(today) and model.status == NOT_LISTED:
        return NOT_LISTED
    return label_for(model.lifecycle, model.retires, today)


def label_for(lifecycle: Lifecycle, retires: str, today: str) -> str:
    """status_label from the lifecycle facts alone (what the registry has before a model exists)."""
    status = _status(lifecycle, retires, today)
    if status is Lifecycle.RETIRED:
        return f"retired {retires}" if retires else "retired"
    if status is Lifecycle.DEPRECATED:
        return f"deprecated, retires {retires}" if retires else "deprecated"
    return "legacy" if status is Lifecycle.LEGACY else ""


def is_outdated(model: RoutableModel, today: str) -> bool:
    """Retired, or retiring within WARN_DAYS: what `router status` warns about."""
    return model.retired_on(today) or bool(model.retires and days_until(today, model.retires) <= WARN_DAYS)


def mark_unlisted(models: Iterable[RoutableModel], provider: str, listed: Iterable[str], today: str
                  ) -> list[RoutableModel]:
    """After `models refresh`: every model of `provider` its live list no longer has is retired
    from `today` (its successor, if it has one, takes over). Models the user added are trusted
    over the listing, and a local provider's list says what is pulled, not what exists."""
    listed = set(listed)
    out = []
    for model in models:
        if (model.provider == provider and provider != "ollama" and model.source != "user"
                and model.model_id not in listed and not model.retired_on(today)):
            note = f"{provider} no longer listed it on {today}"
            model = replace(model, lifecycle=Lifecycle.RETIRED, retires=today, status=NOT_LISTED,
                            note=f"{model.note}; {note}" if model.note else note)
        out.append(model)
    return out


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
    def message(self) -> str:
        where = (f"{self.profile.value} {self.task.value} chain" if self.stage == "chain" else
                 f"{self.profile.value} fallback" if self.stage == "fallback" else
                 f"{self.task.value} {'override' if self.stage == 'override' else 'custom route'}")
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
        if all(m.retired_on(today) for m in routes):
            replacement = registry.replacement(model, today)
            resolves_to = replacement[0].canonical if replacement else ""
        found.append(OutdatedReference(stage, profile, task, name, model.canonical, status, model.retires,
                                       resolves_to, model.successor))
    return found
