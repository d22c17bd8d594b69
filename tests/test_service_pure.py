"""The service's pure parts, without a database: the export/import document, usage aggregation, the
registry merge after a refresh, and availability from recorded provider health."""

from __future__ import annotations

import pytest

from mesoclaw_tui.core.registry import BUILTIN_MODELS, Registry
from mesoclaw_tui.core.router import Availability, route
from mesoclaw_tui.core.types import (
    CostTier,
    Lifecycle,
    MesoclawError,
    ModelTarget,
    RoutableModel,
    RoutingProfile,
    Skip,
    TaskType,
)
from mesoclaw_tui.service.availability import (
    availability_from,
    freshly_checked,
    troubled_providers,
    unlisted_models,
)
from mesoclaw_tui.service.config_file import export_document, parse_import
from mesoclaw_tui.service.conversation_records import UsageRecord
from mesoclaw_tui.service.models import LISTED_PRICE, NOT_LISTED, merged_models, priced_listing
from mesoclaw_tui.service.records import RouterConfig
from mesoclaw_tui.service.usage import NONE_ANSWERED, summarise_usage

USER_ROW = {"provider": "openrouter", "model_id": "mistralai/mistral-large", "canonical": "mistral-large",
            "cost_tier": "medium", "context_window": 128_000, "max_output": None, "input_price": 2.0,
            "output_price": 6.0, "best_for": "European languages"}

# export / import -----------------------------------------------------------------------------------------


def test_an_export_imports_back_to_the_same_settings_and_models() -> None:
    config = RouterConfig(RoutingProfile.ECO, {TaskType.CODE: "o3"},
                          {TaskType.ANALYSIS: ("claude-sonnet-4.5", "mistralai/mistral-large")})
    document = export_document(config, [USER_ROW])
    assert document["models"] == [{"provider": "openrouter", "model": "mistralai/mistral-large", "tier": "medium",
                                   "context_window": 128_000, "input_price": 2.0, "output_price": 6.0,
                                   "best_for": "European languages"}]
    imported = parse_import(document)
    assert imported.profile is RoutingProfile.ECO
    assert imported.task_overrides == {TaskType.CODE: "o3"}
    assert imported.custom_routes == {TaskType.ANALYSIS: ["claude-sonnet-4.5", "mistralai/mistral-large"]}
    assert [(m["provider"], m["model_id"], m["canonical"]) for m in imported.models] == [
        ("openrouter", "mistralai/mistral-large", "mistral-large")]


@pytest.mark.parametrize(("document", "needle"), [
    ([], "must hold a [router] table"),
    ({"router": {}, "extra": 1}, "extra is not a known key (valid: format, router, models)"),
    ({"format": 2, "router": {}}, "format must be 1"),
    ({"format": True, "router": {}}, "format must be 1 (a file from `mesoclaw router export`), got true"),
    ({}, "names nothing to import"),
    ({"router": {"profile": "eco", "colour": "red"}},
     "router.colour is not a known key (valid: profile, task_overrides, custom_routes)"),
    ({"router": {"profile": "cheap"}}, "router.profile must be one of eco, balanced, premium, got the string 'cheap'"),
    ({"router": {}, "models": {}}, "array of tables"),
    ({"router": {}, "models": [{"provider": "openai", "model": "x"}]}, "models[1].tier is missing"),
    ({"router": {}, "models": [{"provider": "openai", "model": "gpt-4o", "tier": "medium"}]}, "is a built-in model"),
    ({"router": {}, "models": [{"provider": "groq", "model": "m", "tier": "low"}] * 2}, "models[2] lists groq:m twice"),
    ({"router": {}, "models": [{"provider": "groq", "model": "m", "tier": "low", "context_window": -1}]},
     "models[1].context_window must be a positive integer up to 100,000,000, got -1"),
    ({"router": {"task_overrides": []}}, "router.task_overrides must be a table, got an empty array"),
    ({"router": {"task_overrides": {"code": 3}}}, "router.task_overrides.code must be a string, got 3"),
    ({"router": {"task_overrides": {"code": "no-such-model"}}}, "no-such-model"),
    ({"router": {"task_overrides": {"cooking": "o3"}}}, "unknown task 'cooking'"),
    ({"router": {"custom_routes": {"code": []}}},
     "router.custom_routes.code must be an array of 1 to 32 model names, got an empty array"),
])
def test_a_bad_document_is_refused_with_the_reason(document: object, needle: str) -> None:
    with pytest.raises(MesoclawError) as raised:
        parse_import(document)
    assert needle in str(raised.value)


def test_an_imported_user_model_can_be_named_by_the_overrides_of_the_same_file() -> None:
    imported = parse_import({"router": {"task_overrides": {"fast": "groq:my-model"}},
                             "models": [{"provider": "groq", "model": "my-model", "tier": "low"}]})
    assert imported.task_overrides == {TaskType.FAST: "groq:my-model"}


# usage --------------------------------------------------------------------------------------------------


def record(**fields: object) -> UsageRecord:
    base: dict[str, object] = {"source": "chat", "created_at": 0.0, "task": "code", "profile": "balanced",
                               "provider": "openai", "model": "gpt-4o", "input_tokens": 100, "output_tokens": 50,
                               "cost_usd": 0.001, "baseline_cost_usd": 0.004}
    return UsageRecord(**{**base, **fields})  # type: ignore[arg-type]


def test_usage_is_grouped_and_totalled() -> None:
    report = summarise_usage([
        record(),
        record(task="fast", model="gpt-4o-mini", cost_usd=0.0001, baseline_cost_usd=0.002, estimated=True),
        record(source="ask", provider=None, model=None, outcome="failed", input_tokens=None, output_tokens=None,
               cost_usd=None, baseline_cost_usd=None),
    ], ModelTarget("anthropic", "claude-opus-4-1", CostTier.HIGH, "claude-opus-4.1"), since=123.0)
    assert (report.total.requests, report.total.input_tokens, report.total.output_tokens) == (3, 200, 100)
    assert (report.total.failed, report.total.estimated, report.total.unknown_cost) == (1, 1, 0)
    assert report.total.cost_usd == pytest.approx(0.0011)
    assert set(report.groups["model"]) == {"openai:gpt-4o", "openai:gpt-4o-mini", NONE_ANSWERED}
    assert report.groups["task"]["code"].requests == 2 and report.groups["source"]["ask"].failed == 1
    assert report.savings.baseline_cost_usd == pytest.approx(0.006)
    assert report.savings.saved_usd == pytest.approx(0.0049)
    assert report.savings.saved_ratio == pytest.approx(1 - 0.0011 / 0.006)
    assert "anthropic:claude-opus-4-1" in (report.savings.baseline or "")
    data = report.as_dict()
    assert data["since"] == 123.0 and data["by_task"]["fast"]["requests"] == 1
    assert data["savings"]["saved_ratio"] == pytest.approx(report.savings.saved_ratio)


def test_an_answered_reply_of_unknown_price_counts_as_unknown_not_zero() -> None:
    report = summarise_usage([record(cost_usd=None, baseline_cost_usd=0.004)], None)
    assert report.total.unknown_cost == 1 and report.total.cost_usd == 0.0
    assert report.savings.baseline_cost_usd == 0.0  # left out of the comparison, not counted as free
    assert report.savings.saved_ratio is None and report.savings.baseline is None


# the registry merge --------------------------------------------------------------------------------------


TODAY = "2026-12-01"
REFRESHED = "2026-11-28"  # the day of the last `router models refresh`


def listed(model_id: str, *, price: float | None = None, context: int | None = None,
           source: str | None = "unknown", as_of: str = "", approx: int = 0) -> dict[str, object]:
    return {"model_id": model_id, "context_window": context, "max_output": None, "input_price": price,
            "output_price": price, "listed_at": 1_700_000_000.0, "price_source": source, "price_as_of": as_of,
            "price_approx": approx}


def openai_listing(*extra: dict[str, object], leave_out: str = "gpt-4o-mini") -> dict[str, list[dict[str, object]]]:
    """What OpenAI lists: its built-ins but `leave_out`, and `extra`."""
    return {"openai": [listed(m.model_id) for m in BUILTIN_MODELS if m.provider == "openai" and m.model_id != leave_out]
            + list(extra)}


def test_a_refresh_retires_what_is_no_longer_listed_and_adds_what_is_new_priced() -> None:
    listing = openai_listing(
        listed("gpt-6.1-sol", price=2.0, context=256_000, source=LISTED_PRICE, as_of=TODAY),
        listed("gpt-9"), listed("text-embedding-3-large"), listed("cheap-one", price=0.1, source=LISTED_PRICE),
        listed("gpt-5", price=1.25, source="genai-prices 0.2.3 (openai:gpt-5)", as_of="2026-11-03"))
    models = {(m.provider, m.model_id): m for m in merged_models(BUILTIN_MODELS, {"openai": REFRESHED}, listing, TODAY)}
    sol = models["openai", "gpt-6.1-sol"]
    assert (sol.context_window, sol.input_price, sol.price_source) == (256_000, 2.0, LISTED_PRICE)
    gone = models["openai", "gpt-4o-mini"]  # announced for 2027-01-14, gone from the listing now
    assert gone.status == NOT_LISTED and gone.lifecycle is Lifecycle.RETIRED and gone.retires == REFRESHED
    assert gone.retired_on(REFRESHED) and not gone.retired_on("2026-11-27")
    new = models["openai", "gpt-9"]
    assert (new.source, new.cost_tier, new.price_source, new.approx) == ("refresh", CostTier.MEDIUM, "unknown", True)
    assert new.input_price is None and new.as_of == "2023-11-14"  # unknown, never $0
    assert models["openai", "cheap-one"].cost_tier is CostTier.LOW
    priced = models["openai", "gpt-5"]  # priced from the data when listed: source and date say so
    assert (priced.price_source, priced.as_of, priced.approx) == ("genai-prices 0.2.3 (openai:gpt-5)", "2026-11-03",
                                                                  False)
    assert ("openai", "text-embedding-3-large") not in models  # cannot chat: never routed to
    untouched = [m for m in BUILTIN_MODELS if m.provider == "anthropic"]  # not refreshed: as shipped
    assert untouched and all(models[m.provider, m.model_id] == m for m in untouched)


def test_a_model_gone_from_the_listing_is_never_routed_to_and_its_successor_answers() -> None:
    registry = Registry(merged_models(BUILTIN_MODELS, {"openai": REFRESHED}, openai_listing(), TODAY))
    decision = route(RoutingProfile.ECO, TaskType.GENERAL, {TaskType.GENERAL: "gpt-4o-mini"}, {},
                     Availability(frozenset({"openai"})), 0, registry, today=TODAY)
    assert decision.primary.model == "gpt-6-luna"  # gpt-4o-mini's successor
    assert ("openai", "gpt-4o-mini") not in {(c.provider, c.model) for c in decision.candidates}
    gone = next(e for e in decision.trace if e.model == "gpt-4o-mini")
    assert gone.outcome is Skip.RETIRED and f"not listed by openai since {REFRESHED}" in gone.detail
    # its vendor no longer lists it: a gateway that still does is tried, its successor right after
    both = route(RoutingProfile.ECO, TaskType.GENERAL, {TaskType.GENERAL: "gpt-4o-mini"}, {},
                 Availability(frozenset({"openai", "openrouter"})), 0, registry, today=TODAY)
    assert [c.label for c in both.candidates[:2]] == ["openrouter:openai/gpt-4o-mini", "openai:gpt-6-luna"]


def test_a_listing_from_before_schema_4_is_priced_from_the_data_when_read() -> None:
    listing = {"openai": [listed("gpt-5", source=None)]}
    model = next(m for m in merged_models([], {"openai": REFRESHED}, listing, TODAY) if m.model_id == "gpt-5")
    assert (model.input_price, model.output_price, model.context_window) == (1.25, 10.0, 400_000)
    assert model.price_source == "genai-prices 0.2.3" and model.cost_tier is CostTier.MEDIUM


def test_a_listing_is_priced_when_listed_by_its_own_prices_else_the_data() -> None:
    rows = priced_listing("openai", [
        {"id": "gpt-9-pro", "context_window": None, "max_output": None, "input_price": 3.0, "output_price": 9.0},
        {"id": "gpt-6-luna-2026-10-01", "context_window": None, "max_output": None, "input_price": None,
         "output_price": None},
        {"id": "brand-new-zzz", "context_window": None, "max_output": None, "input_price": None, "output_price": None},
    ], TODAY)
    own, dated, unknown = rows
    assert (own["price_source"], own["price_as_of"], own["input_price"]) == (LISTED_PRICE, TODAY, 3.0)
    assert dated["price_source"] == "genai-prices 0.2.3 (openai:gpt-6-luna)" and dated["price_as_of"] == "2026-11-03"
    assert (dated["input_price"], dated["output_price"], dated["context_window"]) == (0.1, 0.5, 1_050_000)
    assert unknown["price_source"] == "unknown" and unknown["input_price"] is None
    vercel = priced_listing("vercel", [{"id": "openai/gpt-6-luna", "context_window": None, "max_output": None,
                                        "input_price": None, "output_price": None}], TODAY)[0]
    assert vercel["price_approx"] == 1  # a gateway billing the creator's list price is an assumption


def test_without_a_refresh_the_builtins_are_as_shipped_and_ollama_is_never_marked() -> None:
    assert merged_models(BUILTIN_MODELS, {}, {}, TODAY) == list(BUILTIN_MODELS)
    refreshed = merged_models(BUILTIN_MODELS, {"ollama": REFRESHED}, {"ollama": []}, TODAY)
    ollama = [m for m in refreshed if m.provider == "ollama"]
    assert ollama and all(m.status != NOT_LISTED and not m.retired_on(TODAY) for m in ollama)


# availability --------------------------------------------------------------------------------------------


def test_availability_from_recorded_health() -> None:
    now = 1_000_000.0
    states = {
        "openai": {"failures": 2, "cooldown_until": now + 30, "unusable_until": None},
        "anthropic": {"failures": 1, "cooldown_until": 0, "unusable_until": now + 600},
        "groq": {"failures": 0, "last_check_ok": 1, "last_check_at": now - 60},
        "google": {"failures": 0, "last_check_ok": 1, "last_check_at": now - 3600},  # too old to count
    }
    assert troubled_providers(states) == {"openai", "anthropic"}
    assert freshly_checked(states, now) == {"groq"}
    models = [RoutableModel("groq", "llama-a", "llama-a", CostTier.LOW),
              RoutableModel("groq", "llama-b", "llama-b", CostTier.LOW),
              RoutableModel("groq", "mine", "mine", CostTier.LOW, source="user")]
    unlisted = unlisted_models({"groq"}, {"groq": [{"model_id": "llama-a"}]}, models)
    assert unlisted == {("groq", "llama-b")}  # a user's own model is trusted over the listing
    availability = availability_from(frozenset({"openai", "anthropic", "groq"}), states, unlisted, now)
    assert availability.cooling == frozenset({"openai"})
    assert availability.unavailable_providers == frozenset({"anthropic"})
    assert availability.unavailable_models == frozenset({("groq", "llama-b")})
