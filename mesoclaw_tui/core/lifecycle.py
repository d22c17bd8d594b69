"""Model lifecycle on a given day: status, its label, and what a model the provider stopped listing
becomes. (Which chains, overrides and custom routes name such a model: `outdated.py`, which reads
the registry; the registry reads this module for its labels.)

Pure: every function takes "today" as an ISO date (the faces pass the real date).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from .types import Lifecycle, RoutableModel

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
