"""The prepopulated models of every provider, and lookup by canonical name, alias or provider ID.

Facts come from shared/reference/models.md (as of late 2026). A model served by several providers
shares one canonical name (the seed's chain spelling), so `gpt-4o` resolves to OpenAI when its key
is set, otherwise to a configured gateway that serves it.
"""

from __future__ import annotations

from collections.abc import Iterable

from .provider_info import PROVIDERS, provider_info
from .types import CostTier, MesoclawError, RoutableModel

L, M, H = CostTier.LOW, CostTier.MEDIUM, CostTier.HIGH
AS_OF = "2026-11"


def _m(provider, model_id, canonical, tier, ctx, max_out, price_in, price_out, best_for, status="",
       approx=False, aliases=(), source_note=""):
    return RoutableModel(
        provider=provider, model_id=model_id, canonical=canonical, cost_tier=tier, context_window=ctx,
        max_output=max_out, input_price=price_in, output_price=price_out, best_for=best_for,
        status=status, source="builtin", as_of=AS_OF, approx=approx, aliases=tuple(aliases),
    )


# The seed's seven provider tables, with real API IDs; the seed's spellings are aliases.
BUILTIN_MODELS: tuple[RoutableModel, ...] = (
    # OpenAI
    _m("openai", "gpt-4o", "gpt-4o", M, 128_000, 16_384, 2.50, 10.00, "General purpose"),
    _m("openai", "gpt-4o-mini", "gpt-4o-mini", L, 128_000, 16_384, 0.15, 0.60, "Fast, cost-effective"),
    _m("openai", "gpt-4-turbo", "gpt-4-turbo", M, 128_000, 4_096, 10.00, 30.00, "Legacy compatibility",
       status="legacy", approx=True),
    _m("openai", "o3", "o3", H, 200_000, 100_000, 2.00, 8.00, "Reasoning, analysis"),
    _m("openai", "o4-mini", "o4-mini", M, 200_000, 100_000, 1.10, 4.40, "Reasoning (cheaper)"),
    _m("openai", "gpt-3.5-turbo", "gpt-3.5-turbo", L, 16_385, 4_096, 0.50, 1.50, "Simple tasks",
       status="legacy", approx=True),
    # Anthropic: the seed's dated IDs are not accepted by the API; the real ones are.
    _m("anthropic", "claude-opus-4-5-20251101", "claude-opus-4.5", H, 200_000, 64_000, 5.00, 25.00,
       "Complex reasoning", status="legacy",
       aliases=("claude-opus-4-5", "claude-opus-4-5-20250219")),
    _m("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4.5", M, 200_000, 64_000, 3.00, 15.00,
       "Code, general", status="deprecated, retires 2026-11-30",
       aliases=("claude-sonnet-4-5", "claude-sonnet-4-5-20250219")),
    _m("anthropic", "claude-haiku-4-5-20251001", "claude-haiku-4.5", L, 200_000, 64_000, 1.00, 5.00,
       "Fast responses", status="legacy", aliases=("claude-haiku-4-5",)),
    # Google AI (served through its OpenAI-compatible endpoint)
    _m("google", "gemini-2.0-flash", "gemini-2.0-flash", L, 1_048_576, 8_192, 0.10, 0.40,
       "Fast, cost-effective", status="deprecated"),
    _m("google", "gemini-1.5-pro", "gemini-1.5-pro", M, 2_097_152, 8_192, 1.25, 5.00, "General purpose",
       status="shut down 2025-09-24"),
    _m("google", "gemini-1.5-flash", "gemini-1.5-flash", L, 1_048_576, 8_192, 0.075, 0.30, "Quick tasks",
       status="shut down", approx=True),
    # Groq
    _m("groq", "llama-3.3-70b-versatile", "llama-3.3-70b", L, 131_072, 32_768, 0.59, 0.79, "Fast inference",
       aliases=("llama-3.3-70b-versatile",)),
    _m("groq", "llama-3.1-8b-instant", "llama-3.1-8b", L, 131_072, 8_192, 0.05, 0.08, "Ultra-fast",
       aliases=("llama-3.1-8b-instant",)),
    _m("groq", "mixtral-8x7b-32768", "mixtral-8x7b", L, 32_768, None, 0.24, 0.24, "Balanced",
       status="deprecated", approx=True, aliases=("mixtral-8x7b-32768",)),
    # Ollama (local: runs on the user's machine, no per-token price)
    _m("ollama", "llama3.2:3b", "llama-3.2-3b", L, 128_000, None, 0.0, 0.0, "Fast local", status="local",
       aliases=("llama3.2:3b",)),
    _m("ollama", "llama3.1:70b", "llama-3.1-70b", M, 128_000, None, 0.0, 0.0, "Quality local",
       status="local", aliases=("llama3.1:70b",)),
    _m("ollama", "codellama:34b", "codellama-34b", M, 16_000, None, 0.0, 0.0, "Code local", status="local",
       aliases=("codellama:34b",)),
    _m("ollama", "deepseek-coder:33b", "deepseek-coder-33b", M, 16_000, None, 0.0, 0.0, "Code local",
       status="local", aliases=("deepseek-coder:33b",)),
    # OpenRouter (multi-provider); the seed's rows first.
    _m("openrouter", "anthropic/claude-sonnet-4", "claude-sonnet-4", M, 200_000, None, 3.00, 15.00,
       "Via OpenRouter", approx=True),
    _m("openrouter", "openai/gpt-4o", "gpt-4o", M, 128_000, None, 2.50, 10.00, "Via OpenRouter"),
    _m("openrouter", "google/gemini-2.0-flash-exp:free", "gemini-2.0-flash-exp", L, 1_048_576, None,
       0.0, 0.0, "Via OpenRouter", status="free tier, rate-limited", approx=True,
       aliases=("google/gemini-2.0-flash-exp",)),
    _m("openrouter", "deepseek/deepseek-chat", "deepseek-chat", L, 64_000, None, 0.30, 1.20,
       "Budget option", approx=True),
    # Vercel AI Gateway; the seed's rows.
    _m("vercel", "anthropic/claude-sonnet-4.5", "claude-sonnet-4.5", M, 200_000, None, 3.00, 15.00,
       "Via Gateway", aliases=("anthropic/claude-sonnet-4-5",)),
    _m("vercel", "openai/gpt-4o", "gpt-4o", M, 128_000, None, 2.50, 10.00, "Via Gateway"),
    _m("vercel", "google/gemini-2.0-flash", "gemini-2.0-flash", L, 1_048_576, None, 0.10, 0.40,
       "Via Gateway"),
    # Gateway routes for the other models the profiles' chains name, so a user with only a gateway
    # key still gets every chain working. Gateways pass the vendor's price through.
    _m("openrouter", "openai/gpt-4o-mini", "gpt-4o-mini", L, 128_000, 16_384, 0.15, 0.60, "Via OpenRouter"),
    _m("openrouter", "anthropic/claude-sonnet-4.5", "claude-sonnet-4.5", M, 200_000, 64_000, 3.00, 15.00,
       "Via OpenRouter"),
    _m("openrouter", "anthropic/claude-opus-4.5", "claude-opus-4.5", H, 200_000, 64_000, 5.00, 25.00,
       "Via OpenRouter"),
    _m("openrouter", "anthropic/claude-haiku-4.5", "claude-haiku-4.5", L, 200_000, 64_000, 1.00, 5.00,
       "Via OpenRouter"),
    _m("openrouter", "openai/o3", "o3", H, 200_000, 100_000, 2.00, 8.00, "Via OpenRouter"),
    _m("openrouter", "google/gemini-2.0-flash-001", "gemini-2.0-flash", L, 1_048_576, 8_192, 0.10, 0.40,
       "Via OpenRouter"),
    _m("vercel", "openai/gpt-4o-mini", "gpt-4o-mini", L, 128_000, 16_384, 0.15, 0.60, "Via Gateway"),
    _m("vercel", "anthropic/claude-opus-4.5", "claude-opus-4.5", H, 200_000, 64_000, 5.00, 25.00,
       "Via Gateway"),
    _m("vercel", "anthropic/claude-haiku-4.5", "claude-haiku-4.5", L, 200_000, 64_000, 1.00, 5.00,
       "Via Gateway"),
    _m("vercel", "openai/o3", "o3", H, 200_000, 100_000, 2.00, 8.00, "Via Gateway"),
)


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
        self._by_name: dict[str, list[RoutableModel]] = {}
        for model in self.models:
            for name in {model.canonical, model.model_id, *model.aliases}:
                bucket = self._by_name.setdefault(_key(name), [])
                if model not in bucket:
                    bucket.append(model)
        # For the router's last-resort stage: the usable models of each tier, in registry order.
        self.by_tier: dict[CostTier, tuple[RoutableModel, ...]] = {
            tier: tuple(m for m in self.models if m.cost_tier is tier and not m.retired) for tier in CostTier
        }
        self.targets = {key: model.target for key, model in merged.items()}
        for bucket in self._by_name.values():
            # The vendor itself first, gateways after; among equals, registry order.
            bucket.sort(key=lambda m: (PROVIDERS[m.provider].gateway, provider_order[m.provider]))

    def get(self, provider: str, model_id: str) -> RoutableModel | None:
        return self._by_id.get((provider, model_id))

    def resolve(self, name: str) -> list[RoutableModel]:
        """Every provider route for a model name (canonical, alias, API ID or `provider:model`)."""
        provider, sep, model_id = name.partition(":")
        if sep and provider.strip().lower() in PROVIDERS:
            provider = provider.strip().lower()
            found = self._by_id.get((provider, model_id.strip()))
            if found is None:
                found = next((m for m in self._by_name.get(_key(model_id), ()) if m.provider == provider),
                             None)
            return [found] if found else []
        return list(self._by_name.get(_key(name), ()))

    def require(self, name: str) -> list[RoutableModel]:
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
