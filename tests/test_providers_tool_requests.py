"""Tools, tool results, images and structured output as each provider expects them on the wire
(the request bodies as the fake server recorded them)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from mesoclaw_tui.providers import (
    ChatMessage,
    ChatRequest,
    Endpoint,
    ImagePart,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    wire_tool_call_id,
)
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.streams import collect

KEY = "sk-test-tool-shape-4242"
WEATHER = Tool("get_weather", "The weather in a city now",
               {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
CLOCK = Tool("get_time")  # no description, no parameters
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
# A full round trip: two parallel calls (one id from a gateway that no provider would accept
# back as it is), their results (one failed), then the user's next message.
ODD_ID = "functions.get_weather:0"
ROUND_TRIP = (
    ChatMessage("user", "Weather in Paris, and the time?"),
    ChatMessage("assistant", "Let me check.", tool_calls=(
        ToolCall(ODD_ID, "get_weather", '{"city":"Paris"}'), ToolCall("call_abc123", "get_time", ""))),
    ChatMessage("tool", "18°C, clear", tool_call_id=ODD_ID),
    ChatMessage("tool", "clock unavailable", tool_call_id="call_abc123", is_error=True),
    ChatMessage("user", "Thanks. And tomorrow?"),
)
MAPPED = wire_tool_call_id(ODD_ID)


async def sent_body(server: FakeProviderServer, client: httpx.AsyncClient, provider: str,
                    request: ChatRequest) -> dict[str, Any]:
    result = await collect(client, Endpoint(provider, server.base_url(provider), KEY), request)
    assert result.error is None, result.error
    assert server.last_request.path == server.chat_path(provider)
    return server.last_request.json


def test_the_id_rule() -> None:
    for portable in ("call_ZR5UUuTt3pf61kjwAJIYdVMj", "toolu_01CzN6riCPqw4pVSuTd9Dwn7",
                     "fc_bfb39741-3748-4def-9886-a93fc9c64a90", "call_ab12cd34", "x" * 40):
        assert wire_tool_call_id(portable) == portable
    for odd in (ODD_ID, "x" * 41, "call 1", "ids/with/slashes", "\u00e9t\u00e9"):
        mapped = wire_tool_call_id(odd)
        assert mapped.startswith("call_") and len(mapped) == 29
        assert mapped == wire_tool_call_id(odd)  # a pure function of the id: every turn agrees
        assert wire_tool_call_id(mapped) == mapped  # and what it gives is portable
    assert wire_tool_call_id("x" * 41) != wire_tool_call_id("x" * 42)


# --- OpenAI-compatible -------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "groq", "google", "openrouter", "vercel"])
async def test_openai_tools_round_trip(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                       provider: str) -> None:
    request = ChatRequest("some-model", ROUND_TRIP, tools=(WEATHER, CLOCK), tool_choice=ToolChoice("auto"),
                          parallel_tool_calls=False)
    body = await sent_body(provider_server, client, provider, request)
    assert body["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city now",
                                          "parameters": WEATHER.parameters}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
    ]
    assert body["tool_choice"] == "auto"
    assert body["parallel_tool_calls"] is False
    assert body["messages"] == [
        {"role": "user", "content": "Weather in Paris, and the time?"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": MAPPED, "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
            {"id": "call_abc123", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": MAPPED, "content": "18°C, clear"},
        {"role": "tool", "tool_call_id": "call_abc123", "content": "clock unavailable"},
        {"role": "user", "content": "Thanks. And tomorrow?"},
    ]


@pytest.mark.parametrize(("choice", "wire"), [
    (ToolChoice("auto"), "auto"), (ToolChoice("none"), "none"), (ToolChoice("required"), "required"),
    (ToolChoice.tool("get_weather"), {"type": "function", "function": {"name": "get_weather"}}),
])
async def test_openai_tool_choice(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                  choice: ToolChoice, wire: Any) -> None:
    body = await sent_body(provider_server, client, "openai",
                           ChatRequest("gpt-4o", ROUND_TRIP[:1], tools=(WEATHER,), tool_choice=choice))
    assert body["tool_choice"] == wire
    assert "parallel_tool_calls" not in body  # the provider's default unless asked


async def test_openai_without_tools_sends_no_tool_fields(provider_server: FakeProviderServer,
                                                         client: httpx.AsyncClient) -> None:
    # OpenAI refuses tool_choice and parallel_tool_calls without tools.
    body = await sent_body(provider_server, client, "openai",
                           ChatRequest("gpt-4o", ROUND_TRIP[:1], tool_choice=ToolChoice("none"),
                                       parallel_tool_calls=True))
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(body)


async def test_openai_images(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    content = (TextPart("What is in these?"), ImagePart.from_url("https://example.com/cat.jpg", detail="low"),
               ImagePart.from_url(f"data:image/png;base64,{PNG}"), ImagePart.from_bytes(b"GIF89a", "image/gif"))
    body = await sent_body(provider_server, client, "openai", ChatRequest("gpt-4o", (ChatMessage("user", content),)))
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lGODlh"}},
    ]}]


@pytest.mark.parametrize(("fmt", "wire"), [
    (ResponseFormat("json_object"), {"type": "json_object"}),
    (ResponseFormat("json_schema", "city", {"type": "object", "properties": {"name": {"type": "string"}}}, True),
     {"type": "json_schema", "json_schema": {"name": "city", "strict": True,
                                             "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}}),
    (ResponseFormat("json_schema", schema={"type": "object"}),
     {"type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}}),
])
async def test_openai_response_format(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                      fmt: ResponseFormat, wire: dict[str, Any]) -> None:
    body = await sent_body(provider_server, client, "openai",
                           ChatRequest("gpt-4o", ROUND_TRIP[:1], response_format=fmt))
    assert body["response_format"] == wire


async def test_openai_text_response_format_is_the_default(provider_server: FakeProviderServer,
                                                          client: httpx.AsyncClient) -> None:
    body = await sent_body(provider_server, client, "openai",
                           ChatRequest("gpt-4o", ROUND_TRIP[:1], response_format=ResponseFormat("text")))
    assert "response_format" not in body


# --- Anthropic -------------------------------------------------------------------------------


async def test_anthropic_tools_round_trip(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    request = ChatRequest("claude-haiku-4-5", ROUND_TRIP, system="be brief", tools=(WEATHER, CLOCK))
    body = await sent_body(provider_server, client, "anthropic", request)
    assert body["tools"] == [
        {"name": "get_weather", "description": "The weather in a city now", "input_schema": WEATHER.parameters},
        {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert "tool_choice" not in body  # auto, parallel allowed: Anthropic's default
    assert body["system"] == "be brief"
    assert body["messages"] == [
        {"role": "user", "content": "Weather in Paris, and the time?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": MAPPED, "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_abc123", "name": "get_time", "input": {}}]},
        # Both results in one user turn, then the user's next words in that same turn.
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": MAPPED, "content": "18°C, clear"},
            {"type": "tool_result", "tool_use_id": "call_abc123", "content": "clock unavailable", "is_error": True},
            {"type": "text", "text": "Thanks. And tomorrow?"}]},
    ]


@pytest.mark.parametrize(("choice", "parallel", "wire"), [
    (ToolChoice("auto"), None, {"type": "auto"}),
    (ToolChoice("none"), None, {"type": "none"}),
    (ToolChoice("required"), None, {"type": "any"}),
    (ToolChoice.tool("get_weather"), None, {"type": "tool", "name": "get_weather"}),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    (ToolChoice("required"), False, {"type": "any", "disable_parallel_tool_use": True}),
    (ToolChoice.tool("get_weather"), False, {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}),
])
async def test_anthropic_tool_choice(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                     choice: ToolChoice | None, parallel: bool | None, wire: dict[str, Any]) -> None:
    request = ChatRequest("claude-haiku-4-5", ROUND_TRIP[:1], tools=(WEATHER,), tool_choice=choice,
                          parallel_tool_calls=parallel)
    body = await sent_body(provider_server, client, "anthropic", request)
    assert body["tool_choice"] == wire


async def test_anthropic_images(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    content = (ImagePart.from_url("https://example.com/cat.jpg"), ImagePart.from_url(f"data:image/png;base64,{PNG}"),
               TextPart("Which is bigger?"))
    body = await sent_body(provider_server, client, "anthropic",
                           ChatRequest("claude-haiku-4-5", (ChatMessage("user", content),)))
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "text", "text": "Which is bigger?"},
    ]}]


async def test_anthropic_tool_result_with_an_image(provider_server: FakeProviderServer,
                                                   client: httpx.AsyncClient) -> None:
    turns = (*ROUND_TRIP[:2], ChatMessage("tool", (TextPart("the chart"), ImagePart(data=PNG, media_type="image/png")),
                                          tool_call_id="call_abc123"))
    body = await sent_body(provider_server, client, "anthropic", ChatRequest("claude-haiku-4-5", turns))
    assert body["messages"][-1] == {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_abc123",
                                    "content": [{"type": "text", "text": "the chart"}, {"type": "image", "source": {
                                        "type": "base64", "media_type": "image/png", "data": PNG}}]}]}


SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
          "additionalProperties": False}


async def test_anthropic_structured_output_is_native(provider_server: FakeProviderServer,
                                                     client: httpx.AsyncClient) -> None:
    request = ChatRequest("claude-sonnet-4-6", ROUND_TRIP[:1], response_format=ResponseFormat("json_schema", "c", SCHEMA))
    body = await sent_body(provider_server, client, "anthropic", request)
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "tools" not in body and "tool_choice" not in body


@pytest.mark.parametrize(("model", "fmt", "schema"), [
    ("claude-sonnet-4-6", ResponseFormat("json_object"), {"type": "object"}),  # no native JSON-object mode
    ("claude-3-5-haiku-20241022", ResponseFormat("json_schema", "c", SCHEMA), SCHEMA),  # before structured outputs
    ("claude-sonnet-4-20250514", ResponseFormat("json_schema", "c", SCHEMA), SCHEMA),
])
async def test_anthropic_structured_output_by_a_forced_tool(provider_server: FakeProviderServer,
                                                            client: httpx.AsyncClient, model: str,
                                                            fmt: ResponseFormat, schema: dict[str, Any]) -> None:
    body = await sent_body(provider_server, client, "anthropic", ChatRequest(model, ROUND_TRIP[:1], response_format=fmt))
    assert "output_config" not in body
    assert body["tools"] == [{"name": "json_output", "description": body["tools"][0]["description"],
                              "input_schema": schema}]
    assert body["tool_choice"] == {"type": "tool", "name": "json_output"}


# --- Ollama ----------------------------------------------------------------------------------


async def test_ollama_tools_round_trip(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    body = await sent_body(provider_server, client, "ollama",
                           ChatRequest("qwen3", ROUND_TRIP, tools=(WEATHER,), tool_choice=ToolChoice("required")))
    assert body["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "The weather in a city now", "parameters": WEATHER.parameters}}]
    assert "tool_choice" not in body and "parallel_tool_calls" not in body  # Ollama has neither
    assert body["messages"] == [
        {"role": "user", "content": "Weather in Paris, and the time?"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": MAPPED, "type": "function",
             "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}},
            {"id": "call_abc123", "type": "function", "function": {"index": 1, "name": "get_time", "arguments": {}}}]},
        {"role": "tool", "content": "18°C, clear", "tool_call_id": MAPPED, "tool_name": "get_weather"},
        {"role": "tool", "content": "clock unavailable", "tool_call_id": "call_abc123", "tool_name": "get_time"},
        {"role": "user", "content": "Thanks. And tomorrow?"},
    ]


async def test_ollama_tool_choice_none_sends_no_tools(provider_server: FakeProviderServer,
                                                      client: httpx.AsyncClient) -> None:
    body = await sent_body(provider_server, client, "ollama",
                           ChatRequest("qwen3", ROUND_TRIP[:1], tools=(WEATHER,), tool_choice=ToolChoice("none")))
    assert "tools" not in body


@pytest.mark.parametrize(("fmt", "wire"), [
    (ResponseFormat("json_object"), "json"), (ResponseFormat("json_schema", "c", SCHEMA), SCHEMA),
])
async def test_ollama_format(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                             fmt: ResponseFormat, wire: Any) -> None:
    body = await sent_body(provider_server, client, "ollama", ChatRequest("qwen3", ROUND_TRIP[:1], response_format=fmt))
    assert body["format"] == wire


async def test_ollama_images(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    content = (TextPart("What is this?"), ImagePart.from_url(f"data:image/png;base64,{PNG}"))
    body = await sent_body(provider_server, client, "ollama", ChatRequest("llava", (ChatMessage("user", content),)))
    assert body["messages"] == [{"role": "user", "content": "What is this?", "images": [PNG]}]


async def test_ollama_refuses_an_image_url_before_sending(provider_server: FakeProviderServer,
                                                          client: httpx.AsyncClient) -> None:
    content = (TextPart("What is this?"), ImagePart.from_url("https://example.com/cat.jpg"))
    result = await collect(client, Endpoint("ollama", provider_server.base_url("ollama"), None),
                           ChatRequest("llava", (ChatMessage("user", content),)))
    assert result.error is not None and result.error.kind == "bad_request"
    assert "base64" in result.error.message and not result.error.started
    assert provider_server.requests == []  # nothing was sent


def test_image_part_rules() -> None:
    assert ImagePart.from_url("data:image/jpeg;base64,AAAA") == ImagePart(data="AAAA", media_type="image/jpeg")
    assert ImagePart(data="AAAA", media_type="image/jpeg").as_url() == "data:image/jpeg;base64,AAAA"
    for bad in ("data:image/png,rawbytes", "data:;base64,AAAA"):
        with pytest.raises(ValueError):
            ImagePart.from_url(bad)
    with pytest.raises(ValueError):
        ImagePart(data="AAAA")  # no media type
    with pytest.raises(ValueError):
        ToolChoice("tool")  # no name
