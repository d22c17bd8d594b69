"""HTTP errors, timeouts, refused connections and stalls -> ProviderError, over real sockets."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from mesoclaw_tui.providers import (
    ChatMessage,
    ChatRequest,
    Endpoint,
    ProviderError,
    list_models,
)
from mesoclaw_tui.providers.errors import parse_retry_after
from tests.fakes.provider_server import Delay, Drop, FakeProviderServer, Hang, Respond, Stream, refused_port
from tests.fakes.streams import collect

KEY = "sk-live-abcdefghijklmnop0123456789"
REQUEST = ChatRequest("test-model", (ChatMessage("user", "hi"),))


@pytest.fixture
async def impatient_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.3)) as c:
        yield c


def endpoint(server: FakeProviderServer, provider: str) -> Endpoint:
    return Endpoint(provider, server.base_url(provider), KEY)


async def error_for(server: FakeProviderServer, client: httpx.AsyncClient, provider: str, reply: Any) -> ProviderError:
    server.script(server.chat_path(provider), reply)
    result = await collect(client, endpoint(server, provider), REQUEST)
    assert result.events == [] and result.error is not None
    assert KEY not in str(result.error) and KEY not in repr(result.error)
    return result.error


def google_error(code: int, message: str, status: str, *details: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return {"error": error}


OPENAI_CONTEXT = {"error": {
    "message": "This model's maximum context length is 4097 tokens. However, your messages resulted in 4294 "
               "tokens. Please reduce the length of the messages.",
    "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}
GOOGLE_BAD_KEY = google_error(
    400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT",
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
     "metadata": {"service": "generativelanguage.googleapis.com"}},
)
GOOGLE_QUOTA = google_error(
    429, "You exceeded your current quota, please check your plan and billing details.", "RESOURCE_EXHAUSTED",
    {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "x"}]},
    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "59s"},
)

# (provider, status, body, headers, kind, expected message fragment, retry_after)
CASES = [
    ("openai", 401, {"error": {"message": "Incorrect API key provided: sk-VKMIs***wjh3.", "type": "invalid_request_error",
                               "param": None, "code": "invalid_api_key"}}, {}, "auth", "Incorrect API key", None),
    ("anthropic", 401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"},
                        "request_id": "req_1"}, {}, "auth", "invalid x-api-key", None),
    ("openrouter", 403, {"error": {"message": "flagged by moderation", "code": 403}}, {}, "auth", "flagged", None),
    ("google", 400, [GOOGLE_BAD_KEY], {}, "auth", "API key not valid", None),
    ("google", 400, GOOGLE_BAD_KEY, {}, "auth", "API key not valid", None),
    ("openrouter", 402, {"error": {"message": "Insufficient credits", "code": 402}}, {}, "billing", "credits", None),
    ("openai", 429, {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                               "param": None, "code": "insufficient_quota"}}, {}, "billing", "quota", None),
    ("openai", 429, {"error": {"message": "Rate limit reached for gpt-4o", "type": "tokens",
                               "code": "rate_limit_exceeded"}}, {"Retry-After": "2"}, "rate_limit", "Rate limit", 2.0),
    ("openai", 429, {"error": {"message": "slow down"}}, {"retry-after-ms": "1500", "retry-after": "9"},
     "rate_limit", "slow down", 1.5),
    ("groq", 429, {"error": {"message": "Rate limit reached for model `llama-3.3-70b-versatile`. Please try again "
                                        "in 1.984999999s.", "type": "tokens", "code": "rate_limit_exceeded"}},
     {}, "rate_limit", "Rate limit", 1.984999999),
    ("google", 429, [GOOGLE_QUOTA], {}, "rate_limit", "exceeded your current quota", 59.0),
    ("openrouter", 429, {"error": {"code": 429, "message": "Provider returned error", "metadata": {
        "provider_name": "Google", "raw": "google/gemini-2.0-flash-exp:free is temporarily rate-limited upstream."}},
        "user_id": "user_2"}, {}, "rate_limit", "temporarily rate-limited upstream", None),
    ("anthropic", 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
     {}, "overloaded", "Overloaded", None),
    ("anthropic", 429, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
     {}, "overloaded", "Overloaded", None),
    ("anthropic", 500, {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}},
     {}, "server", "Internal server error", None),
    ("openai", 500, {"error": {"message": "The server had an error processing your request.", "type": "server_error",
                               "param": None, "code": None}}, {}, "server", "server had an error", None),
    ("openrouter", 502, {"error": {"message": "model down", "code": 502}}, {}, "server", "model down", None),
    ("google", 503, google_error(503, "The model is overloaded. Please try again later.", "UNAVAILABLE"),
     {"Retry-After": "5"}, "server", "overloaded", 5.0),
    ("openai", 504, "<html><body><h1>504 Gateway Time-out</h1></body></html>", {}, "server", "504 Gateway", None),
    ("openai", 503, None, {}, "server", "HTTP 503 Service Unavailable", None),
    ("openai", 404, {"error": {"message": "The model `gpt-4o` does not exist or you do not have access to it.",
                               "type": "invalid_request_error", "param": None, "code": "model_not_found"}},
     {}, "model_not_found", "does not exist", None),
    ("ollama", 404, {"error": 'model "llama3" not found, try pulling it first'}, {}, "model_not_found",
     'model "llama3" not found, try pulling it first', None),
    ("google", 404, google_error(404, "models/gemini-pro is not found for API version v1beta", "NOT_FOUND"),
     {}, "model_not_found", "is not found", None),
    ("vercel", 400, {"error": {"message": "Model 'x/y' not found", "type": "model_not_found", "param": {"modelId": "x/y"}}},
     {}, "model_not_found", "not found", None),
    ("openai", 400, OPENAI_CONTEXT, {}, "context_length", "maximum context length", None),
    ("anthropic", 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                   "message": "prompt is too long: 205351 tokens > 200000 maximum"}},
     {}, "context_length", "prompt is too long", None),
    ("anthropic", 400, {"type": "error", "error": {"type": "invalid_request_error", "message":
                        "input length and `max_tokens` exceed context limit: 178959 + 64000 > 200000"}},
     {}, "context_length", "exceed context limit", None),
    ("google", 400, [google_error(400, "The input token count (3475108) exceeds the maximum number of tokens "
                                       "allowed (1048576).", "INVALID_ARGUMENT")],
     {}, "context_length", "exceeds the maximum number of tokens", None),
    ("groq", 400, {"error": {"message": "Please reduce the length of the messages or completion.",
                             "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}},
     {}, "context_length", "reduce the length", None),
    ("groq", 413, {"error": {"message": "Request too large for model `llama-3.3-70b-versatile` on tokens per minute",
                             "type": "tokens", "code": "rate_limit_exceeded"}}, {}, "context_length", "too large", None),
    ("openai", 400, {"error": {"code": "unsupported_value", "message": "Unsupported value: 'messages[0].role' does "
                               "not support 'system' with this model.", "param": "messages[0].role",
                               "type": "invalid_request_error"}}, {}, "bad_request", "Unsupported value", None),
    ("openrouter", 400, {"error": {"message": "minimax-m2.5:free is not a valid model ID", "code": 400},
                         "user_id": "user_1"}, {}, "bad_request", "not a valid model ID", None),
    ("google", 400, [google_error(400, 'Invalid JSON payload received. Unknown name "web_search_options"',
                                  "INVALID_ARGUMENT")], {}, "bad_request", "Invalid JSON payload", None),
    ("openai", 422, {"detail": "unprocessable"}, {}, "bad_request", "unprocessable", None),
    ("ollama", 400, {"error": "invalid options"}, {}, "bad_request", "invalid options", None),
]


@pytest.mark.parametrize(("provider", "status", "body", "headers", "kind", "fragment", "retry_after"), CASES)
async def test_http_error_mapping(
    provider_server: FakeProviderServer, client: httpx.AsyncClient, provider: str, status: int,
    body: Any, headers: dict[str, str], kind: str, fragment: str, retry_after: float | None,
) -> None:
    error = await error_for(provider_server, client, provider, Respond(status, body, headers=headers))
    assert error.kind == kind
    assert error.status == status
    assert error.provider == provider
    assert fragment in error.message
    assert error.retry_after == pytest.approx(retry_after) if retry_after is not None else error.retry_after is None
    assert error.started is False


async def test_retry_after_as_http_date(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    when = formatdate(time.time() + 30, usegmt=True)
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "This request would exceed the rate limit"}}
    error = await error_for(provider_server, client, "anthropic", Respond(429, body, headers={"Retry-After": when}))
    assert error.kind == "rate_limit"
    assert error.retry_after is not None and 27 <= error.retry_after <= 30


def test_retry_after_parsing() -> None:
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0) == 10.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412490.0) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


async def test_the_key_never_reaches_the_message(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    echoed = {"error": {"message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}}
    error = await error_for(provider_server, client, "openai", Respond(401, echoed))
    assert error.kind == "auth"
    assert "…6789" in error.message  # masked to its last 4 characters
    error = await error_for(provider_server, client, "groq", Respond(500, f"upstream said: bearer {KEY}"))
    assert error.kind == "server" and KEY not in error.message


async def test_midstream_error_text_is_redacted(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    provider_server.script(provider_server.chat_path("openai"),
                           Stream("openai", "a b", error_after=1, error_message=f"bad key {KEY}"))
    result = await collect(client, endpoint(provider_server, "openai"), REQUEST)
    assert result.error is not None and result.error.kind == "stream_error"
    assert KEY not in str(result.error)


def test_endpoint_repr_masks_the_key() -> None:
    ep = Endpoint("openai", "https://api.openai.com/v1", KEY, (("Authorization", f"Bearer {KEY}"),))
    assert KEY not in repr(ep) and KEY not in str(ep)
    assert "…6789" in repr(ep) and "Authorization" in repr(ep)
    assert "none" in repr(Endpoint("ollama", "http://127.0.0.1:11434", None))


async def test_hang_before_headers_is_a_timeout(
    provider_server: FakeProviderServer, impatient_client: httpx.AsyncClient
) -> None:
    error = await error_for(provider_server, impatient_client, "anthropic", Hang())
    assert error.kind == "timeout" and error.started is False and error.provider == "anthropic"


async def test_stall_after_text_is_a_timeout_that_started(
    provider_server: FakeProviderServer, impatient_client: httpx.AsyncClient
) -> None:
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", "a b c", stall_after=2))
    result = await collect(impatient_client, endpoint(provider_server, "openai"), REQUEST)
    assert result.text == "a b"
    assert result.error is not None and result.error.kind == "timeout" and result.error.started is True


async def test_slow_but_steady_stream_is_not_a_timeout(
    provider_server: FakeProviderServer, impatient_client: httpx.AsyncClient
) -> None:
    # The read timeout bounds the silence between chunks, not the whole reply (0.3 s here).
    provider_server.script(provider_server.chat_path("openai"),
                           Delay(0.1, Stream("openai", n=10, piece="z", rate=20)))
    result = await collect(impatient_client, endpoint(provider_server, "openai"), REQUEST)
    assert result.error is None and result.text == "z" * 10


async def test_refused_connection(client: httpx.AsyncClient) -> None:
    port = refused_port()
    ep = Endpoint("openai", f"http://127.0.0.1:{port}/v1", KEY)
    result = await collect(client, ep, REQUEST)
    assert result.error is not None and result.error.kind == "connect" and result.error.started is False
    with pytest.raises(ProviderError) as info:
        await list_models(client, Endpoint("ollama", f"http://127.0.0.1:{port}", None))
    assert info.value.kind == "connect"


async def test_closed_without_an_answer(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    error = await error_for(provider_server, client, "ollama", Drop())
    assert error.kind == "connect"


async def test_list_models_timeout(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    provider_server.script(provider_server.models_path("groq"), Hang())
    start = time.monotonic()
    with pytest.raises(ProviderError) as info:
        await list_models(client, endpoint(provider_server, "groq"), timeout=0.3)
    assert info.value.kind == "timeout"
    assert time.monotonic() - start < 2


async def test_list_models_http_error(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    provider_server.script(provider_server.models_path("google"), Respond(400, [GOOGLE_BAD_KEY]))
    with pytest.raises(ProviderError) as info:
        await list_models(client, endpoint(provider_server, "google"))
    assert info.value.kind == "auth" and info.value.status == 400
