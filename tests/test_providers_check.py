"""Live availability and model refresh against local servers: what providers list feeds the router."""

from __future__ import annotations

import json

from .conftest import run_mesoclaw
from .fakes.provider_server import Hang, ModelList, Respond


def test_check_records_results_and_ollama_pulled_models_feed_routing(provider_server, isolated_env):
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("ollama", "openai", api_key="sk-t-0001")}
    provider_server.default("/ollama/api/tags", ModelList("ollama", ["llama3.2:3b"]))
    provider_server.default("/openai/v1/models", Respond(401, {"error": {"message": "bad key",
                                                                            "code": "invalid_api_key"}}))
    r = run_mesoclaw("providers", "check", "--json", env=env)
    results = {x["provider"]: x for x in json.loads(r.stdout)}
    assert results["ollama"]["ok"] and results["ollama"]["models"] == 1
    assert not results["openai"]["ok"] and "auth" in results["openai"]["error"]
    listed = {p["provider"]: p for p in json.loads(run_mesoclaw("providers", "--json", env=env).stdout)}
    assert listed["ollama"]["last_check"]["ok"] is True and listed["openai"]["last_check"]["ok"] is False
    run_mesoclaw("router", "profile", "set", "eco", env=env)
    view = json.loads(run_mesoclaw("router", "task", "code", "--json", env=env).stdout)
    entry = next(c for c in view["chain"] if c["model"] == "llama-3.1-70b")
    assert not entry["available"] and "does not serve llama3.1:70b" in entry["reason"]


def test_check_times_out_quickly_on_a_hanging_provider(provider_server, isolated_env):
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("groq", api_key="gsk-t-0001")}
    provider_server.default("*/models", Hang())
    r = run_mesoclaw("providers", "check", "--timeout", "0.5", "--json", env=env, timeout=20)
    result = json.loads(r.stdout)[0]
    assert result["provider"] == "groq" and not result["ok"] and "timeout" in result["error"]


def test_refresh_merges_new_marks_missing_and_keeps_user_models(provider_server, isolated_env):
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openrouter", api_key="sk-or-t-0001")}
    run_mesoclaw("router", "models", "add", "openrouter", "acme/private-model", "--tier", "high", env=env)
    provider_server.default("/openrouter/api/v1/models",
                            ModelList("openrouter", ["openai/gpt-4o", "mistralai/mistral-large"]))
    r = run_mesoclaw("router", "models", "refresh", "--json", env=env)
    result = json.loads(r.stdout)[0]
    assert result["ok"] and result["added"] == ["mistralai/mistral-large"]
    assert "deepseek/deepseek-chat" in result["not_listed"] and "openai/gpt-4o" not in result["not_listed"]
    rows = {m["model"]: m for m in json.loads(run_mesoclaw("router", "models", "--provider", "openrouter",
                                                           "--json", env=env).stdout)}
    new = rows["mistralai/mistral-large"]
    assert new["source"] == "refresh" and new["input_price"] == 2.5 and new["context_window"] == 128_000
    assert rows["deepseek/deepseek-chat"]["status"] == "not listed by provider"
    assert not rows["deepseek/deepseek-chat"]["available"]
    assert rows["acme/private-model"]["source"] == "user" and rows["acme/private-model"]["available"]
    # the newly listed model is routable by its canonical name
    view = json.loads(run_mesoclaw("router", "task", "general", "--set", "mistral-large", "--json", env=env).stdout)
    assert view["primary"]["model"] == "mistralai/mistral-large"
    human = run_mesoclaw("router", "models", "refresh", env=env).stdout
    assert "openrouter: 2 listed" in human


def test_refresh_never_adds_models_that_cannot_chat(provider_server, isolated_env):
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", api_key="sk-t-0001")}
    provider_server.default("/openai/v1/models", ModelList("openai", [
        "gpt-4o", "gpt-4o-mini", "o3", "gpt-5", "dall-e-3", "tts-1", "whisper-1", "text-embedding-3-small",
        "omni-moderation-latest", "gpt-4o-realtime-preview", "gpt-4o-transcribe"]))
    result = json.loads(run_mesoclaw("router", "models", "refresh", "--json", env=env).stdout)[0]
    assert result["added"] == ["gpt-5"]
    r = run_mesoclaw("router", "models", "refresh", "--provider", "groq", env=env)
    assert r.returncode == 1 and "no provider answered" in r.stderr
