"""Lifecycle on a fixed day: status, a model a refreshed listing no longer has, and the outdated
references `router status` and `router models --outdated` show."""

from mesoclaw_tui.core.lifecycle import (
    is_outdated,
    mark_unlisted,
    status_label,
    status_on,
)
from mesoclaw_tui.core.outdated import outdated_references
from mesoclaw_tui.core.profiles import SEED_CHAINS, SEED_FALLBACKS
from mesoclaw_tui.core.registry import Registry, builtin_models
from mesoclaw_tui.core.types import Lifecycle, RoutableModel
from mesoclaw_tui.core.types import RoutingProfile as P
from mesoclaw_tui.core.types import TaskType as T

TODAY = "2026-12-01"
MODELS = builtin_models(TODAY)
REG = Registry(MODELS)


def model(name: str) -> RoutableModel:
    return REG.resolve(name)[0]


def test_status_follows_the_date():
    sonnet = model("claude-sonnet-4.5")  # retires 2026-11-30
    assert status_on(sonnet, "2026-10-01") is Lifecycle.DEPRECATED
    assert status_on(sonnet, "2026-11-30") is Lifecycle.RETIRED
    assert status_label(sonnet, TODAY) == "retired 2026-11-30"
    o3 = model("o3")  # retires 2026-12-11: ten days away
    assert status_on(o3, TODAY) is Lifecycle.DEPRECATED and is_outdated(o3, TODAY)
    gpt4o = model("gpt-4o")  # retires 2027-01-14: deprecated, but more than 30 days away
    assert status_on(gpt4o, TODAY) is Lifecycle.DEPRECATED and not is_outdated(gpt4o, TODAY)
    assert is_outdated(gpt4o, "2026-12-15")
    assert status_on(model("claude-haiku-4.5"), TODAY) is Lifecycle.LEGACY
    assert status_on(model("claude-sonnet-5.5"), TODAY) is Lifecycle.ACTIVE


def test_a_model_missing_from_a_refreshed_listing_is_retired_from_that_day():
    listed = [m.model_id for m in MODELS if m.provider == "openai" and m.model_id != "gpt-6.1-terra"]
    user = RoutableModel("openai", "ft:gpt-6:acme", "ft:gpt-6:acme", model("gpt-4o").cost_tier, source="user")
    after = {m.label: m for m in mark_unlisted([*MODELS, user], "openai", listed, TODAY)}
    gone = after["openai:gpt-6.1-terra"]
    assert gone.retired_on(TODAY) and not gone.retired_on("2026-11-30")
    assert status_label(gone, TODAY) == "not listed by provider" and "no longer listed it" in gone.note
    assert not after["openai:gpt-6.1-sol"].retired_on(TODAY)
    assert not after["openai:ft:gpt-6:acme"].retired_on(TODAY)  # the user's own addition is trusted
    assert not after["openrouter:openai/gpt-6-luna"].retired_on(TODAY)  # another provider's route
    local = mark_unlisted(MODELS, "ollama", [], TODAY)
    assert not any(m.retired_on(TODAY) for m in local if m.provider == "ollama")  # not pulled is not gone


def test_todays_profiles_name_nothing_outdated():
    assert outdated_references(REG, TODAY) == []


def test_outdated_references_in_chains_overrides_and_custom_routes_say_what_they_resolve_to():
    refs = outdated_references(REG, TODAY, overrides={T.ANALYSIS: "o3"},
                               custom_routes={T.FAST: ["gemini-2.0-flash", "gpt-6-luna"]},
                               chains=SEED_CHAINS, fallbacks=SEED_FALLBACKS, profiles=[P.BALANCED])
    messages = [r.message for r in refs]
    assert "balanced code chain: claude-sonnet-4.5 retired 2026-11-30 -> claude-sonnet-5.5" in messages
    assert "balanced code chain: gemini-2.0-flash retired 2026-06-01 -> gemini-3.8-flash" in messages
    assert "analysis override: o3 is deprecated, retires 2026-12-11; successor gpt-6.1-sol" in messages
    assert "fast custom route: gemini-2.0-flash retired 2026-06-01 -> gemini-3.8-flash" in messages
    assert not any("gpt-6-luna" in m or "gpt-4o " in m for m in messages)  # active, or not within 30 days
    override = next(r for r in refs if r.stage == "override")
    assert (override.status, override.resolves_to, override.retires) == (Lifecycle.DEPRECATED, "o3", "2026-12-11")


def test_a_retired_reference_without_a_successor_says_it_is_skipped():
    unlisted = Registry(mark_unlisted(MODELS, "google", [], TODAY))
    refs = outdated_references(unlisted, TODAY, custom_routes={T.CODE: ["google:gemini-4-argon"]}, profiles=[])
    assert [r.message for r in refs] == [f"code custom route: google:gemini-4-argon retired {TODAY}; "
                                         "no successor, it is skipped"]
