"""The registry's models: user additions checked and priced, and builtins merged with what providers
list (priced when listed). Pure."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..core.lifecycle import mark_unlisted
from ..core.model_ids import MAX_MODEL_ID_LENGTH, model_id_problem
from ..core.provider_info import provider_info
from ..core.registry import BUILTIN_MODELS, canonical_for
from ..core.types import CostTier, MesoclawError, RoutableModel, parse_tier

MAX_TOKENS_LIMIT = 100_000_000  # larger than any context window; guards against typos
MAX_PRICE = 10_000.0  # USD per 1M tokens
NOT_LISTED = "not listed by provider"
LISTED_PRICE = "provider listing"  # the price_source of prices a provider's own listing gave
# Model lists (OpenAI's above all) include models that cannot chat; a refresh must not route to them.
NOT_CHAT = re.compile(
    r"embed|tts|whisper|dall-e|moderation|davinci|babbage|transcribe|audio|realtime|image|search"
    r"|computer-use|sora|rerank|guard|vision-preview|instruct$", re.IGNORECASE)
NUMBER_FIELDS = (("context_window", int, MAX_TOKENS_LIMIT), ("max_output", int, MAX_TOKENS_LIMIT),
                 ("input_price", float, MAX_PRICE), ("output_price", float, MAX_PRICE))

Listing = Mapping[str, Sequence[Mapping[str, Any]]]  # provider -> the models it listed (provider_models rows)


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


PRICE_FIELDS = ("input_price", "output_price")


def already_added(provider: str, model_id: str) -> str:
    return (f"{provider}:{model_id} was added before; change some of its fields with `mesoclaw router models "
            f"update {provider} {model_id} --tier …` (the others are kept), or give every field again with --replace")


def no_such_user_model(provider: str, model_id: str, users: Sequence[str]) -> str:
    choices = ", ".join(users) if users else "none have been added"
    return f"no user-added model '{model_id}' for {provider} (user-added models: {choices})"


def updated_user_model(existing: Mapping[str, Any], given: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A stored user model with the given fields changed, checked as a new one is; and which fields
    changed. Prices given become the user's; prices not given keep their source and date."""
    merged = {**existing, **given}
    row = validate_user_model(merged)
    if any(k in given for k in PRICE_FIELDS):
        row.update(price_source="user", price_as_of=None, price_approx=0)
    else:
        row.update({k: existing.get(k) for k in ("price_source", "price_as_of", "price_approx")})
    changed = [k for k in given if row[k] != existing.get(k)]
    return row, changed


def refuse_builtin(row: Mapping[str, Any]) -> None:
    if any(m.provider == row["provider"] and m.model_id == row["model_id"] for m in BUILTIN_MODELS):
        raise MesoclawError(
            f"{row['provider']}:{row['model_id']} is a built-in model; add a model the registry lacks "
            "(`mesoclaw router models --provider " + row["provider"] + "` lists the built-ins)"
        )


def user_model(row: Mapping[str, Any]) -> RoutableModel:
    source = row.get("price_source")
    known = row["input_price"] is not None and row["output_price"] is not None
    return RoutableModel(
        provider=row["provider"], model_id=row["model_id"], canonical=row["canonical"],
        cost_tier=CostTier(row["cost_tier"]), context_window=row["context_window"],
        max_output=row.get("max_output"), input_price=row["input_price"], output_price=row["output_price"],
        best_for=row.get("best_for") or "User-added", source="user",
        as_of=row.get("price_as_of") or str(row.get("created_at") or "")[:10], approx=bool(row.get("price_approx")),
        price_source=source or ("user" if known else "unknown"),
    )


def priced_user_model(row: Mapping[str, Any], today: str) -> dict[str, Any]:
    """A user model row given without prices, with the price data's price where it matches (marked with
    its source and date); as given otherwise. Loads the price data: only when a model is added."""
    if row["input_price"] is not None:
        return dict(row)
    from ..core.prices import lookup_price

    match = lookup_price(row["provider"], row["model_id"], today)
    if match is None or not match.price_known:
        return dict(row)
    return {**row, "input_price": match.input_price, "output_price": match.output_price,
            "price_source": _data_source(match), "price_as_of": match.as_of, "price_approx": int(match.approx)}


def priced_listing(provider: str, rows: Iterable[Mapping[str, Any]], today: str) -> list[dict[str, Any]]:
    """A provider's listed models (`providers check`, `models refresh`), each with where its prices come
    from: its own listing, else the price data (and the data's context window where the listing has
    none), else unknown. Done when listed, so reading the registry never loads the price data."""
    from ..core.prices import lookup_price

    out = []
    for row in rows:
        row = dict(row)
        if row.get("input_price") is not None and row.get("output_price") is not None:
            out.append({**row, "price_source": LISTED_PRICE, "price_as_of": today, "price_approx": 0})
            continue
        match = lookup_price(provider, row["id"], today)
        if match is None or not match.price_known:
            out.append({**row, "price_source": "unknown", "price_as_of": "", "price_approx": 0})
            continue
        out.append({**row, "input_price": match.input_price, "output_price": match.output_price,
                    "context_window": row.get("context_window") or match.context_window,
                    "price_source": _data_source(match), "price_as_of": match.as_of, "price_approx": int(match.approx)})
    return out


def _data_source(match: Any) -> str:
    return match.source if match.matched == "local" else f"{match.source} ({match.matched})"


# the registry merge -----------------------------------------------------------------------------------


def _corrected(model: RoutableModel, listed: Mapping[str, Mapping[str, Any]]) -> RoutableModel:
    """A builtin of a refreshed provider, with the context, output and prices the provider now gives
    (where its own listing gives them; the price data's are the builtin's already)."""
    row = listed.get(model.model_id)
    if row is None:
        return model
    own_price = row.get("price_source") in (LISTED_PRICE, None) and row["input_price"] is not None \
        and row["output_price"] is not None
    return replace(
        model,
        context_window=row["context_window"] or model.context_window,
        max_output=row["max_output"] or model.max_output,
        input_price=row["input_price"] if own_price else model.input_price,
        output_price=row["output_price"] if own_price else model.output_price,
        price_source=LISTED_PRICE if own_price else model.price_source,
    )


def _listed_model(provider: str, row: Mapping[str, Any], today: str) -> RoutableModel:
    from ..core.prices import tier_for_price

    listed_on = time.strftime("%Y-%m-%d", time.gmtime(row["listed_at"]))
    model = RoutableModel(
        provider=provider, model_id=row["model_id"], canonical=canonical_for(provider, row["model_id"]),
        cost_tier=CostTier.LOW, context_window=row["context_window"], max_output=row["max_output"],
        input_price=row["input_price"], output_price=row["output_price"], best_for="Listed by the provider",
        source="refresh", as_of=row.get("price_as_of") or listed_on, approx=bool(row.get("price_approx")),
        price_source=row.get("price_source") or "",
    )
    if not model.price_source:  # listed before prices were stored with the listing (schema < 4)
        from ..core.prices import with_data_prices

        model = with_data_prices(model, today)
    return replace(model, cost_tier=tier_for_price(model.input_price, provider),
                   approx=model.approx or not model.price_known())


def merged_models(builtins: Iterable[RoutableModel], refreshed: Mapping[str, str], listing: Listing,
                  today: str) -> list[RoutableModel]:
    """Builtins, corrected by the last `router models refresh` of each provider in `refreshed` (provider
    -> the day of that refresh): models it no longer lists are retired from that day (their successors
    take over), models it newly lists (that can chat) are added, priced. User additions are not part of
    this: they are never touched."""
    models: list[RoutableModel] = []
    known: set[tuple[str, str]] = set()
    for model in builtins:
        known.add((model.provider, model.model_id))
        if model.provider in refreshed:
            model = _corrected(model, {m["model_id"]: m for m in listing.get(model.provider, ())})
        models.append(model)
    for provider, day in sorted(refreshed.items()):
        rows = listing.get(provider, ())
        models = mark_unlisted(models, provider, [row["model_id"] for row in rows], day)
        models.extend(_listed_model(provider, row, today) for row in rows
                      if (provider, row["model_id"]) not in known and not NOT_CHAT.search(row["model_id"]))
    return models
