"""list_models for every provider, against recorded and synthesized list bodies."""

from __future__ import annotations

import json

import httpx
import pytest

from mesoclaw_tui.providers import Endpoint, ListedModel, ProviderError, list_models
from tests.fakes.provider_server import RECORDINGS, FakeProviderServer, Replay, Respond

KEY = "sk-test-models-9999"


def endpoint(server: FakeProviderServer, provider: str, key: str | None = KEY) -> Endpoint:
    return Endpoint(provider, server.base_url(provider), key)


async def test_openai(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    provider_server.script("/openai/v1/models", Respond(200, {"data": [
        {"id": "ada:2020-05-03", "object": "model", "created": 1588537600, "owned_by": "openai"},
        {"id": "gpt-4o", "object": "model", "created": 1588537600, "owned_by": "openai"},
        {"object": "model"},  # no id: skipped
    ]}))
    models = await list_models(client, endpoint(provider_server, "openai"))
    assert models == [ListedModel("ada:2020-05-03"), ListedModel("gpt-4o")]
    sent = provider_server.last_request
    assert sent.method == "GET" and sent.path == "/openai/v1/models"
    assert sent.headers["authorization"] == f"Bearer {KEY}"


async def test_groq(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    provider_server.script(provider_server.models_path("groq"), Respond(200, {"object": "list", "data": [
        {"id": "gemma2-9b-it", "object": "model", "created": 1693721698, "owned_by": "Google", "active": True,
         "context_window": 8192, "public_apps": None},
        {"id": "qwen/qwen3-32b", "object": "model", "created": 1748396646, "owned_by": "Alibaba Cloud",
         "active": True, "context_window": 131072, "public_apps": None, "max_completion_tokens": 40960},
        {"id": "retired-model", "active": False, "context_window": 4096},
    ]}))
    models = await list_models(client, endpoint(provider_server, "groq"))
    assert models == [ListedModel("gemma2-9b-it", 8192), ListedModel("qwen/qwen3-32b", 131072, 40960)]
    assert provider_server.last_request.path == "/groq/openai/v1/models"


async def test_openrouter_recorded_list_prices_per_million(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    provider_server.script(provider_server.models_path("openrouter"), Replay("openrouter_models_list.json"))
    models = {m.id: m for m in await list_models(client, endpoint(provider_server, "openrouter"))}
    assert len(models) == 5
    assert models["openai/gpt-4o"] == ListedModel("openai/gpt-4o", 128000, 16384, 2.5, 10.0)
    assert models["anthropic/claude-sonnet-4"] == ListedModel("anthropic/claude-sonnet-4", 200000, 64000, 3.0, 15.0)
    assert models["openai/gpt-4.1-mini"].input_price == 0.4  # exactly, not 0.39999999999999997
    assert models["openai/gpt-3.5-turbo"].output_price == 1.5
    sent = provider_server.last_request
    assert sent.path == "/openrouter/api/v1/models"
    assert sent.headers["http-referer"] == "https://github.com/mesoclaw/mesoclaw"


async def test_openrouter_free_and_variable_prices(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    provider_server.script(provider_server.models_path("openrouter"), Respond(200, {"data": [
        {"id": "google/gemini-2.0-flash-exp:free", "context_length": 1048576,
         "pricing": {"prompt": "0", "completion": "0"}, "top_provider": {"max_completion_tokens": None}},
        {"id": "openrouter/auto", "context_length": 2000000, "pricing": {"prompt": "-1", "completion": "-1"}},
        {"id": "odd/one", "pricing": {"prompt": "n/a"}, "top_provider": None},
    ]}))
    models = await list_models(client, endpoint(provider_server, "openrouter"))
    assert models == [
        ListedModel("google/gemini-2.0-flash-exp:free", 1048576, None, 0.0, 0.0),  # free is a known price
        ListedModel("openrouter/auto", 2000000, None, None, None),  # varies: unknown, never $0
        ListedModel("odd/one"),
    ]


async def test_vercel_keeps_language_models(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    provider_server.script(provider_server.models_path("vercel"), Respond(200, {"object": "list", "data": [
        {"id": "alibaba/qwen-3-14b", "object": "model", "owned_by": "alibaba", "context_window": 40960,
         "max_tokens": 16384, "type": "language", "pricing": {"input": "0.00000012", "output": "0.00000024"}},
        {"id": "openai/text-embedding-3-small", "type": "embedding", "pricing": {"input": "0.00000002"}},
        {"id": "google/imagen-4.0", "type": "image", "pricing": {"per_image": "0.04"}},
        {"id": "legacy/untyped", "context_window": 8192},
    ]}))
    models = await list_models(client, endpoint(provider_server, "vercel"))
    assert models == [ListedModel("alibaba/qwen-3-14b", 40960, 16384, 0.12, 0.24), ListedModel("legacy/untyped", 8192)]
    assert provider_server.last_request.path == "/vercel/v1/models"


async def test_google_native_list_with_pagination(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    page1 = json.loads((RECORDINGS / "gemini_models_list.json").read_bytes())
    page2 = {"models": [
        {"name": "models/veo-3.1-generate-preview", "supportedGenerationMethods": ["predictLongRunning"]},
        {"name": "models/gemini-9-ultra", "inputTokenLimit": 2097152, "outputTokenLimit": 131072,
         "supportedGenerationMethods": ["generateContent", "countTokens"]},
    ]}
    path = provider_server.models_path("google")
    assert path == "/google/v1beta/models"
    provider_server.script(path, Replay("gemini_models_list.json"), Respond(200, page2))
    models = await list_models(client, endpoint(provider_server, "google"))

    chat_capable = [m for m in page1["models"] if "generateContent" in m["supportedGenerationMethods"]]
    assert len(models) == len(chat_capable) + 1 == 43
    by_id = {m.id: m for m in models}
    assert by_id["gemini-2.5-flash"] == ListedModel("gemini-2.5-flash", 1048576, 65536)
    assert by_id["gemini-2.0-flash"] == ListedModel("gemini-2.0-flash", 1048576, 8192)
    assert by_id["gemini-9-ultra"] == ListedModel("gemini-9-ultra", 2097152, 131072)
    assert "gemini-embedding-001" not in by_id and "veo-3.1-generate-preview" not in by_id
    assert not any(m.id.startswith("models/") for m in models)

    first, second = provider_server.requests_to(path)
    assert first.query == {"pageSize": "1000"}
    assert second.query == {"pageSize": "1000", "pageToken": page1["nextPageToken"]}
    assert first.headers["x-goog-api-key"] == KEY
    assert "authorization" not in first.headers  # an API key is not an OAuth bearer token


async def test_anthropic_pagination(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    path = provider_server.models_path("anthropic")
    provider_server.script(
        path,
        Respond(200, {"data": [
            {"type": "model", "id": "claude-opus-4-6", "display_name": "Claude Opus 4.6",
             "created_at": "2026-02-04T00:00:00Z", "max_input_tokens": 0, "max_tokens": 0},
            {"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5",
             "created_at": "2025-09-29T00:00:00Z", "max_input_tokens": 200000, "max_tokens": 64000},
        ], "has_more": True, "first_id": "claude-opus-4-6", "last_id": "claude-sonnet-4-5-20250929"}),
        Respond(200, {"data": [{"type": "model", "id": "claude-haiku-4-5-20251001"}],
                      "has_more": False, "first_id": "claude-haiku-4-5-20251001", "last_id": "claude-haiku-4-5-20251001"}),
    )
    models = await list_models(client, endpoint(provider_server, "anthropic"))
    assert models == [
        ListedModel("claude-opus-4-6"),  # 0 means unknown
        ListedModel("claude-sonnet-4-5-20250929", 200000, 64000),
        ListedModel("claude-haiku-4-5-20251001"),
    ]
    first, second = provider_server.requests_to(path)
    assert first.path == "/anthropic/v1/models" and first.query == {"limit": "1000"}
    assert second.query == {"limit": "1000", "after_id": "claude-sonnet-4-5-20250929"}
    assert first.headers["x-api-key"] == KEY and first.headers["anthropic-version"] == "2023-06-01"


async def test_ollama_tags(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    provider_server.script(provider_server.models_path("ollama"), Respond(200, {"models": [
        {"name": "deepseek-r1:latest", "model": "deepseek-r1:latest", "modified_at": "2025-05-10T08:06:48-07:00",
         "size": 4683075271, "digest": "0a8c", "details": {"parent_model": "", "format": "gguf", "family": "qwen2",
                                                           "parameter_size": "7.6B", "quantization_level": "Q4_K_M"}},
        {"name": "llama3.2:3b", "details": {"context_length": 131072}},
    ]}))
    models = await list_models(client, endpoint(provider_server, "ollama", key=None))
    assert models == [ListedModel("deepseek-r1:latest"), ListedModel("llama3.2:3b", 131072)]
    sent = provider_server.last_request
    assert sent.path == "/ollama/api/tags" and "authorization" not in sent.headers


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google", "groq", "ollama", "openrouter", "vercel"])
async def test_builtin_lists_of_the_fake_server(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                                provider: str) -> None:
    models = await list_models(client, endpoint(provider_server, provider))
    assert [m.id for m in models] == provider_server.models


@pytest.mark.parametrize("body", ['{"unexpected": true}', "not json", "[1, 2]"])
async def test_unexpected_bodies(provider_server: FakeProviderServer, client: httpx.AsyncClient, body: str) -> None:
    provider_server.script(provider_server.models_path("openai"), Respond(200, body.encode()))
    with pytest.raises(ProviderError) as info:
        await list_models(client, endpoint(provider_server, "openai"))
    assert info.value.kind == "server"


async def test_list_error_maps_like_chat(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    provider_server.script(provider_server.models_path("anthropic"), Respond(401, {
        "type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}))
    with pytest.raises(ProviderError) as info:
        await list_models(client, endpoint(provider_server, "anthropic"))
    assert (info.value.kind, info.value.status, info.value.message) == ("auth", 401, "invalid x-api-key")
