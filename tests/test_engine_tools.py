"""The engine with tool calls, images and structured output, against the fake provider server: routing
by what a request needs, tool-call deltas streamed, no fallback once a call has started, the finish
reason, usage estimated when a provider gives none, and the cap on a reply's size."""

from __future__ import annotations

import httpx
import pytest

from mesoclaw_tui.core.failures import FailureKind
from mesoclaw_tui.core.types import Capability, MesoclawError
from mesoclaw_tui.engine import Delta, Engine, ToolDelta, Turn
from mesoclaw_tui.providers import ChatMessage, ImagePart, ResponseFormat, TextPart, Tool, ToolCall

from .fakes.provider_server import Replay, Respond, Stream
from .fakes.tool_streams import Call, ToolCallReply

WEATHER = Tool("get_weather", "The weather in a city", {"type": "object", "properties": {"city": {"type": "string"}}})
ASK = "fix this python function so that it calls the weather tool: def f(: pass"


@pytest.fixture
def service_providers() -> tuple[str, ...]:
    return ("openai", "anthropic", "ollama")


async def test_tool_calls_stream_as_deltas_and_arrive_whole_on_the_reply(engine, service, provider_server):
    calls = [Call("get_weather", {"city": "Paris"}), Call("get_weather", {"city": "Oslo"})]
    provider_server.script(provider_server.chat_path("anthropic"),
                           ToolCallReply("anthropic", calls, text="Checking.", split=6, usage=(300, 40)))
    events = []
    reply = await engine.run(Turn(ASK, model="claude-haiku-5.5", tools=(WEATHER,)), events.append)
    deltas = [e for e in events if type(e) is ToolDelta]
    assert "".join(e.text for e in events if type(e) is Delta) == "Checking." == reply.text
    assert [(d.index, d.name) for d in deltas if d.id] == [(0, "get_weather"), (1, "get_weather")]
    assert "".join(d.arguments for d in deltas if d.index == 1) == '{"city":"Oslo"}'
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("get_weather", '{"city":"Paris"}'),
                                                                 ("get_weather", '{"city":"Oslo"}')]
    assert reply.finish_reason == "tool_calls" and reply.attempts[-1].finish_reason == "tool_calls"
    assert (reply.input_tokens, reply.output_tokens, reply.estimated) == (300, 40, False)
    sent = provider_server.last_request.json
    assert sent["tools"][0]["name"] == "get_weather" and sent["tools"][0]["input_schema"] == WEATHER.parameters
    assert reply.as_dict()["tool_calls"][1] == {"id": reply.tool_calls[1].id, "name": "get_weather",
                                                "arguments": '{"city":"Oslo"}'}


async def test_candidates_without_a_needed_capability_are_skipped_with_the_reason(engine, service, provider_server):
    await service.set_custom_route("code", ["codellama-34b", "claude-haiku-5.5"])
    reply = await engine.run(Turn(ASK, task="code", tools=(WEATHER,)))
    assert reply.provider == "anthropic" and reply.status == "complete"
    skipped = [e for e in reply.decision.trace if e.model == "codellama:34b"]
    assert skipped[0].outcome.value == "missing capability" and skipped[0].detail == "no tool support"
    assert reply.decision.needs == frozenset({Capability.TOOLS})
    plain = await engine.run(Turn(ASK, task="code"))
    assert plain.provider == "ollama"  # without tools, the custom route's first model answers


async def test_a_request_no_available_model_can_take_is_refused_before_any_request(engine, service,
                                                                                   provider_server):
    image = (TextPart("what is this?"), ImagePart.from_url("https://example.com/cat.png"))
    reply = await engine.run(Turn("what is this?", content=image, model="llama-3.2-3b"))
    assert reply.failure is FailureKind.MISSING_CAPABILITY and reply.status == "failed"
    assert reply.missing == (Capability.IMAGE_INPUT,)
    assert reply.error.startswith("no available model has image input, which this request needs")
    assert "ollama:llama3.2:3b no image input" in reply.error
    assert not [r for r in provider_server.requests if r.method == "POST"]
    assert await service.list_conversations() == []  # nothing stored: retrying it as it is cannot help
    schema = ResponseFormat("json_schema", schema={"type": "object"})
    refused = await engine.run(Turn("give me json", model="codellama-34b", tools=(WEATHER,), response_format=schema))
    assert refused.missing == (Capability.TOOLS,)


async def test_a_tool_call_that_broke_off_does_not_fall_back(engine, service, provider_server):
    frames = ToolCallReply("openai", [Call("get_weather", {"city": "Paris"})], split=8)._openai_frames("gpt-6-luna")
    started = b"".join(frames[:4])  # the role chunk, the call's name, two argument fragments; then EOF
    provider_server.script(provider_server.chat_path("openai"), Replay(started))
    await service.set_custom_route("code", ["gpt-6-luna", "claude-haiku-5.5"])
    events = []
    reply = await engine.run(Turn(ASK, task="code", tools=(WEATHER,)), events.append)
    assert reply.failure is FailureKind.INCOMPLETE and [a.outcome for a in reply.attempts] == ["incomplete"]
    assert [type(e) for e in events if type(e) is ToolDelta] and reply.tool_calls == ()
    assert not provider_server.requests_to(provider_server.chat_path("anthropic"))
    # before its first delta the same failure falls back as ever
    provider_server.script(provider_server.chat_path("openai"), Respond(500, {"error": {"message": "boom"}}))
    provider_server.script(provider_server.chat_path("anthropic"),
                           ToolCallReply("anthropic", [Call("get_weather", {"city": "Paris"})]))
    fell_back = await engine.run(Turn(ASK, task="code", tools=(WEATHER,)))
    assert [a.outcome for a in fell_back.attempts] == ["server", "ok"] and fell_back.tool_calls[0].name == "get_weather"


async def test_tool_results_continue_the_task_of_the_question(engine, provider_server):
    poem = "Write a short poem about the sea, with rhymes and a gentle rhythm, for a child's birthday card."
    messages = (ChatMessage("user", ASK),
                ChatMessage("assistant", "", tool_calls=(ToolCall("call_1", "get_weather", '{"city":"Paris"}'),)),
                ChatMessage("tool", poem, tool_call_id="call_1"))
    reply = await engine.run(Turn(ASK, source="serve", persist=False, messages=messages, tools=(WEATHER,)))
    alone = await engine.run(Turn(poem, source="serve", persist=False))
    assert reply.task.value == "code" and alone.task.value != "code"
    assert reply.status == "complete"


@pytest.mark.parametrize("protocol, finish", [("anthropic", "max_tokens"), ("ollama", "length"),
                                              ("openai", "content_filter")])
async def test_the_finish_reason_is_normalised(engine, provider_server, protocol, finish):
    provider_server.script(provider_server.chat_path(protocol), Stream(protocol, "cut off he", finish=finish))
    model = {"anthropic": "claude-haiku-5.5", "ollama": "llama-3.2-3b", "openai": "gpt-6-luna"}[protocol]
    reply = await engine.run(Turn("hello there", model=model, max_tokens=3))
    expected = "content_filter" if finish == "content_filter" else "length"
    assert (reply.status, reply.failure, reply.finish_reason) == ("complete", None, expected)


@pytest.mark.parametrize("protocol", ["anthropic", "ollama"])
async def test_zero_usage_with_text_is_estimated_and_marked(engine, service, provider_server, protocol):
    provider_server.script(provider_server.chat_path(protocol), Stream(protocol, ["abcd" * 10], usage=(0, 0)))
    model = {"anthropic": "claude-haiku-5.5", "ollama": "llama-3.2-3b"}[protocol]
    reply = await engine.run(Turn("hello", model=model))
    assert reply.estimated and reply.input_tokens > 0 and reply.output_tokens == 10
    assert (await service.store.usage_rows())[-1]["estimated"] == 1


async def test_a_tool_call_without_usage_estimates_its_arguments(engine, provider_server):
    reply_without_usage = ToolCallReply("openai", [Call("get_weather", {"city": "x" * 400})])
    frames = [f for f in reply_without_usage._openai_frames("gpt-6-luna") if b'"choices":[]' not in f]
    provider_server.script(provider_server.chat_path("openai"), Replay(b"".join(frames)))
    reply = await engine.run(Turn("hello", model="gpt-6-luna", tools=(WEATHER,)))
    assert reply.estimated and reply.text == "" and reply.output_tokens >= 100


async def test_a_reply_past_the_size_cap_is_ended_and_kept(service, provider_server):
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", n=200_000, piece="0123456789"))
    client = httpx.AsyncClient()
    try:
        reply = await Engine(service, client, max_reply=1_000).run(Turn("count for ever", model="gpt-6-luna"))
    finally:
        await client.aclose()
    assert reply.failure is FailureKind.REPLY_TOO_LARGE and reply.status == "incomplete"
    assert reply.text == "0123456789" * 100 and reply.fallbacks == []
    assert "passed the cap of 1,000 characters (MESOCLAW_MAX_REPLY_CHARS)" in reply.error
    stored = (await service.store.messages(reply.conversation_id))[-1]
    assert (stored["status"], stored["content"]) == ("incomplete", reply.text)


def test_the_size_cap_is_read_from_the_environment(monkeypatch):
    from mesoclaw_tui.engine import DEFAULT_MAX_REPLY_CHARS, max_reply_chars

    assert max_reply_chars({}) == DEFAULT_MAX_REPLY_CHARS
    assert max_reply_chars({"MESOCLAW_MAX_REPLY_CHARS": "2_000"}) == 2000
    for bad in ("0", "-5", "lots", "1.5"):
        with pytest.raises(MesoclawError, match="MESOCLAW_MAX_REPLY_CHARS"):
            max_reply_chars({"MESOCLAW_MAX_REPLY_CHARS": bad})
