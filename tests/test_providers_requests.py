"""What each adapter puts on the wire: path, headers, auth, body (as the fake server recorded it)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mesoclaw_tui.providers import ChatMessage, ChatRequest, Endpoint, make_client
from tests.fakes.provider_server import FakeProviderServer, RecordedRequest, refused_port
from tests.fakes.streams import collect

KEY = "sk-test-request-shape-4242"
TURNS = (ChatMessage("user", "hi"), ChatMessage("assistant", "hello"), ChatMessage("user", "and now?"))


async def send(server: FakeProviderServer, client: httpx.AsyncClient, provider: str, request: ChatRequest,
               *, key: str | None = KEY, extra: tuple[tuple[str, str], ...] = ()) -> RecordedRequest:
    result = await collect(client, Endpoint(provider, server.base_url(provider), key, extra), request)
    assert result.error is None, result.error
    assert result.text == server.reply  # the built-in default reply, in that provider's protocol
    sent = server.last_request
    assert sent.method == "POST" and sent.path == server.chat_path(provider)
    assert sent.headers["content-type"] == "application/json"
    return sent


def messages(sent: RecordedRequest) -> list[dict[str, Any]]:
    return sent.json["messages"]


@pytest.mark.parametrize("provider", ["openai", "groq", "google", "openrouter", "vercel"])
async def test_openai_compatible_request(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                         provider: str) -> None:
    request = ChatRequest("some-model", TURNS, system="be brief", max_tokens=300, temperature=0.2)
    sent = await send(provider_server, client, provider, request)
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in sent.headers
    assert sent.json == {
        "model": "some-model",
        "messages": [{"role": "system", "content": "be brief"},
                     {"role": "user", "content": "hi"},
                     {"role": "assistant", "content": "hello"},
                     {"role": "user", "content": "and now?"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 300,
        "temperature": 0.2,
    }


async def test_optional_parameters_are_omitted(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    sent = await send(provider_server, client, "openai", ChatRequest("gpt-4o-mini", TURNS[:1]))
    assert set(sent.json) == {"model", "messages", "stream", "stream_options"}
    assert messages(sent) == [{"role": "user", "content": "hi"}]


async def test_openrouter_attribution_headers(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    sent = await send(provider_server, client, "openrouter", ChatRequest("openai/gpt-4o", TURNS))
    assert sent.headers["http-referer"] == "https://github.com/mesoclaw/mesoclaw"
    assert sent.headers["x-openrouter-title"] == "mesoclaw"
    assert sent.headers["x-title"] == "mesoclaw"
    sent = await send(provider_server, client, "openai", ChatRequest("gpt-4o", TURNS))
    assert "http-referer" not in sent.headers and "x-title" not in sent.headers


@pytest.mark.parametrize("model", ["o3-mini", "o3", "o4-mini", "o1", "gpt-5", "gpt-5-mini", "gpt-6.1-sol", "gpt-6-luna"])
async def test_openai_reasoning_model_rules(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                            model: str) -> None:
    request = ChatRequest(model, (ChatMessage("system", "extra rule"), *TURNS), system="be brief",
                          max_tokens=500, temperature=0.7)
    sent = await send(provider_server, client, "openai", request)
    body = sent.json
    assert body["max_completion_tokens"] == 500
    assert "max_tokens" not in body and "temperature" not in body and "top_p" not in body
    assert [m["role"] for m in body["messages"]] == ["developer", "developer", "user", "assistant", "user"]


async def test_o1_mini_takes_the_system_prompt_in_the_first_user_turn(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    sent = await send(provider_server, client, "openai", ChatRequest("o1-mini", TURNS, system="be brief"))
    assert messages(sent) == [{"role": "user", "content": "be brief\n\nhi"},
                              {"role": "assistant", "content": "hello"},
                              {"role": "user", "content": "and now?"}]


async def test_reasoning_rules_are_openais_own(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    # Gateways take the usual parameters and translate them for the upstream model.
    sent = await send(provider_server, client, "openrouter",
                      ChatRequest("openai/o3", TURNS, system="s", max_tokens=9, temperature=1.0))
    assert sent.json["max_tokens"] == 9 and sent.json["temperature"] == 1.0
    assert messages(sent)[0]["role"] == "system"


async def test_anthropic_request(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    request = ChatRequest("claude-haiku-4-5", (ChatMessage("system", "and be kind"), *TURNS),
                          system="be brief", max_tokens=1024, temperature=0.5)
    sent = await send(provider_server, client, "anthropic", request)
    assert sent.path == "/anthropic/v1/messages"
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.json == {
        "model": "claude-haiku-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "hi"},
                     {"role": "assistant", "content": "hello"},
                     {"role": "user", "content": "and now?"}],
        "stream": True,
        "system": "be brief\n\nand be kind",
        "temperature": 0.5,
    }


async def test_anthropic_max_tokens_is_always_sent(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    sent = await send(provider_server, client, "anthropic", ChatRequest("claude-haiku-4-5", TURNS[:1]))
    assert sent.json["max_tokens"] == 4096
    assert "system" not in sent.json and "temperature" not in sent.json


async def test_ollama_request(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    request = ChatRequest("llama3.2:3b", TURNS, system="be brief", max_tokens=64, temperature=0.1)
    sent = await send(provider_server, client, "ollama", request, key=None)
    assert sent.path == "/ollama/api/chat"
    assert "authorization" not in sent.headers
    assert sent.json == {
        "model": "llama3.2:3b",
        "messages": [{"role": "system", "content": "be brief"},
                     {"role": "user", "content": "hi"},
                     {"role": "assistant", "content": "hello"},
                     {"role": "user", "content": "and now?"}],
        "stream": True,
        "options": {"num_predict": 64, "temperature": 0.1},
    }


async def test_ollama_cloud_key_is_a_bearer_token(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    sent = await send(provider_server, client, "ollama", ChatRequest("llama3.2:3b", TURNS[:1]))
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert "options" not in sent.json


async def test_extra_headers_are_sent_and_win(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    extra = (("OpenAI-Project", "proj_1"), ("Authorization", "Bearer gateway-token"))
    sent = await send(provider_server, client, "openai", ChatRequest("gpt-4o", TURNS[:1]), extra=extra)
    assert sent.headers["openai-project"] == "proj_1"
    assert sent.headers["authorization"] == "Bearer gateway-token"


async def test_no_key_no_auth_header(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    sent = await send(provider_server, client, "openai", ChatRequest("local", TURNS[:1]), key=None)
    assert "authorization" not in sent.headers


async def test_base_url_with_trailing_slash(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    ep = Endpoint("groq", provider_server.base_url("groq") + "/", KEY)
    result = await collect(client, ep, ChatRequest("m", TURNS[:1]))
    assert result.error is None
    assert provider_server.last_request.path == "/groq/openai/v1/chat/completions"


async def test_loopback_ignores_environment_proxies(provider_server: FakeProviderServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    dead_proxy = f"http://127.0.0.1:{refused_port()}"
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(var, dead_proxy)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    async with httpx.AsyncClient() as plain:  # the environment really would send it to the proxy
        with pytest.raises(httpx.TransportError):
            await plain.get(provider_server.url + "/ollama/api/tags")
    async with make_client() as client:
        result = await collect(client, Endpoint("ollama", provider_server.base_url("ollama"), None),
                               ChatRequest("llama3.2:3b", TURNS[:1]))
    assert result.error is None and result.text == provider_server.reply


async def test_client_settings() -> None:
    async with make_client() as client:
        assert client.timeout == httpx.Timeout(connect=5.0, read=60.0, write=10.0, pool=10.0)
        assert not client.follow_redirects
