"""The registry: the seed's seven provider tables with today's API IDs, today's lineups, numbers
from the pinned genai-prices data, and any spelling of a model's name."""

import pytest

from mesoclaw_tui.core import model_data
from mesoclaw_tui.core.catalog import LIFECYCLE
from mesoclaw_tui.core.prices import lookup_price, tier_for_price
from mesoclaw_tui.core.profiles import CHAINS, FALLBACKS, SEED_CHAINS
from mesoclaw_tui.core.registry import BUILTIN_MODELS, Registry, builtin_models, canonical_for
from mesoclaw_tui.core.types import MesoclawError

TODAY = "2026-12-01"
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
SEED_MODELS = {n for chains in SEED_CHAINS.values() for names in chains.values() for n in names}


@pytest.fixture
def registry() -> Registry:
    return Registry(builtin_models(TODAY))


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


def test_todays_lineups_are_in_the_registry(registry):
    for name in ("claude-opus-5.5", "claude-sonnet-5.5", "claude-haiku-5.5", "claude-fable-5.2", "gpt-6-astra",
                 "gpt-6.1-sol", "gpt-6-luna", "gemini-4-argon", "gemini-3.8-flash", "gpt-oss-120b"):
        assert registry.resolve(name), name
    assert registry.resolve("claude-sonnet-5-5")[0].model_id == "claude-sonnet-5-5"  # Anthropic's own spelling


def test_prices_and_context_windows_are_the_pinned_datas(registry):
    priced = [m for m in registry.models if (m.provider, m.model_id) in model_data.FACTS]
    assert len(priced) >= len(registry.models) - 6  # the Ollama rows and one free gateway row
    for model in priced:
        match = lookup_price(model.provider, model.model_id, TODAY)
        assert (model.input_price, model.output_price) == (match.input_price, match.output_price), model.label
        assert model.context_window == match.context_window or match.context_window is None, model.model_id
        assert model.price_source.startswith(f"genai-prices {model_data.GENAI_PRICES_VERSION}")
        assert model.as_of == model_data.DATA_DATE
    assert all(m.price_source == "local" and m.input_price == 0 for m in registry.models if m.provider == "ollama")


def test_prices_that_change_on_a_date_are_those_of_the_day():
    before = {m.label: m.input_price for m in builtin_models("2026-11-30")}
    after = {m.label: m.input_price for m in builtin_models(TODAY)}
    changed = {label for label in after if before[label] != after[label]}
    assert changed  # genai-prices 0.2.3 has Gemini 4 Argon doubling on 2026-12-01
    for label in changed:
        provider, model_id = label.split(":", 1)
        assert lookup_price(provider, model_id, "2026-11-30").input_price == before[label]


def test_current_models_sit_in_the_tier_their_price_gives_today(registry):
    seed = {registry.resolve(f"{p}:{m}")[0].canonical for p, ms in SEED_TABLES.items() for m in ms}
    current = [m for m in registry.models if m.canonical not in seed | SEED_MODELS]
    assert len(current) > 20
    for model in current:
        assert model.cost_tier is tier_for_price(model.input_price, model.provider), model.label


def test_every_model_a_profile_names_records_its_lifecycle_and_capabilities(registry):
    for name in {n for chains in CHAINS.values() for names in chains.values() for n in names} | set(FALLBACKS.values()):
        for model in registry.resolve(name):
            assert model.canonical in LIFECYCLE and model.capabilities, model.label


def test_retired_models_name_a_successor_the_registry_knows(registry):
    for model in registry.models:
        if model.retired_on(TODAY) and model.successor:
            assert registry.replacement(model, TODAY), model.label


def test_canonical_name_lists_vendor_first_then_gateways(registry):
    assert [m.provider for m in registry.resolve("gpt-4o")] == ["openai", "openrouter", "vercel"]
    assert [m.provider for m in registry.resolve("claude-sonnet-4-5")][0] == "anthropic"


def test_names_are_case_insensitive_and_unknown_names_suggest(registry):
    assert registry.resolve("GPT-4o")
    with pytest.raises(MesoclawError, match="did you mean: gpt-4o"):
        registry.require("gpt-4oo")


def test_gateway_user_models_join_the_vendor_canonical_name():
    assert canonical_for("openrouter", "mistralai/mistral-large") == "mistral-large"
    assert canonical_for("openai", "ft:gpt-4o:acme") == "ft:gpt-4o:acme"


def test_the_real_dates_builtins_are_the_module_constant():
    assert BUILTIN_MODELS == builtin_models()
