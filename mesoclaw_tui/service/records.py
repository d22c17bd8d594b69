"""The router settings and the views of them the service hands out: values, never rows.

The values of conversations and usage are in conversation_records, those of jobs in job_records, the
usage report in usage: each is imported when first used, so opening the service (what the app waits
for before it can show the profile) defines only these. They are named tuples, not dataclasses:
every CLI start defines them, and a named tuple is several times cheaper to define.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..core.types import RoutableModel, RoutingProfile, TaskType

# router settings and views ------------------------------------------------------------------------


class RouterConfig(NamedTuple):
    profile: RoutingProfile
    task_overrides: dict[TaskType, str]
    custom_routes: dict[TaskType, tuple[str, ...]]
    updated_at: str = ""


class RouteChange(NamedTuple):
    """What saving a task's custom route did. `outcome`: "saved"; "unchanged" (the same route was
    there: nothing written); "cleared" (the models are the profile's own chain, so the custom route
    was removed and the task follows the profile again); "profile" (the profile's own chain and
    there was no custom route: nothing written)."""

    task: TaskType
    profile: RoutingProfile
    models: tuple[str, ...]
    outcome: str

    @property
    def summary(self) -> str:
        task, profile = self.task.value, self.profile.value
        if self.outcome == "saved":
            return f"{task}: custom route saved: {' -> '.join(self.models)}"
        if self.outcome == "unchanged":
            return f"{task}: custom route unchanged, nothing saved"
        follows = f"{task} follows the profile's chain (and changes with the profile)"
        if self.outcome == "cleared":
            return f"{task}: that is the {profile} profile's own chain, so the custom route was removed: {follows}"
        return f"{task}: that is the {profile} profile's own chain, nothing saved: {follows}"


class ModelRow(NamedTuple):
    model: RoutableModel
    available: bool


class ChainEntry(NamedTuple):
    """One named entry of a task's effective chain, resolved to where it would go. `available` and
    `reason` always agree: available means the reason is the router's "kept"."""

    stage: str
    name: str
    provider: str | None
    model: str | None
    available: bool
    reason: str
    resolves_to: str = ""  # the successor standing in when `name` is retired

    @property
    def shown(self) -> str:
        """The model the entry routes to, by its name: the successor of a retired one."""
        return self.resolves_to or self.name

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "model": self.name, "resolves_to": self.resolves_to or None,
                "provider": self.provider, "provider_model": self.model, "available": self.available,
                "reason": self.reason}
