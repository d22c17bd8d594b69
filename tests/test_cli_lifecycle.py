"""Issue 12 where the user looks, on a fixed day: `router status` (text and --json) says when a chain,
override or custom route names a retired or retiring model and what answers instead; `router models
--outdated` lists them; `router models --json` gives each model's lifecycle and price source; `models
add` prices from the data; a fresh install routes every task of every profile to a current model."""

from __future__ import annotations

import json

import pytest

from .conftest import run_mesoclaw
from .fakes.provider_server import ModelList

TODAY = "2026-12-01"  # claude-sonnet-4.5 retired the day before; o3 retires in ten days


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0000")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")


def test_status_flags_an_override_naming_a_retired_model_and_never_routes_to_it(cli, keys, fixed_today):
    fixed_today(TODAY)
    assert cli("router", "task", "code", "--set", "claude-sonnet-4.5").code == 0
    view = json.loads(cli("router", "status", "--json").out)
    code = view["tasks"]["code"]
    assert code["override"] == "claude-sonnet-4.5"
    assert code["primary"] == {"provider": "anthropic", "model": "claude-sonnet-5-5", "canonical": "claude-sonnet-5.5"}
    assert all(e["provider_model"] != "claude-sonnet-4-5-20250929" for e in code["chain"] if e["available"])
    assert code["chain"][0] | {"reason": ""} == {
        "stage": "override", "model": "claude-sonnet-4.5", "resolves_to": "claude-sonnet-5.5", "provider": "anthropic",
        "provider_model": "claude-sonnet-5-5", "available": True, "reason": ""}
    [outdated] = view["outdated"]
    assert outdated == {"stage": "override", "profile": None, "task": "code", "model": "claude-sonnet-4.5",
                        "canonical": "claude-sonnet-4.5", "status": "retired", "retires": "2026-11-30",
                        "resolves_to": "claude-sonnet-5.5", "successor": "claude-sonnet-5.5",
                        "message": "code override: claude-sonnet-4.5 retired 2026-11-30 -> claude-sonnet-5.5"}
    [note] = view["notes"]
    assert note.startswith("code override: claude-sonnet-4.5 retired 2026-11-30 -> claude-sonnet-5.5 answers in its "
                           "place") and "mesoclaw router task code --set claude-sonnet-5.5" in note
    text = cli("router", "status").out
    assert "note: code override: claude-sonnet-4.5 retired 2026-11-30 -> claude-sonnet-5.5" in text
    assert "claude-sonnet-4.5 (retired)" in text  # the override column


def test_the_same_override_before_its_retirement_is_a_deprecation_warning(cli, keys, fixed_today):
    fixed_today("2026-11-20")  # ten days before claude-sonnet-4.5 retires
    cli("router", "task", "code", "--set", "claude-sonnet-4.5")
    view = json.loads(cli("router", "status", "--json").out)
    assert view["tasks"]["code"]["primary"]["model"] == "claude-sonnet-4-5-20250929"  # still served
    assert view["notes"] == ["code override: claude-sonnet-4.5 is deprecated, retires 2026-11-30; successor "
                             "claude-sonnet-5.5; `mesoclaw router task code --set claude-sonnet-5.5` to name it"]
    fixed_today("2026-10-01")  # two months before: nothing to say yet
    assert json.loads(cli("router", "status", "--json").out)["notes"] == []


def test_custom_routes_are_flagged_and_a_retired_entry_shows_by_its_successor(cli, keys, fixed_today):
    fixed_today(TODAY)
    cli("router", "chain", "analysis", "--set", "o3,claude-sonnet-4.5,gpt-6.1-sol")
    view = json.loads(cli("router", "status", "--json").out)
    messages = [ref["message"] for ref in view["outdated"]]
    assert messages == ["analysis custom route: o3 is deprecated, retires 2026-12-11; successor gpt-6.1-sol",
                        "analysis custom route: claude-sonnet-4.5 retired 2026-11-30 -> claude-sonnet-5.5"]
    chain = view["tasks"]["analysis"]["chain"]
    assert [e["resolves_to"] or e["model"] for e in chain if e["stage"] != "tier"] == [
        "o3", "claude-sonnet-5.5", "gpt-6.1-sol", "gpt-6-luna"]  # the chain's own entries are candidates already
    text = cli("router", "status").out
    assert "o3 → claude-sonnet-5.5 → gpt-6.1-sol → gpt-6-luna" in text


def test_models_outdated_lists_every_profile_override_and_custom_route(cli, keys, fixed_today):
    fixed_today(TODAY)
    r = cli("router", "models", "--outdated")
    assert r.code == 0 and "nothing outdated" in r.out  # today's profiles name current models
    assert json.loads(cli("router", "models", "--outdated", "--json").out) == []
    cli("router", "task", "analysis", "--set", "o3")
    cli("router", "chain", "fast", "--set", "gemini-2.0-flash,gpt-6-luna")
    refs = json.loads(cli("router", "models", "--outdated", "--json").out)
    assert [(r["stage"], r["task"], r["model"], r["status"], r["resolves_to"]) for r in refs] == [
        ("override", "analysis", "o3", "deprecated", "o3"),
        ("custom", "fast", "gemini-2.0-flash", "retired", "gemini-3.8-flash")]
    text = cli("router", "models", "--outdated").out
    assert "analysis override" in text and "o3 (successor gpt-6.1-sol)" in text
    assert "fast custom route" in text and "gemini-3.8-flash" in text
    r = cli("router", "models", "--outdated", "--provider", "openai")
    assert r.code == 2 and "--outdated" in r.err


@pytest.mark.parametrize("profile", ["eco", "balanced", "premium"])
def test_a_fresh_install_routes_every_task_to_a_current_model(cli, profile, monkeypatch):
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GROQ_API_KEY"):
        monkeypatch.setenv(key, "k-test-0000")
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    cli("router", "profile", "set", profile)
    view = json.loads(cli("router", "status", "--json").out)  # on the real date
    assert view["notes"] == [] and view["outdated"] == []
    lifecycle = {(m["provider"], m["model"]): m["lifecycle"] for m in json.loads(cli("router", "models", "--json").out)}
    for task, task_view in view["tasks"].items():
        primary = task_view["primary"]
        assert lifecycle[primary["provider"], primary["model"]] in ("active", "legacy"), (task, primary)
        for entry in task_view["chain"]:  # the profile's own entries (the tier stage is a last resort)
            if entry["available"] and entry["stage"] != "tier":
                assert lifecycle[entry["provider"], entry["provider_model"]] in ("active", "legacy"), entry


def test_models_json_gives_lifecycle_and_price_source(cli, fixed_today):
    fixed_today(TODAY)
    rows = {(r["provider"], r["model"]): r for r in json.loads(cli("router", "models", "--json").out)}
    sonnet = rows["anthropic", "claude-sonnet-4-5-20250929"]
    assert (sonnet["status"], sonnet["lifecycle"], sonnet["retires"], sonnet["successor"]) == (
        "retired 2026-11-30", "retired", "2026-11-30", "claude-sonnet-5.5")
    assert sonnet["price_source"].startswith("genai-prices ") and sonnet["as_of"] == "2026-11-03"
    o3 = rows["openai", "o3"]
    assert (o3["status"], o3["lifecycle"]) == ("deprecated, retires 2026-12-11", "deprecated")
    current = rows["anthropic", "claude-sonnet-5-5"]
    assert (current["lifecycle"], current["retires"], current["successor"]) == ("active", None, None)
    assert current["capabilities"] == sorted(current["capabilities"]) and "tools" in current["capabilities"]
    assert rows["ollama", "llama3.2:3b"]["price_source"] == "local"
    assert rows["vercel", "openai/gpt-6.1-sol"]["approx"] is True  # a gateway billing the list price: assumed


def test_models_add_without_prices_is_priced_from_the_data_and_marked(cli):
    r = cli("router", "models", "add", "openrouter", "mistralai/mistral-large", "--tier", "medium")
    assert r.code == 0 and "from genai-prices" in r.out
    rows = {r["model"]: r for r in json.loads(cli("router", "models", "--provider", "openrouter", "--json").out)}
    added = rows["mistralai/mistral-large"]
    assert (added["input_price"], added["output_price"]) == (2.0, 6.0)
    assert added["price_source"] == "genai-prices 0.2.3 (openrouter:mistralai/mistral-large)"
    assert added["as_of"] == "2026-11-03" and added["source"] == "user"
    # the user's own prices win and are marked as theirs; nothing matching stays unknown, never $0
    cli("router", "models", "add", "openrouter", "acme/own", "--tier", "low", "--price-in", "1", "--price-out", "2")
    cli("router", "models", "add", "groq", "brand-new-zzz", "--tier", "low")
    rows = {r["model"]: r for r in json.loads(cli("router", "models", "--json").out)}
    assert (rows["acme/own"]["input_price"], rows["acme/own"]["price_source"]) == (1.0, "user")
    assert (rows["brand-new-zzz"]["input_price"], rows["brand-new-zzz"]["price_source"]) == (None, "unknown")
    # an export keeps only the user's own prices: the data's are looked up again on import
    exported = {m["model"]: m for m in json.loads(cli("router", "export", "--json").out)["models"]}
    assert "input_price" not in exported["mistralai/mistral-large"] and exported["acme/own"]["input_price"] == 1.0


def test_refresh_retires_a_model_the_provider_no_longer_lists_and_routes_to_its_successor(provider_server,
                                                                                          isolated_env):
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", api_key="sk-t-0001")}
    listed = ["gpt-6-astra", "gpt-6.1-sol", "gpt-6.1-terra", "gpt-6-luna", "gpt-4o", "gpt-5"]  # no gpt-4o-mini
    provider_server.default("/openai/v1/models", ModelList("openai", listed))
    run_mesoclaw("router", "task", "general", "--set", "gpt-4o-mini", env=env)
    result = json.loads(run_mesoclaw("router", "models", "refresh", "--json", env=env).stdout)[0]
    assert "gpt-4o-mini" in result["not_listed"] and result["added"] == ["gpt-5"]
    status = json.loads(run_mesoclaw("router", "status", "--json", env=env).stdout)
    assert status["tasks"]["general"]["primary"]["model"] == "gpt-6-luna"  # gpt-4o-mini's successor
    [ref] = [r for r in status["outdated"] if r["stage"] == "override"]
    assert (ref["model"], ref["status"], ref["resolves_to"]) == ("gpt-4o-mini", "retired", "gpt-6-luna")
    rows = {r["model"]: r for r in json.loads(run_mesoclaw("router", "models", "--provider", "openai", "--json",
                                                           env=env).stdout)}
    assert rows["gpt-4o-mini"]["status"] == "not listed by provider" and not rows["gpt-4o-mini"]["available"]
    new = rows["gpt-5"]  # priced when listed, from the data, and says so
    assert (new["source"], new["input_price"], new["output_price"]) == ("refresh", 1.25, 10.0)
    assert new["price_source"] == "genai-prices 0.2.3 (openai:gpt-5)" and new["as_of"] == "2026-11-03"
    assert new["cost_tier"] == "medium"
