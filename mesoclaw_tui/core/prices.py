"""The price of any model a provider serves, matched the way genai-prices matches it.

The data is genai-prices' own (its providers, their model-matching clauses and prices, prices
that change on a date, prices that step up above a prompt size), generated into `price_data.py`
by `scripts/update_registry.py`; the matching below mirrors genai-prices' `find_provider_model`
so that nothing of genai-prices (nor pydantic) is imported at run time. `price_data` is large and
imported only when a price is looked up, never on the routing path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from .schedule import Schedule, base_price, prices_on, tiers_text
from .types import CostTier, RoutableModel, real_today

# Our provider -> the genai-prices provider that prices it. Vercel's AI Gateway is not in
# genai-prices: its IDs are `creator/model` and it bills the creator's list price, so it is
# matched the way genai-prices matches a LiteLLM `creator/model` reference.
GENAI_PROVIDER = {"openai": "openai", "anthropic": "anthropic", "google": "google", "groq": "groq",
                  "openrouter": "openrouter", "vercel": "litellm"}
LOCAL_PROVIDERS = frozenset({"ollama"})

Clause = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class PriceMatch:
    """What the data says about one provider's model, and where that came from."""

    provider: str
    model_id: str
    matched: str  # "<genai provider>:<genai model id>", or "local"
    input_price: float | None  # USD per 1M tokens, for prompts below any size tier
    output_price: float | None
    context_window: int | None
    deprecated: bool
    tiers: str  # "" or how prices step up above a prompt size
    source: str  # "genai-prices 0.2.3", or "local" for a model that runs on the user's machine
    as_of: str  # the date of the data
    approx: bool = False  # priced through an assumption (a gateway billing the creator's list price)

    @property
    def price_known(self) -> bool:
        return self.input_price is not None and self.output_price is not None


def lookup_price(provider: str, model_id: str, today: str | None = None) -> PriceMatch | None:
    """The price of `model_id` as `provider` serves it (as `models refresh` or `models add` bring
    it), from the genai-prices data; None only when nothing in the data matches."""
    if provider in LOCAL_PROVIDERS:
        return PriceMatch(provider, model_id, "local", 0.0, 0.0, None, False, "", "local", "")
    genai_id = GENAI_PROVIDER.get(provider)
    if genai_id is None:
        return None
    from . import price_data

    found = find_provider_model(price_data.PROVIDERS, model_id, genai_id)
    if found is None:
        return None
    genai_provider, record = found
    return match_from_record(provider, model_id, f"{genai_provider}:{record[0]}", record[2], record[3],
                             record[4], today, source=f"genai-prices {price_data.GENAI_PRICES_VERSION}",
                             as_of=price_data.DATA_DATE, approx=provider == "vercel")


def match_from_record(provider: str, model_id: str, matched: str, context_window: int | None,
                      deprecated: bool, schedule: Schedule, today: str | None, *, source: str,
                      as_of: str, approx: bool = False) -> PriceMatch:
    input_spec, output_spec = prices_on(schedule, today or real_today())
    return PriceMatch(provider, model_id, matched, base_price(input_spec), base_price(output_spec), context_window,
                      deprecated, tiers_text(input_spec, output_spec), source, as_of, approx)


def with_data_prices(model: RoutableModel, today: str | None = None) -> RoutableModel:
    """A model added by `models refresh` or `models add` with the data's price where it has none
    of its own (and the data's context window where it has none), marked as such."""
    if model.price_known():
        return model
    match = lookup_price(model.provider, model.model_id, today)
    if match is None or not match.price_known:
        return replace(model, price_source=model.price_source or "unknown")
    return replace(model, input_price=match.input_price, output_price=match.output_price,
                   context_window=model.context_window or match.context_window,
                   price_source=match.source, as_of=match.as_of, approx=model.approx or match.approx)


def tier_for_price(input_price: float | None, provider: str) -> CostTier:
    """The cost tier a model's input price (USD per 1M tokens) puts it in: the rule the built-ins'
    current models follow, and what a model `models refresh` newly finds gets."""
    if provider in LOCAL_PROVIDERS or (input_price is not None and input_price < 0.6):
        return CostTier.LOW
    if input_price is not None and input_price >= 4.0:
        return CostTier.HIGH
    return CostTier.MEDIUM


# Matching, as genai-prices does it (data_snapshot.find_provider_model and types.Provider.find_model).

def find_provider_model(providers: dict[str, Any], model_ref: str, provider_id: str
                        ) -> tuple[str, tuple[Any, ...]] | None:
    model_ref = model_ref.lower()
    if provider_id == "litellm" and "/" in model_ref:
        creator, rest = model_ref.split("/", 1)
        if creator and _provider_by_id(providers, creator):
            provider_id, model_ref = _provider_by_id(providers, creator), rest
    pid = _provider_by_id(providers, provider_id)
    if pid is None:
        if provider_id != "litellm":
            return None
        pid = next((p for p, rec in providers.items() if rec[1] is not None and matches(rec[1], model_ref)),
                   None)
        if pid is None:
            return None
    model = _find_model(providers, pid, model_ref)
    return (pid, model) if model is not None else None


def _provider_by_id(providers: dict[str, Any], provider_id: str) -> str | None:
    wanted = provider_id.lower().strip()
    if wanted in providers:
        return wanted
    return next((p for p, rec in providers.items() if rec[0] is not None and matches(rec[0], wanted)), None)


def _find_model(providers: dict[str, Any], pid: str, model_ref: str) -> tuple[Any, ...] | None:
    found = _match_model(providers, pid, model_ref, fallback=True)
    if found is None:
        normalized = _COMPACT_DATE.sub(_dashed_date, model_ref)
        if normalized != model_ref:
            found = _match_model(providers, pid, normalized, fallback=True)
    return found


def _match_model(providers: dict[str, Any], pid: str, model_ref: str, fallback: bool) -> tuple[Any, ...] | None:
    _provider_match, _model_match, fallbacks, models = providers[pid]
    for record in models:
        if matches(record[1], model_ref):
            return record
    if fallback:  # one step of fallback only, as genai-prices does
        for other in fallbacks:
            if other in providers and (found := _match_model(providers, other, model_ref, False)):
                return found
    return None


def matches(clause: Clause, text: str) -> bool:
    """One genai-prices match clause against a lower-cased model reference. The clauses' own
    strings are stored lower-cased (genai-prices compares case-insensitively), regexes as they are."""
    kind, arg = clause
    if kind == "eq":
        return text == arg
    if kind == "sw":
        return text.startswith(arg)
    if kind == "ew":
        return text.endswith(arg)
    if kind == "in":
        return arg in text
    if kind == "re":
        return _regex(arg).search(text) is not None
    if kind == "or":
        return any(matches(c, text) for c in arg)
    return all(matches(c, text) for c in arg)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_COMPACT_DATE = re.compile(r"(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)")


def _dashed_date(match: re.Match[str]) -> str:
    """`-20251211` -> `-2025-12-11`, as genai-prices retries compact dated references."""
    import datetime

    year, month, day = (int(match.group(i)) for i in range(2, 5))
    try:
        datetime.date(year, month, day)
    except ValueError:
        return match.group(0)
    return f"{match.group(1)}{year:04d}-{month:02d}-{day:02d}"
