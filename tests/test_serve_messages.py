"""`/v1/messages`: the Anthropic Messages API served over the router, driven by the official
`anthropic` SDK, with the upstream speaking OpenAI, Anthropic and Ollama in turn."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import anthropic
import httpx
import pytest
from pydantic import BaseModel

from tests.fakes.provider_server import Respond, Stream
from tests.fakes.tool_streams import Call, ToolCallReply
from tests.serve_clients import PNG, PROTOCOLS, WEATHER_SCHEMA, Served, keep_env, start
from tests.waiting import eventually

TOOLS = [{"name": "get_weather", "description": "The weather in a city", "input_schema": WEATHER_SCHEMA},
         {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}]
ASK = [{"role": "user", "content": "What is the weather in Paris right now?"}]
WEATHER = Call("get_weather", {"city": "Paris"})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from start(tmp_path_factory.mktemp("serve-messages"))


@pytest.fixture(autouse=True)
def fresh(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    keep_env(monkeypatch, served)
    served.fake.reset()


def client(served: Served, key: str = "unused") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=served.server.url, api_key=key, max_retries=0, timeout=20)


def blocks(message: anthropic.types.Message) -> list[tuple[str, object]]:
    return [(b.type, b.text if b.type == "text" else (b.name, b.input)) for b in message.content]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tool_use_with_text_and_parallel_calls(protocol: str, stream: bool, served: Served) -> None:
    calls = [WEATHER, Call("get_time", {})]
    served.fake.script(served.chat_path(protocol), ToolCallReply(protocol, calls, text="Let me look.", split=5))
    kwargs = dict(model=PROTOCOLS[protocol][1], max_tokens=200, messages=ASK, tools=TOOLS,
                  system="Answer briefly.")
    if stream:
        with client(served).messages.stream(**kwargs) as events:
            message = events.get_final_message()
    else:
        raw = client(served).messages.with_raw_response.create(**kwargs)
        message = raw.parse()
        assert raw.headers["x-mesoclaw-provider"] == PROTOCOLS[protocol][0]
    assert blocks(message) == [("text", "Let me look."), ("tool_use", ("get_weather", {"city": "Paris"})),
                               ("tool_use", ("get_time", {}))]
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (50, 20)
    sent = served.upstream(protocol)
    system = sent["system"] if protocol == "anthropic" else sent["messages"][0]["content"]
    assert system == "Answer briefly."


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_full_round_trip_with_tool_results(protocol: str, served: Served) -> None:
    c, model = client(served), PROTOCOLS[protocol][1]
    served.fake.script(served.chat_path(protocol), ToolCallReply(protocol, [WEATHER]))
    first = c.messages.create(model=model, max_tokens=200, messages=ASK, tools=TOOLS)
    use = next(b for b in first.content if b.type == "tool_use")
    served.fake.script(served.chat_path(protocol), ToolCallReply(protocol, text="It is 18°C and sunny in Paris."))
    followup = [*ASK, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18°C, sunny"}]}]
    with c.messages.stream(model=model, max_tokens=200, messages=followup, tools=TOOLS) as events:
        answer = events.get_final_message()
    assert blocks(answer) == [("text", "It is 18°C and sunny in Paris.")] and answer.stop_reason == "end_turn"
    sent = served.upstream(protocol)["messages"]
    if protocol == "anthropic":
        assert sent[-1]["content"] == [{"type": "tool_result", "tool_use_id": use.id, "content": "18°C, sunny"}]
    else:
        assert sent[-2]["tool_calls"][0]["id"] == use.id
        assert (sent[-1]["role"], sent[-1]["content"], sent[-1]["tool_call_id"]) == ("tool", "18°C, sunny", use.id)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_image_block(protocol: str, served: Served) -> None:
    served.fake.script(served.chat_path(protocol), Stream(PROTOCOLS[protocol][0], "A single transparent pixel."))
    content = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
               {"type": "text", "text": "What is in this picture?"}]
    message = client(served).messages.create(model=PROTOCOLS[protocol][1], max_tokens=100,
                                             messages=[{"role": "user", "content": content}])
    assert blocks(message) == [("text", "A single transparent pixel.")]
    sent = served.upstream(protocol)["messages"][-1]
    image = {"openai": lambda: sent["content"][0]["image_url"]["url"].split(",", 1)[1],
             "anthropic": lambda: sent["content"][0]["source"]["data"],
             "ollama": lambda: sent["images"][0]}[protocol]()
    assert image == PNG


class Weather(BaseModel):
    city: str
    temperature_c: int


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_structured_output(protocol: str, served: Served) -> None:
    served.fake.script(served.chat_path(protocol),
                       Stream(PROTOCOLS[protocol][0], ['{"city": "Paris", ', '"temperature_c": 18}']))
    message = client(served).messages.parse(model=PROTOCOLS[protocol][1], max_tokens=100, messages=ASK,
                                            output_format=Weather)
    assert message.parsed_output == Weather(city="Paris", temperature_c=18)


def eco_rows(served: Served) -> list[tuple[str, str]]:
    """The usage rows of requests routed with eco: only this module's eco test sends one. (Counting rows
    from "before" raced the write-behind of the previous test's row, which lands just after its reply.)"""
    with sqlite3.connect(served.home / "mesoclaw.db") as conn:
        return conn.execute("SELECT source, outcome FROM usage WHERE profile = 'eco' ORDER BY id").fetchall()


def test_headers_usage_records_and_count_tokens(served: Served) -> None:
    assert eco_rows(served) == []
    raw = client(served).messages.with_raw_response.create(model="mesoclaw/eco", max_tokens=50, messages=ASK,
                                                           extra_headers={"x-mesoclaw-task": "general"})
    assert {k: raw.headers[f"x-mesoclaw-{k}"] for k in ("task", "profile", "fallbacks")} == {
        "task": "general", "profile": "eco", "fallbacks": "0"}
    message = raw.parse()
    assert message.model == f"{raw.headers['x-mesoclaw-provider']}:{raw.headers['x-mesoclaw-model']}"
    rows = eventually(lambda: eco_rows(served), what="the usage row (written just after the reply)")
    assert rows == [("serve", "ok")]
    counted = client(served).messages.count_tokens(model="mesoclaw/auto", messages=ASK, tools=TOOLS)
    assert 20 < counted.input_tokens < 200


def test_errors_in_anthropics_shape(served: Served) -> None:
    c = client(served)
    for kwargs, words in [
        (dict(model="no-such-model", messages=ASK), "unknown model"),
        (dict(model="mesoclaw/auto", messages=[{"role": "assistant", "content": "hi"}]), "last message"),
        (dict(model="mesoclaw/auto", messages=ASK, tools=[{"type": "web_search_20250305", "name": "web_search"}]),
         "only client tools"),
        (dict(model="codellama:34b", messages=ASK, tools=TOOLS), "no available model has tool calls"),
    ]:
        with pytest.raises(anthropic.BadRequestError) as err:
            c.messages.create(max_tokens=50, **kwargs)
        body = err.value.response.json()
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
        assert words in body["error"]["message"], kwargs
    served.fake.default(served.chat_path("openai"), Respond(503, {"error": {"message": "overloaded"}}))
    with pytest.raises(anthropic.APIStatusError) as err:
        c.messages.create(model="openai:gpt-6-luna", max_tokens=50, messages=ASK)
    assert err.value.status_code == 503 and err.value.response.json()["error"]["type"] == "api_error"
    served.fake.default(served.chat_path("anthropic"), Stream("anthropic", ["half ", "way"], error_after=1))
    with pytest.raises(anthropic.APIStatusError, match="failed mid-reply"), \
            c.messages.stream(model="claude-haiku-5.5", max_tokens=50, messages=ASK) as events:
        events.get_final_message()


def test_the_token_is_taken_as_x_api_key(served: Served, tmp_path_factory: pytest.TempPathFactory,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from mesoclaw_tui.server import BackgroundServer

    monkeypatch.setenv("MESOCLAW_HOME", str(tmp_path_factory.mktemp("serve-token")))
    with BackgroundServer(token="s3cret-token") as server:
        with pytest.raises(anthropic.AuthenticationError):
            anthropic.Anthropic(base_url=server.url, api_key="wrong", max_retries=0).messages.create(
                model="mesoclaw/auto", max_tokens=10, messages=ASK)
        missing = httpx.post(f"{server.url}/v1/messages", json={"messages": ASK})
        assert missing.status_code == 401 and missing.json()["type"] == "error"
        message = anthropic.Anthropic(base_url=server.url, api_key="s3cret-token", max_retries=0).messages.create(
            model="mesoclaw/auto", max_tokens=10, messages=ASK)
        assert blocks(message) == [("text", served.fake.reply)]
