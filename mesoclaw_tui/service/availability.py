"""What can serve right now, from the providers' recorded health and their last listings. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..core.router import Availability
from ..core.types import RoutableModel
from .models import Listing

CHECK_TTL_S = 900.0  # a live check's model listing feeds routing this long

States = Mapping[str, Mapping[str, Any]]  # provider -> its provider_state row


def troubled_providers(states: States) -> set[str]:
    """Providers with any failure on record: only their successes need writing down."""
    return {p for p, st in states.items()
            if st.get("failures") or st.get("cooldown_until") or st.get("unusable_until")}


def freshly_checked(states: States, now: float) -> set[str]:
    """Providers whose last live check passed less than CHECK_TTL_S ago."""
    return {p for p, st in states.items()
            if st.get("last_check_ok") and (st.get("last_check_at") or 0) > now - CHECK_TTL_S}


def unlisted_models(checked: Iterable[str], listing: Listing, models: Iterable[RoutableModel]) -> set[tuple[str, str]]:
    """(provider, model id) of the models a freshly checked provider did not list. A user's own
    addition is trusted over the listing (a 404 still marks it)."""
    out: set[tuple[str, str]] = set()
    models = list(models)
    for provider in checked:
        listed = {m["model_id"] for m in listing.get(provider, ())}
        if listed:
            out.update((m.provider, m.model_id) for m in models
                       if m.provider == provider and m.source != "user" and m.model_id not in listed)
    return out


def availability_from(configured: frozenset[str], states: States, unavailable: Iterable[tuple[str, str]],
                      now: float) -> Availability:
    """Configured providers, less what cooldowns, failed keys and 404s (and the caller's unlisted
    models, folded into `unavailable`) rule out."""
    return Availability(
        configured=configured,
        unavailable_models=frozenset(unavailable),
        unavailable_providers=frozenset(p for p, st in states.items() if (st.get("unusable_until") or 0) > now),
        cooling=frozenset(p for p, st in states.items() if (st.get("cooldown_until") or 0) > now),
    )
