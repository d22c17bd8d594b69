"""Tool calls, structured output and images through `mesoclaw serve`, driven by the official `openai`
SDK and LangChain's ChatOpenAI, with the upstream speaking OpenAI, Anthropic and Ollama in turn: every
protocol must give the client the same answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from tests.fakes.provider_server import Stream
from tests.fakes.tool_streams import Call, ToolCallReply
from tests.serve_clients import PNG, PROTOCOLS, WEATHER_SCHEMA, Served, keep_env, start

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                           "parameters": WEATHER_SCHEMA}},
         {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}]
ASK = [{"role": "user", "content": "What is the weather in Paris right now?"}]
WEATHER = Call("get_weather", {"city": "Paris"})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from start(tmp_path_factory.mktemp("serve-tools"))


@pytest.fixture(autouse=True)
def fresh(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    keep_env(monkeypatch, served)
    served.fake.reset()


def client(served: Served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.server.base_url, api_key="unused", max_retries=0, timeout=20)


def calls_of(message: Any) -> list[tuple[str, Any]]:
    return [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or ()]


def streamed(chunks: list[Any]) -> tuple[str, list[tuple[str, str, Any]], str | None]:
    """Text, tool calls (id, name, arguments) and finish reason, assembled from chunks as clients do."""
    text, calls, finish = "", {}, None
    for chunk in chunks:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or ():
                entry = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                entry["id"] = call.id or entry["id"]
                if call.function is not None:
                    entry["name"] += call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
            finish = choice.finish_reason or finish
    return text, [(c["id"], c["name"], json.loads(c["arguments"])) for _, c in sorted(calls.items())], finish


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_tool_call_not_streamed(protocol: str, served: Served) -> None:
    served.fake.script(served.chat_path(protocol), ToolCallReply(protocol, [WEATHER], text="Let me look."))
    raw = client(served).chat.completions.with_raw_response.create(model=PROTOCOLS[protocol][1], messages=ASK,
                                                                    tools=TOOLS, tool_choice="auto")
    choice = raw.parse().choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me look."
    assert calls_of(choice.message) == [("get_weather", {"city": "Paris"})]
    assert raw.headers["x-mesoclaw-provider"] == PROTOCOLS[protocol][0]
    sent = served.upstream(protocol)
    names = [t["name"] if "name" in t else t["function"]["name"] for t in sent["tools"]]
    assert names == ["get_weather", "get_time"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_parallel_tool_calls_streamed(protocol: str, served: Served) -> None:
    calls = [WEATHER, Call("get_time", {})]
    served.fake.script(served.chat_path(protocol), ToolCallReply(protocol, calls, split=7))
    chunks = list(client(served).chat.completions.create(model=PROTOCOLS[protocol][1], messages=ASK, tools=TOOLS,
                                                         stream=True))
    text, got, finish = streamed(chunks)
    assert text == "" and finish == "tool_calls"
    assert [(name, arguments) for _, name, arguments in got] == [("get_weather", {"city": "Paris"}),
                                                                ("get_time", {})]
    assert all(call_id for call_id, _, _ in got) and len({call_id for call_id, _, _ in got}) == 2
    assert chunks[0].choices[0].delta.role == "assistant"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_full_round_trip_with_tool_results(protocol: str, served: Served) -> None:
    c, model = client(served), PROTOCOLS[protocol][1]
    served.fake.script(served.chat_path(protocol), ToolCallReply(protocol, [WEATHER]))
    first = c.chat.completions.with_raw_response.create(model=model, messages=ASK, tools=TOOLS)
    message = first.parse().choices[0].message
    call = message.tool_calls[0]
    served.fake.script(served.chat_path(protocol), ToolCallReply(protocol, text="It is 18°C and sunny in Paris."))
    followup = [*ASK, message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": "18°C, sunny"}]
    with c.chat.completions.with_streaming_response.create(model=model, messages=followup, tools=TOOLS,
                                                           stream=True) as second:
        text, calls, finish = streamed(list(second.parse()))
        # the tool result continues the task its question was classified as
        assert second.headers["x-mesoclaw-task"] == first.headers["x-mesoclaw-task"]
    assert (text, calls, finish) == ("It is 18°C and sunny in Paris.", [], "stop")
    sent = served.upstream(protocol)
    if protocol == "anthropic":
        assert sent["messages"][-2]["content"][-1] == {"type": "tool_use", "id": call.id, "name": "get_weather",
                                                      "input": {"city": "Paris"}}
        assert sent["messages"][-1]["content"] == [{"type": "tool_result", "tool_use_id": call.id,
                                                    "content": "18°C, sunny"}]
    else:
        assert sent["messages"][-2]["tool_calls"][0]["id"] == call.id
        assert sent["messages"][-1]["role"] == "tool" and sent["messages"][-1]["content"] == "18°C, sunny"
        assert sent["messages"][-1]["tool_call_id"] == call.id


class Weather(BaseModel):
    city: str
    temperature_c: int


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_parse_with_a_pydantic_response_format(protocol: str, served: Served) -> None:
    served.fake.script(served.chat_path(protocol),
                       Stream(PROTOCOLS[protocol][0], ['{"city": "Paris", ', '"temperature_c": 18}']))
    completion = client(served).chat.completions.parse(model=PROTOCOLS[protocol][1], messages=ASK,
                                                       response_format=Weather)
    assert completion.choices[0].message.parsed == Weather(city="Paris", temperature_c=18)
    sent = served.upstream(protocol)
    schema = {"openai": lambda: sent["response_format"]["json_schema"]["schema"],
              "anthropic": lambda: sent["output_config"]["format"]["schema"],
              "ollama": lambda: sent["format"]}[protocol]()
    assert set(schema["properties"]) == {"city", "temperature_c"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_image_message(protocol: str, served: Served) -> None:
    served.fake.script(served.chat_path(protocol), Stream(PROTOCOLS[protocol][0], "A single transparent pixel."))
    content = [{"type": "text", "text": "What is in this picture?"},
               {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]
    completion = client(served).chat.completions.create(model=PROTOCOLS[protocol][1],
                                                        messages=[{"role": "user", "content": content}])
    assert completion.choices[0].message.content == "A single transparent pixel."
    sent = served.upstream(protocol)["messages"][-1]
    image = {"openai": lambda: sent["content"][1]["image_url"]["url"].split(",", 1)[1],
             "anthropic": lambda: sent["content"][1]["source"]["data"],
             "ollama": lambda: sent["images"][0]}[protocol]()
    assert image == PNG


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_langchain_bind_tools(protocol: str, served: Served) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "18°C, sunny"

    llm = ChatOpenAI(base_url=served.server.base_url, api_key="unused", model=PROTOCOLS[protocol][1],
                     max_retries=0, timeout=20).bind_tools([get_weather])
    served.fake.script(served.chat_path(protocol), ToolCallReply(protocol, [WEATHER]))
    question = HumanMessage("What is the weather in Paris right now?")
    asked = llm.invoke([question])
    assert [(c["name"], c["args"]) for c in asked.tool_calls] == [("get_weather", {"city": "Paris"})]
    served.fake.script(served.chat_path(protocol), ToolCallReply(protocol, text="Sunny, 18°C."))
    result = ToolMessage(get_weather.invoke(asked.tool_calls[0]["args"]), tool_call_id=asked.tool_calls[0]["id"])
    answer = llm.invoke([question, asked, result])
    assert answer.content == "Sunny, 18°C." and answer.response_metadata["finish_reason"] == "stop"


def test_tool_requests_route_only_to_models_with_tools(served: Served) -> None:
    """Routed (mesoclaw/auto), a request with tools skips candidates without tool support; a
    request whose needs no available model has is a 400 naming the parameter, and nothing is sent."""
    raw = client(served).chat.completions.with_raw_response.create(
        model="mesoclaw/auto", messages=ASK, tools=TOOLS, extra_headers={"x-mesoclaw-task": "code"})
    assert raw.parse().choices[0].finish_reason == "stop"  # the fake's plain text default
    answered = (raw.headers["x-mesoclaw-provider"], raw.headers["x-mesoclaw-model"])
    assert answered[0] in ("openai", "anthropic", "ollama")
    posted = len([r for r in served.fake.requests if r.method == "POST"])
    for kwargs, param in [(dict(model="codellama:34b", tools=TOOLS), "tools"),
                          (dict(model="llama-3.2-3b", tools=TOOLS, parallel_tool_calls=True), "parallel_tool_calls"),
                          (dict(model="deepseek-chat", response_format={"type": "json_object"}), "response_format")]:
        with pytest.raises(openai.BadRequestError) as err:
            client(served).chat.completions.create(messages=ASK, **kwargs)
        error = err.value.response.json()["error"]
        assert (error["param"], error["code"]) == (param, "unsupported_parameter"), kwargs
        assert "no available model has" in error["message"]
    image = [{"role": "user", "content": [{"type": "text", "text": "and this?"},
                                          {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]
    with pytest.raises(openai.BadRequestError) as err:
        client(served).chat.completions.create(model="llama-3.2-3b", messages=image)
    error = err.value.response.json()["error"]
    assert error["param"] == "messages[0].content" and "image input" in error["message"]
    assert "llama3.2:3b no image input" in error["message"]
    assert len([r for r in served.fake.requests if r.method == "POST"]) == posted


@pytest.mark.parametrize("reason", ["length", "content_filter"])
def test_the_finish_reason_is_passed_through(reason: str, served: Served) -> None:
    served.fake.default(served.chat_path("anthropic"),
                        Stream("anthropic", "cut off her", finish={"length": "max_tokens", "content_filter": "refusal"}[
                            reason]))
    c = client(served)
    completion = c.chat.completions.create(model="claude-haiku-5.5", messages=ASK, max_tokens=3)
    assert completion.choices[0].finish_reason == reason
    chunks = list(c.chat.completions.create(model="claude-haiku-5.5", messages=ASK, max_tokens=3, stream=True))
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == reason


def test_every_name_accepted_as_a_model_can_be_retrieved(served: Served) -> None:
    c = client(served)
    for name in ("gpt-4o-mini", "claude-haiku-5.5", "claude-haiku-5-5", "openai:gpt-6-luna", "llama3.2:3b",
                 "ollama:llava:7b", "mesoclaw/eco", "mesoclaw", "MESOCLAW/Premium"):
        model = c.models.retrieve(name)
        assert model.id == name
        c.chat.completions.create(model=name, messages=ASK)  # the same name is accepted for a chat
    assert c.models.retrieve("gpt-6-luna").model_extra["mesoclaw"]["capabilities"] == [
        "image_input", "parallel_tools", "reasoning", "structured_output", "tools"]
    for name in ("no-such-model", "mesoclaw/cheap"):
        with pytest.raises(openai.NotFoundError):
            c.models.retrieve(name)
        with pytest.raises(openai.BadRequestError):
            c.chat.completions.create(model=name, messages=ASK)


def test_tool_call_ids_hold_when_the_next_turn_goes_to_another_provider(served: Served) -> None:
    c = client(served)
    served.fake.script(served.chat_path("anthropic"), ToolCallReply("anthropic", [WEATHER]))
    message = c.chat.completions.create(model="claude-haiku-5.5", messages=ASK, tools=TOOLS).choices[0].message
    call_id = message.tool_calls[0].id
    assert call_id.startswith("toolu_")
    followup = [*ASK, message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call_id, "content": "18°C, sunny"}]
    for protocol in ("openai", "ollama"):
        served.fake.script(served.chat_path(protocol), ToolCallReply(protocol, text="Sunny, 18°C."))
        answer = c.chat.completions.create(model=PROTOCOLS[protocol][1], messages=followup, tools=TOOLS)
        assert answer.choices[0].message.content == "Sunny, 18°C."
        sent = served.upstream(protocol)["messages"]
        assert sent[-2]["tool_calls"][0]["id"] == call_id and sent[-1]["tool_call_id"] == call_id
