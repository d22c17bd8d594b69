"""The registry's models: user additions checked, and builtins merged with what providers list. Pure."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..core.model_ids import MAX_MODEL_ID_LENGTH, model_id_problem
from ..core.provider_info import provider_info
from ..core.registry import BUILTIN_MODELS, canonical_for
from ..core.types import CostTier, MesoclawError, RoutableModel, parse_tier

MAX_TOKENS_LIMIT = 100_000_000  # larger than any context window; guards against typos
MAX_PRICE = 10_000.0  # USD per 1M tokens
NOT_LISTED = "not listed by provider"
# Model lists (OpenAI's above all) include models that cannot chat; a refresh must not route to them.
NOT_CHAT = re.compile(
    r"embed|tts|whisper|dall-e|moderation|davinci|babbage|transcribe|audio|realtime|image|search"
    r"|computer-use|sora|rerank|guard|vision-preview|instruct$", re.IGNORECASE)
NUMBER_FIELDS = (("context_window", int, MAX_TOKENS_LIMIT), ("max_output", int, MAX_TOKENS_LIMIT),
                 ("input_price", float, MAX_PRICE), ("output_price", float, MAX_PRICE))

Listing = Mapping[str, Sequence[Mapping[str, Any]]]  # provider -> the models it listed (provider_models rows)


def tier_for_price(input_price: float | None, provider: str) -> CostTier:
    """A cost tier for a model a provider newly lists, from its input price (USD per 1M tokens)."""
    if provider == "ollama" or (input_price is not None and input_price < 0.6):
        return CostTier.LOW
    if input_price is not None and input_price >= 4.0:
        return CostTier.HIGH
    return CostTier.MEDIUM


# user models ------------------------------------------------------------------------------------------


def _number(key: str, value: Any, kind: type, limit: float) -> int | float | None:
    if value is None:
        return None
    try:
        value = kind(value)
    except (TypeError, ValueError, OverflowError):
        raise MesoclawError(f"{key} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value < 0 or (kind is int and value == 0) or value > limit:
        raise MesoclawError(f"{key} must be a positive number up to {limit:,}, got {value}")
    return value


def validate_user_model(row: Mapping[str, Any]) -> dict[str, Any]:
    """A user model row, checked: known provider, a model ID, a tier, non-negative numbers."""
    provider = provider_info(str(row["provider"])).id
    model_id = str(row["model_id"] or "").strip()
    problem = model_id_problem(model_id)
    if problem:
        raise MesoclawError(f"the model ID must be 1 to {MAX_MODEL_ID_LENGTH} printable characters with no "
                            f"spaces: got an ID {problem}")
    tier = parse_tier(str(row["cost_tier"]))
    out = {"provider": provider, "model_id": model_id, "canonical": canonical_for(provider, model_id),
           "cost_tier": tier.value, "best_for": str(row.get("best_for") or "")}
    for key, kind, limit in NUMBER_FIELDS:
        out[key] = _number(key, row.get(key), kind, limit)
    if (out["input_price"] is None) != (out["output_price"] is None):
        raise MesoclawError("give both --price-in and --price-out, or neither (the price is then unknown)")
    return out


def refuse_builtin(row: Mapping[str, Any]) -> None:
    if any(m.provider == row["provider"] and m.model_id == row["model_id"] for m in BUILTIN_MODELS):
        raise MesoclawError(
            f"{row['provider']}:{row['model_id']} is a built-in model; add a model the registry lacks "
            "(`mesoclaw router models --provider " + row["provider"] + "` lists the built-ins)"
        )


def user_model(row: Mapping[str, Any]) -> RoutableModel:
    return RoutableModel(
        provider=row["provider"], model_id=row["model_id"], canonical=row["canonical"],
        cost_tier=CostTier(row["cost_tier"]), context_window=row["context_window"],
        max_output=row.get("max_output"), input_price=row["input_price"], output_price=row["output_price"],
        best_for=row.get("best_for") or "User-added", source="user", as_of=str(row.get("created_at") or "")[:10],
    )


# the registry merge -----------------------------------------------------------------------------------


def _corrected(model: RoutableModel, listed: Mapping[str, Mapping[str, Any]]) -> RoutableModel:
    """A builtin of a refreshed provider: marked when the provider no longer lists it, otherwise with
    the context, output and prices the provider now gives (where it gives them)."""
    row = listed.get(model.model_id)
    if row is None:
        return model if model.provider == "ollama" else replace(model, status=NOT_LISTED)
    return replace(
        model,
        context_window=row["context_window"] or model.context_window,
        max_output=row["max_output"] or model.max_output,
        input_price=row["input_price"] if row["input_price"] is not None else model.input_price,
        output_price=row["output_price"] if row["output_price"] is not None else model.output_price,
    )


def _listed_model(provider: str, row: Mapping[str, Any]) -> RoutableModel:
    return RoutableModel(
        provider=provider, model_id=row["model_id"], canonical=canonical_for(provider, row["model_id"]),
        cost_tier=tier_for_price(row["input_price"], provider), context_window=row["context_window"],
        max_output=row["max_output"], input_price=row["input_price"], output_price=row["output_price"],
        best_for="Listed by the provider", source="refresh",
        as_of=time.strftime("%Y-%m-%d", time.gmtime(row["listed_at"])), approx=row["input_price"] is None,
    )


def merged_models(builtins: Iterable[RoutableModel], refreshed: set[str], listing: Listing) -> list[RoutableModel]:
    """Builtins, corrected by the last `router models refresh` of each provider in `refreshed`: models
    it no longer lists are marked, models it newly lists (that can chat) are added. User additions are
    not part of this: they are never touched."""
    models: list[RoutableModel] = []
    known: set[tuple[str, str]] = set()
    for model in builtins:
        known.add((model.provider, model.model_id))
        if model.provider in refreshed:
            model = _corrected(model, {m["model_id"]: m for m in listing.get(model.provider, ())})
        models.append(model)
    for provider in sorted(refreshed):
        models.extend(_listed_model(provider, row) for row in listing.get(provider, ())
                      if (provider, row["model_id"]) not in known and not NOT_CHAT.search(row["model_id"]))
    return models
