"""The registry holds the seed's seven provider tables with today's API IDs and resolves any spelling."""

import pytest

from mesoclaw_tui.core.registry import BUILTIN_MODELS, Registry, canonical_for
from mesoclaw_tui.core.types import CostTier, MesoclawError

SEED_TABLES = {
    "openai": ["gpt-4o", "gpt-4o-mini", "gpt-4-turbo", "o3", "o4-mini", "gpt-3.5-turbo"],
    "anthropic": ["claude-opus-4-5-20250219", "claude-sonnet-4-5-20250219", "claude-haiku-4-5-20251001"],
    "google": ["gemini-2.0-flash", "gemini-1.5-pro", "gemini-1.5-flash"],
    "groq": ["llama-3.3-70b-versatile", "llama-3.1-8b-instant", "mixtral-8x7b-32768"],
    "ollama": ["llama3.2:3b", "llama3.1:70b", "codellama:34b", "deepseek-coder:33b"],
    "openrouter": ["anthropic/claude-sonnet-4", "openai/gpt-4o", "google/gemini-2.0-flash-exp",
                   "deepseek/deepseek-chat"],
    "vercel": ["anthropic/claude-sonnet-4-5", "openai/gpt-4o", "google/gemini-2.0-flash"],
}


@pytest.fixture
def registry() -> Registry:
    return Registry(BUILTIN_MODELS)


@pytest.mark.parametrize("provider,seed_id", [(p, m) for p, ms in SEED_TABLES.items() for m in ms])
def test_every_seed_model_resolves_on_its_provider(registry, provider, seed_id):
    found = registry.resolve(f"{provider}:{seed_id}")
    assert len(found) == 1 and found[0].provider == provider


def test_seed_anthropic_dates_map_to_real_api_ids(registry):
    assert registry.resolve("anthropic:claude-sonnet-4-5-20250219")[0].model_id == "claude-sonnet-4-5-20250929"
    assert registry.resolve("anthropic:claude-opus-4-5-20250219")[0].model_id == "claude-opus-4-5-20251101"
    assert registry.resolve("vercel:anthropic/claude-sonnet-4-5")[0].model_id == "anthropic/claude-sonnet-4.5"
    assert registry.resolve("openrouter:google/gemini-2.0-flash-exp")[0].model_id == \
        "google/gemini-2.0-flash-exp:free"


def test_facts_match_the_reference(registry):
    o3 = registry.get("openai", "o3")
    assert (o3.input_price, o3.output_price, o3.context_window, o3.cost_tier) == (2.0, 8.0, 200_000, CostTier.HIGH)
    sonnet = registry.get("anthropic", "claude-sonnet-4-5-20250929")
    assert sonnet.status.startswith("deprecated") and sonnet.max_output == 64_000
    assert registry.get("google", "gemini-1.5-pro").retired
    assert registry.get("openai", "gpt-4-turbo").approx
    assert all(m.as_of and m.source == "builtin" for m in registry.models)


def test_canonical_name_lists_vendor_first_then_gateways(registry):
    providers = [m.provider for m in registry.resolve("gpt-4o")]
    assert providers == ["openai", "openrouter", "vercel"]
    assert [m.provider for m in registry.resolve("claude-sonnet-4-5")][0] == "anthropic"


def test_names_are_case_insensitive_and_unknown_names_suggest(registry):
    assert registry.resolve("GPT-4o")
    with pytest.raises(MesoclawError, match="did you mean: gpt-4o"):
        registry.require("gpt-4oo")


def test_gateway_user_models_join_the_vendor_canonical_name():
    assert canonical_for("openrouter", "mistralai/mistral-large") == "mistral-large"
    assert canonical_for("openai", "ft:gpt-4o:acme") == "ft:gpt-4o:acme"
