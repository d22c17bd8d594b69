"""Cost for any model: a provider's model ID (as `models refresh` or `models add` bring it) priced
from the genai-prices data, matched the way genai-prices matches it, without importing it."""

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mesoclaw_tui.core import model_data, price_data
from mesoclaw_tui.core.prices import lookup_price, with_data_prices
from mesoclaw_tui.core.types import CostTier, RoutableModel
from tests.conftest import REPO

TODAY = "2026-12-01"


@pytest.mark.parametrize("provider,model_id,matched", [
    ("openai", "gpt-6.1-sol", "openai:gpt-6.1-sol"),
    ("openai", "gpt-6-luna-2026-09-22", "openai:gpt-6-luna"),  # a dated snapshot a refresh lists
    ("anthropic", "claude-sonnet-5-5-20260928", "anthropic:claude-sonnet-5-5"),
    ("anthropic", "claude-haiku-4-5-20251001", "anthropic:claude-haiku-4-5"),
    ("google", "gemini-3.8-flash-20260902", "google:gemini-3.8-flash"),
    ("google", "claude-opus-4-5@20251101", "google:claude-opus-4-5"),  # Google serves Claude too
    ("groq", "qwen/qwen3.8-27b", "groq:qwen/qwen3.8-27b"),
    ("openrouter", "anthropic/claude-opus-5.5", "openrouter:anthropic/claude-opus-5.5"),
    ("vercel", "anthropic/claude-sonnet-5.5", "anthropic:claude-sonnet-5-5"),  # the creator's list price
    ("vercel", "xai/grok-4.3", "x-ai:grok-4.3"),
])
def test_refreshed_and_added_ids_are_priced_from_the_data(provider, model_id, matched):
    match = lookup_price(provider, model_id, TODAY)
    assert match is not None and match.matched == matched and match.price_known
    assert match.source == f"genai-prices {price_data.GENAI_PRICES_VERSION}" and match.as_of == price_data.DATA_DATE
    assert match.approx is (provider == "vercel")


def test_unknown_only_when_nothing_matches_and_local_models_cost_nothing():
    assert lookup_price("openai", "no-such-model-anywhere", TODAY) is None
    assert lookup_price("vercel", "nobody/unknown-model", TODAY) is None
    local = lookup_price("ollama", "qwen3:8b", TODAY)
    assert (local.input_price, local.output_price, local.source) == (0.0, 0.0, "local")


def test_price_steps_and_dated_prices_are_reported():
    luna = lookup_price("openai", "gpt-6-luna", TODAY)
    assert "above 272,000 prompt tokens" in luna.tiers
    assert lookup_price("google", "gemini-4-argon", "2026-11-30").input_price < \
        lookup_price("google", "gemini-4-argon", TODAY).input_price


def test_a_refreshed_model_without_prices_gets_the_datas_marked_as_such():
    listed = RoutableModel("openrouter", "anthropic/claude-haiku-5.5", "claude-haiku-5.5", CostTier.LOW,
                           source="refresh")
    priced = with_data_prices(listed, TODAY)
    assert priced.price_known() and priced.price_source == f"genai-prices {price_data.GENAI_PRICES_VERSION}"
    assert priced.as_of == price_data.DATA_DATE and priced.context_window == 1_000_000
    own = RoutableModel("openai", "gpt-6-luna", "gpt-6-luna", CostTier.LOW, input_price=9.0, output_price=9.0)
    assert with_data_prices(own, TODAY) is own  # a price the provider listed wins
    unknown = with_data_prices(RoutableModel("groq", "brand-new", "brand-new", CostTier.LOW), TODAY)
    assert not unknown.price_known() and unknown.price_source == "unknown"


def test_matching_agrees_with_genai_prices_itself():
    genai_prices = pytest.importorskip("genai_prices")
    from genai_prices.data import providers

    ours = {"openai": "openai", "anthropic": "anthropic", "google": "google", "groq": "groq",
            "openrouter": "openrouter"}
    when = datetime(2026, 12, 1, 12, tzinfo=UTC)
    refs = [(mine, m.id) for p in providers if p.id in ours.values() for mine in ours if ours[mine] == p.id
            for m in p.models]
    refs += [("openai", "gpt-6.1-sol-2026-09-29"), ("anthropic", "claude-opus-5-5-20260921"),
             ("vercel", "anthropic/claude-opus-5.5"), ("vercel", "openai/gpt-6.1-terra"),
             ("vercel", "google/gemini-3.8-flash"), ("vercel", "mistral/mistral-large-latest")]
    compared = 0
    for provider, model_id in refs:
        try:
            theirs = genai_prices.calc_price(genai_prices.Usage(input_tokens=1_000, output_tokens=1_000),
                                             model_id, provider_id="litellm" if provider == "vercel" else provider,
                                             genai_request_timestamp=when)
        except LookupError:
            assert lookup_price(provider, model_id, TODAY) is None, (provider, model_id)
            continue
        mine = lookup_price(provider, model_id, TODAY)
        assert mine is not None, (provider, model_id)
        assert mine.matched.split(":", 1)[1] == theirs.model.id, (provider, model_id)
        per_thousand = Decimal(1_000) / Decimal(1_000_000)  # 1,000 tokens: below any size tier
        if mine.input_price is not None:
            assert Decimal(str(mine.input_price)) * per_thousand == theirs.input_price, (provider, model_id)
        if mine.output_price is not None:
            assert Decimal(str(mine.output_price)) * per_thousand == theirs.output_price, (provider, model_id)
        compared += 1
    assert compared > 900


def test_the_data_modules_are_what_the_pinned_genai_prices_gives():
    pytest.importorskip("genai_prices")
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "update_registry.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import genai_prices

    assert model_data.GENAI_PRICES_VERSION == price_data.GENAI_PRICES_VERSION == genai_prices.__version__
    pin = next(line for line in (REPO / "pyproject.toml").read_text().splitlines() if "genai-prices==" in line)
    assert f"genai-prices=={genai_prices.__version__}" in pin


def test_headless_router_status_imports_neither_pydantic_nor_genai_prices(isolated_env):
    code = textwrap.dedent("""
        import sys
        from mesoclaw_tui.cli.main import main
        for args in (["router", "status", "--json"], ["router", "models", "--json"]):
            assert main(args) == 0
        print(sorted(m for m in ("pydantic", "genai_prices", "mesoclaw_tui.core.price_data") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
