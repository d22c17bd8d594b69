"""What a reply cost, and what it would have cost on the premium profile's primary model: pure."""

from __future__ import annotations

from .numbers import significant
from .profiles import chain_for
from .registry import Registry
from .types import ModelTarget, RoutingProfile, TaskType


def cost_of(registry: Registry, target: ModelTarget | None, input_tokens: int | None,
            output_tokens: int | None) -> float | None:
    """USD for the tokens at the registry's price; None when the price (or a count) is unknown."""
    if target is None or input_tokens is None or output_tokens is None:
        return None
    model = registry.get(target.provider, target.model)
    if model is None or not model.price_known():
        return None
    return significant((input_tokens * model.input_price + output_tokens * model.output_price) / 1_000_000)


def baseline_target(registry: Registry) -> ModelTarget | None:
    """The premium profile's primary model for general work: the price savings are measured against."""
    name = chain_for(RoutingProfile.PREMIUM, TaskType.GENERAL)[0]
    routes = registry.resolve(name)
    return routes[0].target if routes else None
