"""route(): the order of stages, a reason for every entry the router skipped, retired models
replaced by their successors, and capabilities a request needs."""

from dataclasses import replace

import pytest

from mesoclaw_tui.core.lifecycle import mark_unlisted, status_on
from mesoclaw_tui.core.profiles import CHAINS, FALLBACKS, SEED_CHAINS, SEED_FALLBACKS
from mesoclaw_tui.core.registry import BUILTIN_MODELS, Registry, builtin_models
from mesoclaw_tui.core.router import Availability, needs_for, pinned_route, route
from mesoclaw_tui.core.types import Capability, Lifecycle, Skip
from mesoclaw_tui.core.types import RoutingProfile as P
from mesoclaw_tui.core.types import TaskType as T

TODAY = "2026-12-01"  # a fresh install on the day the table was checked
REG = Registry(builtin_models(TODAY))
ALL = frozenset({"openai", "anthropic", "google", "groq", "ollama", "openrouter", "vercel"})


def decide(profile=P.BALANCED, task=T.CODE, overrides=None, routes=None, configured=ALL, tokens=0, *,
           registry=REG, today=TODAY, needs=frozenset(), **avail):
    return route(profile, task, overrides or {}, routes or {}, Availability(configured=configured, **avail),
                 tokens, registry, needs=needs, today=today)


def test_profiles_keep_the_seed_template_on_current_models():
    assert SEED_CHAINS[P.BALANCED][T.CODE] == ("claude-sonnet-4.5", "gpt-4o", "gemini-2.0-flash")
    assert SEED_CHAINS[P.ECO][T.CODE] == ("gemini-2.0-flash", "gpt-4o-mini", "llama-3.1-70b")
    assert SEED_CHAINS[P.PREMIUM][T.ANALYSIS] == ("claude-opus-4.5", "o3")
    assert SEED_FALLBACKS == {P.ECO: "gpt-4o-mini", P.BALANCED: "gpt-4o-mini", P.PREMIUM: "claude-sonnet-4.5"}
    for profile in P:
        for task in T:
            seed, current = SEED_CHAINS[profile][task], CHAINS[profile][task]
            assert len(seed) == len(current)
            for old, new in [*zip(seed, current, strict=True), (SEED_FALLBACKS[profile], FALLBACKS[profile])]:
                old_model, new_model = REG.resolve(old)[0], REG.resolve(new)[0]
                # Same vendor, same cost tier as the seed meant, and a model that exists today.
                assert (new_model.provider, new_model.cost_tier) == (old_model.provider, old_model.cost_tier), new
                assert status_on(new_model, TODAY) in (Lifecycle.ACTIVE, Lifecycle.LEGACY), new


@pytest.mark.parametrize("configured", [ALL, frozenset({"openrouter"}), frozenset({"vercel"})],
                         ids=["all providers", "only OpenRouter", "only Vercel"])
def test_every_profile_and_task_routes_to_a_model_that_exists_on_the_day(configured):
    for profile in P:
        for task in T:
            d = decide(profile, task, configured=configured)
            assert d.primary is not None, (profile, task)
            named = {(e.provider, e.model) for e in d.trace if e.kept and e.stage != "tier"}
            for provider, model_id in named | {(d.primary.provider, d.primary.model)}:
                model = REG.get(provider, model_id)
                assert status_on(model, TODAY) in (Lifecycle.ACTIVE, Lifecycle.LEGACY), (profile, task, model_id)
            assert d.primary.canonical == CHAINS[profile][task][0] or (
                not any(m.provider in configured for m in REG.resolve(CHAINS[profile][task][0])))


def test_chain_order_with_everything_configured():
    d = decide()
    assert [c.label for c in d.candidates][:3] == [
        "anthropic:claude-sonnet-5-5", "openrouter:anthropic/claude-sonnet-5.5", "vercel:anthropic/claude-sonnet-5.5"]
    canonicals = list(dict.fromkeys(c.canonical for c in d.candidates))
    assert canonicals[:4] == [*CHAINS[P.BALANCED][T.CODE], FALLBACKS[P.BALANCED]]


def test_a_retired_override_resolves_to_its_successor_and_says_so():
    d = decide(overrides={T.CODE: "claude-sonnet-4.5"}, configured=frozenset({"anthropic"}))
    retired = [e for e in d.trace if e.stage == "override" and e.outcome is Skip.RETIRED]
    assert retired and retired[0].model == "claude-sonnet-4-5-20250929"
    assert "retired 2026-11-30 -> claude-sonnet-5.5" in retired[0].detail
    assert d.primary.model == "claude-sonnet-5-5"
    standing_in = [e for e in d.replaced if e.kept]
    assert standing_in[0].stage == "override" and standing_in[0].name == "claude-sonnet-4.5"
    assert "claude-sonnet-4.5 retired 2026-11-30 -> claude-sonnet-5.5" in standing_in[0].detail


def test_before_its_retirement_date_the_model_is_still_routed_to():
    d = decide(overrides={T.CODE: "claude-sonnet-4.5"}, configured=frozenset({"anthropic"}), today="2026-11-29")
    assert d.primary.model == "claude-sonnet-4-5-20250929" and not d.replaced


def test_a_retired_custom_route_entry_resolves_through_successors_of_successors():
    # mixtral retired in 2025 for llama-3.3-70b, itself retired in August 2026 for gpt-oss-120b.
    d = decide(routes={T.CODE: ["mixtral-8x7b", "gemini-2.0-flash"]}, configured=frozenset({"groq", "google"}))
    assert [c.model for c in d.candidates][:2] == ["openai/gpt-oss-120b", "gemini-3.8-flash"]
    kept = {e.name: e.detail for e in d.replaced if e.kept}
    assert kept["mixtral-8x7b"].startswith("mixtral-8x7b retired 2025-03-20 -> gpt-oss-120b")
    assert kept["gemini-2.0-flash"].startswith("gemini-2.0-flash retired 2026-06-01 -> gemini-3.8-flash")


def test_a_pinned_provider_keeps_its_provider_for_the_successor():
    d = decide(overrides={T.CODE: "openrouter:anthropic/claude-sonnet-4.5"})
    assert d.primary.label == "openrouter:anthropic/claude-sonnet-5.5"


def test_a_chain_entry_that_retires_later_resolves_to_its_successor_from_that_day():
    announced = [replace(m, lifecycle=Lifecycle.DEPRECATED, retires="2027-03-01", successor="claude-opus-5.5")
                 if m.canonical == "claude-sonnet-5.5" else m for m in builtin_models(TODAY)]
    registry = Registry(announced)
    before = decide(registry=registry, today="2027-02-28")
    after = decide(registry=registry, today="2027-03-01")
    assert before.primary.canonical == "claude-sonnet-5.5" and not before.replaced
    assert after.primary.canonical == "claude-opus-5.5"
    flagged = [e for e in after.replaced if e.stage == "chain" and e.kept]
    assert flagged and "claude-sonnet-5.5 retired 2027-03-01 -> claude-opus-5.5" in flagged[0].detail


def test_a_model_the_providers_listing_no_longer_has_is_never_routed_to():
    listed = [m.model_id for m in BUILTIN_MODELS if m.provider == "anthropic" and m.canonical != "claude-sonnet-5.5"]
    registry = Registry(mark_unlisted(builtin_models(TODAY), "anthropic", listed, TODAY))
    only_anthropic = decide(registry=registry, configured=frozenset({"anthropic", "openai"}))
    assert "claude-sonnet-5-5" not in [c.model for c in only_anthropic.candidates]
    gone = next(e for e in only_anthropic.trace if e.model == "claude-sonnet-5-5")
    assert gone.outcome is Skip.RETIRED and "not listed by anthropic since 2026-12-01" in gone.detail
    assert only_anthropic.primary.model == "gpt-6.1-sol"
    # A gateway that still lists it still serves it.
    assert decide(registry=registry).primary.label == "openrouter:anthropic/claude-sonnet-5.5"


def test_override_then_custom_route_then_chain():
    d = decide(overrides={T.CODE: "gpt-6-astra"}, routes={T.CODE: ["gpt-6-luna"]}, configured=frozenset({"openai"}))
    assert [c.model for c in d.candidates][:3] == ["gpt-6-astra", "gpt-6-luna", "gpt-6.1-sol"]
    stages = [e.stage for e in d.trace if e.kept]
    assert stages[:3] == ["override", "custom", "chain"]
    # the fallback (gpt-6-luna) is already a candidate
    assert any(e.outcome is Skip.DUPLICATE and e.stage == "fallback" for e in d.trace)


def test_unconfigured_entries_say_which_env_var_to_set():
    d = decide(configured=frozenset({"openai"}))
    skipped = {e.name: e.reason for e in d.trace if e.stage == "chain" and e.provider == "anthropic"}
    assert "ANTHROPIC_API_KEY" in skipped["claude-sonnet-5.5"]
    assert d.primary.model == "gpt-6.1-sol"


def test_nothing_configured_gives_no_candidates_and_reasons():
    d = decide(configured=frozenset())
    assert d.candidates == () and d.primary is None
    assert all(not e.kept for e in d.trace)


def test_context_too_small_skips_with_reason():
    d = decide(routes={T.CODE: ["gpt-oss-120b"]}, configured=frozenset({"anthropic", "groq"}), tokens=150_000)
    assert d.primary.model == "claude-sonnet-5-5"
    reasons = [e for e in d.trace if e.provider == "groq" and e.outcome is Skip.CONTEXT_TOO_SMALL]
    assert reasons and "150,000" in reasons[0].detail and "131,072" in reasons[0].detail


@pytest.mark.parametrize("need,name,skipped,reason", [
    (Capability.IMAGE_INPUT, "gpt-oss-120b", "openai/gpt-oss-120b", "no image input"),
    (Capability.TOOLS, "codellama-34b", "codellama:34b", "no tool support"),
    (Capability.PARALLEL_TOOLS, "gpt-oss-20b", "openai/gpt-oss-20b", "no parallel tool calls"),
    (Capability.REASONING, "llama-3.1-70b", "llama3.1:70b", "no reasoning"),
])
def test_a_candidate_lacking_a_needed_capability_is_skipped_with_the_reason(need, name, skipped, reason):
    d = decide(P.ECO, T.CODE, routes={T.CODE: [name]}, needs=frozenset({need}))
    assert skipped not in [c.model for c in d.candidates]
    entry = next(e for e in d.trace if e.model == skipped)
    assert entry.outcome is Skip.MISSING_CAPABILITY and entry.detail == reason
    assert d.needs == frozenset({need})


def test_capabilities_pick_a_model_that_has_them():
    needs = needs_for(tools=True, images=True)
    assert needs == {Capability.TOOLS, Capability.IMAGE_INPUT}
    d = decide(P.ECO, T.CODE, configured=frozenset({"groq", "openai"}), needs=needs)
    assert d.primary.model == "gpt-6-luna"
    assert all(Capability.IMAGE_INPUT in REG.get(c.provider, c.model).capabilities for c in d.candidates)


def test_only_a_gateway_key_still_routes_every_profile_and_task():
    for gateway in ("openrouter", "vercel"):
        for profile in P:
            for task in T:
                d = decide(profile, task, configured=frozenset({gateway}))
                assert d.primary is not None and d.primary.provider == gateway
                assert d.primary.canonical == CHAINS[profile][task][0]


def test_fallback_then_tier_order():
    d = decide(P.ECO, T.CODE, configured=frozenset({"groq"}))
    kept = [e for e in d.trace if e.kept]
    assert kept and all(e.stage == "tier" for e in kept)
    tiers = [c.cost_tier.value for c in d.candidates]
    assert tiers == sorted(tiers, key=["low", "medium"].index) and tiers[0] == "low"  # eco: low, then medium
    assert "llama-3.3-70b-versatile" not in [c.model for c in d.candidates]  # retired: never a tier pick


def test_retired_and_live_unavailable_and_cooldown_are_skipped():
    d = decide(routes={T.CODE: ["gemini-1.5-pro"]}, configured=frozenset({"google", "openai"}),
               unavailable_models=frozenset({("openai", "gpt-6.1-sol")}), cooling=frozenset({"google"}))
    outcomes = {(e.name, e.provider, e.model): e.outcome for e in d.trace}
    assert outcomes[("gemini-1.5-pro", "google", "gemini-1.5-pro")] is Skip.RETIRED
    assert outcomes[("gpt-6.1-sol", "openai", "gpt-6.1-sol")] is Skip.UNAVAILABLE
    assert outcomes[("gemini-1.5-pro", "google", "gemini-4-argon")] is Skip.COOLDOWN  # its successor


def test_unknown_names_in_custom_route_are_reported_not_fatal():
    d = decide(routes={T.CODE: ["no-such-model"]})
    assert d.trace[0].outcome is Skip.NO_PROVIDER
    assert d.primary is not None


def test_a_pinned_retired_model_gets_its_successor():
    d = pinned_route(P.BALANCED, T.CODE, "gpt-4-turbo", Availability(configured=ALL), 0, REG, today=TODAY)
    assert d.primary.model == "gpt-6.1-sol" and d.replaced


@pytest.mark.parametrize("profile", list(P))
def test_route_is_pure_and_cached(profile):
    a = decide(profile)
    b = decide(profile)
    assert a is b  # memoised per registry
    assert a == route(profile, T.CODE, {}, {}, Availability(configured=ALL), 0, Registry(builtin_models(TODAY)),
                      today=TODAY)
    # "today" is an input like any other: another day may route elsewhere.
    later = decide(profile, overrides={T.CODE: "claude-sonnet-4.5"}, today="2026-11-01")
    assert later.primary.canonical == "claude-sonnet-4.5"


def test_profile_cycle_and_tiers():
    assert P.ECO.next() is P.BALANCED and P.PREMIUM.next() is P.ECO
    assert [t.value for t in P.BALANCED.tier_preference] == ["medium", "low", "high"]
    assert [t.value for t in P.PREMIUM.tier_preference] == ["high", "medium"]
