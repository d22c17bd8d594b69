"""route(): the order of stages, and a reason for every entry the router skipped."""

import pytest

from mesoclaw_tui.core.profiles import CHAINS, FALLBACKS
from mesoclaw_tui.core.registry import BUILTIN_MODELS, Registry
from mesoclaw_tui.core.router import Availability, route
from mesoclaw_tui.core.types import RoutingProfile as P
from mesoclaw_tui.core.types import Skip
from mesoclaw_tui.core.types import TaskType as T

REG = Registry(BUILTIN_MODELS)
ALL = frozenset({"openai", "anthropic", "google", "groq", "ollama", "openrouter", "vercel"})


def decide(profile=P.BALANCED, task=T.CODE, overrides=None, routes=None, configured=ALL, tokens=0, **avail):
    return route(profile, task, overrides or {}, routes or {}, Availability(configured=configured, **avail),
                 tokens, REG)


def test_seed_table_is_exact():
    assert CHAINS[P.BALANCED][T.CODE] == ("claude-sonnet-4.5", "gpt-4o", "gemini-2.0-flash")
    assert CHAINS[P.ECO][T.CODE] == ("gemini-2.0-flash", "gpt-4o-mini", "llama-3.1-70b")
    assert CHAINS[P.PREMIUM][T.ANALYSIS] == ("claude-opus-4.5", "o3")
    assert FALLBACKS == {P.ECO: "gpt-4o-mini", P.BALANCED: "gpt-4o-mini", P.PREMIUM: "claude-sonnet-4.5"}
    for profile in P:
        for task in T:
            for name in (*CHAINS[profile][task], FALLBACKS[profile]):
                assert REG.resolve(name), name


def test_chain_order_with_everything_configured():
    d = decide()
    assert [c.label for c in d.candidates][:3] == [
        "anthropic:claude-sonnet-4-5-20250929", "openrouter:anthropic/claude-sonnet-4.5",
        "vercel:anthropic/claude-sonnet-4.5"]
    assert d.primary.provider == "anthropic"
    canonicals = list(dict.fromkeys(c.canonical for c in d.candidates))
    assert canonicals[:4] == ["claude-sonnet-4.5", "gpt-4o", "gemini-2.0-flash", "gpt-4o-mini"]


def test_override_then_custom_route_then_chain():
    d = decide(overrides={T.CODE: "o3"}, routes={T.CODE: ["gpt-4o-mini"]}, configured=frozenset({"openai"}))
    assert [c.model for c in d.candidates][:4] == ["o3", "gpt-4o-mini", "gpt-4o", "gpt-4-turbo"]
    stages = [e.stage for e in d.trace if e.kept]
    assert stages[:3] == ["override", "custom", "chain"]
    # the chain's gpt-4o-mini (fallback) is already a candidate
    assert any(e.outcome is Skip.DUPLICATE and e.stage == "fallback" for e in d.trace)


def test_unconfigured_entries_say_which_env_var_to_set():
    d = decide(configured=frozenset({"openai"}))
    skipped = {e.name: e.reason for e in d.trace if e.stage == "chain" and e.provider == "anthropic"}
    assert "ANTHROPIC_API_KEY" in skipped["claude-sonnet-4.5"]
    assert d.primary.model == "gpt-4o"


def test_nothing_configured_gives_no_candidates_and_reasons():
    d = decide(configured=frozenset())
    assert d.candidates == () and d.primary is None
    assert all(not e.kept for e in d.trace)


def test_context_too_small_skips_with_reason():
    d = decide(task=T.GENERAL, configured=frozenset({"openai", "google"}), tokens=150_000)
    assert "gpt-4o" not in [c.model for c in d.candidates]
    reasons = [e for e in d.trace if e.name == "gpt-4o" and e.provider == "openai"]
    assert reasons[0].outcome is Skip.CONTEXT_TOO_SMALL and "150,000" in reasons[0].detail
    assert d.primary.model in {"o3", "o4-mini", "gemini-2.0-flash"}  # windows that hold it


def test_only_a_gateway_key_still_routes_every_profile_and_task():
    for profile in P:
        for task in T:
            d = decide(profile, task, configured=frozenset({"openrouter"}))
            assert d.primary is not None and d.primary.provider == "openrouter"
            chain_first = REG.resolve(CHAINS[profile][task][0])
            if any(m.provider == "openrouter" for m in chain_first):
                assert d.primary.canonical == CHAINS[profile][task][0]


def test_fallback_then_tier_order():
    d = decide(P.ECO, T.CODE, configured=frozenset({"groq"}))
    kept = [e for e in d.trace if e.kept]
    assert kept and all(e.stage == "tier" for e in kept)
    assert all(c.cost_tier.value == "low" for c in d.candidates)  # eco prefers low first


def test_retired_and_live_unavailable_and_cooldown_are_skipped():
    d = decide(routes={T.CODE: ["gemini-1.5-pro"]}, configured=frozenset({"google", "openai"}),
               unavailable_models=frozenset({("openai", "gpt-4o")}), cooling=frozenset({"google"}))
    outcomes = {(e.name, e.provider): e.outcome for e in d.trace}
    assert outcomes[("gemini-1.5-pro", "google")] is Skip.RETIRED
    assert outcomes[("gpt-4o", "openai")] is Skip.UNAVAILABLE
    assert outcomes[("gemini-2.0-flash", "google")] is Skip.COOLDOWN


def test_unknown_names_in_custom_route_are_reported_not_fatal():
    d = decide(routes={T.CODE: ["no-such-model"]})
    assert d.trace[0].outcome is Skip.NO_PROVIDER
    assert d.primary is not None


@pytest.mark.parametrize("profile", list(P))
def test_route_is_pure_and_cached(profile):
    a = decide(profile)
    b = decide(profile)
    assert a is b  # memoised per registry
    assert a == route(profile, T.CODE, {}, {}, Availability(configured=ALL), 0, Registry(BUILTIN_MODELS))


def test_profile_cycle_and_tiers():
    assert P.ECO.next() is P.BALANCED and P.PREMIUM.next() is P.ECO
    assert [t.value for t in P.BALANCED.tier_preference] == ["medium", "low", "high"]
    assert [t.value for t in P.PREMIUM.tier_preference] == ["high", "medium"]
