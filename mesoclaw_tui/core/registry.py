"""The prepopulated models of every provider, and lookup by canonical name, alias or provider ID.

A built-in is our curated entry (`catalog.py`: names, tier, lifecycle, successor, capabilities)
with the numbers of the pinned genai-prices data (`model_data.py`: prices, context window, the
provider's deprecation flag). A model served by several providers shares one canonical name, so
`gpt-4o` resolves to OpenAI when its key is set, otherwise to a configured gateway that serves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from . import model_data
from .catalog import CATALOG, LIFECYCLE, CatalogEntry, ModelLife
from .lifecycle import label_for
from .provider_info import PROVIDERS, provider_info
from .schedule import base_price, prices_on, tiers_text
from .types import CostTier, Lifecycle, MesoclawError, RoutableModel, real_today

DATA_SOURCE = f"genai-prices {model_data.GENAI_PRICES_VERSION}"
AS_OF = model_data.DATA_DATE
_UNRECORDED = ModelLife(Lifecycle.ACTIVE)


def builtin_models(today: str | None = None) -> tuple[RoutableModel, ...]:
    """Every built-in route with the data's prices as they stand on `today` (default: the real date;
    genai-prices records prices that change on a date)."""
    today = today or real_today()
    return tuple(_builtin(entry, today) for entry in CATALOG)


def _builtin(entry: CatalogEntry, today: str) -> RoutableModel:
    life = LIFECYCLE.get(entry.canonical, _UNRECORDED)
    lifecycle, notes = life.lifecycle, [n for n in (life.note, entry.note) if n]
    fact = model_data.FACTS.get((entry.provider, entry.model_id))
    price_in = price_out = context = None
    price_source, approx = "", entry.approx
    if entry.provider == "ollama":
        price_in = price_out = 0.0
        price_source = "local"
    elif fact is not None:
        matched, context, deprecated, schedule = fact
        input_spec, output_spec = prices_on(schedule, today)
        price_in, price_out = base_price(input_spec), base_price(output_spec)
        price_source = f"{DATA_SOURCE} ({matched})"
        # A gateway bills the creator's list price: an assumption, so the facts are approximate.
        approx = approx or entry.provider == "vercel"
        if steps := tiers_text(input_spec, output_spec):
            notes.append(f"price steps up: {steps}")
        if deprecated and lifecycle in (Lifecycle.ACTIVE, Lifecycle.LEGACY):
            lifecycle = Lifecycle.DEPRECATED
            notes.append("genai-prices flags it deprecated")
    else:
        notes.append("genai-prices has no price for it")
    status = "local" if entry.provider == "ollama" else label_for(lifecycle, life.retires, today)
    return RoutableModel(
        provider=entry.provider, model_id=entry.model_id, canonical=entry.canonical, cost_tier=entry.tier,
        context_window=context or entry.context_window, max_output=entry.max_output, input_price=price_in,
        output_price=price_out, best_for=entry.best_for, status=status, source="builtin", as_of=AS_OF,
        approx=approx, aliases=entry.aliases, lifecycle=lifecycle, retires=life.retires, successor=life.successor,
        capabilities=life.capabilities, price_source=price_source, note="; ".join(notes),
    )


# The built-ins as they stand on the real date (a process's lifetime is far shorter than a price's).
BUILTIN_MODELS: tuple[RoutableModel, ...] = builtin_models()


def canonical_for(provider: str, model_id: str) -> str:
    """The canonical name of a model a user adds or a refresh finds: a gateway's `creator/model`
    is the vendor's `model`, so a gateway route joins the vendor's canonical entry."""
    name = model_id.strip()
    if PROVIDERS[provider].gateway and "/" in name:
        name = name.split("/", 1)[1]
    return name


def _key(name: str) -> str:
    return name.strip().lower()


class Registry:
    """Every routable model, builtin and user-added, with lookups by any name a user may type.

    Names resolve in this order: `provider:model_id` pins a provider; a canonical name or an alias
    gives every provider that serves it, the vendor's own first, then gateways.
    """

    def __init__(self, models: Iterable[RoutableModel]):
        merged: dict[tuple[str, str], RoutableModel] = {}
        for model in models:  # later entries (user additions, refreshed facts) replace earlier ones
            merged[(model.provider, model.model_id)] = model
        provider_order = {p: i for i, p in enumerate(PROVIDERS)}
        self.models: tuple[RoutableModel, ...] = tuple(merged.values())
        self._by_id = merged
        # Routing decisions are pure functions of their inputs and this registry, so they are
        # memoised here and die with it (a new model means a new Registry).
        self.route_cache: dict = {}
        self._replacements: dict[tuple[str, str, str], list[RoutableModel]] = {}
        self._by_name: dict[str, list[RoutableModel]] = {}
        for model in self.models:
            for name in {model.canonical, model.model_id, *model.aliases}:
                bucket = self._by_name.setdefault(_key(name), [])
                if model not in bucket:
                    bucket.append(model)
        # For the router's last-resort stage: the usable models of each tier, in registry order.
        # Retired ones are skipped there by date, like everywhere else; of the rest, models with a
        # retirement announced come last.
        self.by_tier: dict[CostTier, tuple[RoutableModel, ...]] = {
            tier: tuple(sorted((m for m in self.models if m.cost_tier is tier), key=lambda m: bool(m.retires)))
            for tier in CostTier
        }
        self.targets = {key: model.target for key, model in merged.items()}
        for bucket in self._by_name.values():
            # The vendor itself first, gateways after; among equals, registry order.
            bucket.sort(key=lambda m: (PROVIDERS[m.provider].gateway, provider_order[m.provider]))
        # The router reads these for every decision: tuples, built once.
        self._routes: dict[str, tuple[RoutableModel, ...]] = {k: tuple(v) for k, v in self._by_name.items()}

    def replacement(self, model: RoutableModel, today: str) -> list[RoutableModel]:
        """The routes of the first model along `model`'s successors that is not retired on `today`
        (a successor may itself have retired since); empty when the line ends without one."""
        key = (model.provider, model.model_id, today)
        found = self._replacements.get(key)
        if found is None:
            found, seen, current = [], {model.canonical}, model
            while current.successor and current.successor not in seen:
                seen.add(current.successor)
                routes = self.resolve(current.successor)
                live = [m for m in routes if not m.retired_on(today)]
                if live:
                    found = live
                    break
                if not routes:
                    break
                current = routes[0]
            self._replacements[key] = found
        return found

    def get(self, provider: str, model_id: str) -> RoutableModel | None:
        return self._by_id.get((provider, model_id))

    def resolve(self, name: str) -> Sequence[RoutableModel]:
        """Every provider route for a model name (canonical, alias, API ID or `provider:model`)."""
        found = self._routes.get(name)  # the common case: a name exactly as the registry spells it
        if found is not None:
            return found
        provider, sep, model_id = name.partition(":")
        if sep and provider.strip().lower() in PROVIDERS:
            provider = provider.strip().lower()
            found = self._by_id.get((provider, model_id.strip()))
            if found is None:
                found = next((m for m in self._by_name.get(_key(model_id), ()) if m.provider == provider),
                             None)
            return (found,) if found else ()
        return self._routes.get(_key(name), ())

    def require(self, name: str) -> Sequence[RoutableModel]:
        """Like resolve, but an unknown name is a user error naming how to find valid ones."""
        found = self.resolve(name)
        if not found:
            close = self.suggest(name)
            hint = f" (did you mean: {', '.join(close)}?)" if close else ""
            raise MesoclawError(
                f"unknown model '{name}'{hint}; `mesoclaw router models` lists the valid choices"
            )
        return found

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        import difflib

        names = sorted({m.canonical for m in self.models})
        return difflib.get_close_matches(name.strip().lower(), names, n=limit, cutoff=0.6)

    def filter(self, provider: str | None = None, tier: str | None = None) -> list[RoutableModel]:
        if provider is not None:
            provider = provider_info(provider).id
        return [
            m for m in self.models
            if (provider is None or m.provider == provider) and (tier is None or m.cost_tier == tier)
        ]

    def canonical_names(self) -> list[str]:
        return sorted({m.canonical for m in self.models})
