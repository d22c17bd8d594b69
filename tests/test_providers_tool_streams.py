"""Tool-call replies read into the normalised events, over real sockets: the recorded OpenAI,
Groq and Anthropic tool-call streams byte for byte, and scripted replies in all three
protocols, streamed and not."""

from __future__ import annotations

import json

import httpx
import pytest

from mesoclaw_tui.providers import (
    ChatMessage,
    ChatRequest,
    FinishReason,
    ResponseFormat,
    StreamEnd,
    TextDelta,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from tests.fakes.provider_server import FakeProviderServer, Replay
from tests.fakes.streams import REQUEST, Collected, run
from tests.fakes.tool_streams import Call, ToolCallReply

PROVIDER = {"openai": "openai", "anthropic": "anthropic", "ollama": "ollama"}


def calls_of(result: Collected) -> tuple[ToolCall, ...]:
    return result.tool_calls


def assert_well_formed(result: Collected) -> None:
    """Each call's first delta names it (id and name) and later ones do not; then at most one
    Usage; then exactly one StreamEnd, last."""
    kinds = [type(e) for e in result.events]
    assert kinds.count(StreamEnd) == 1 and kinds[-1] is StreamEnd
    assert kinds.count(Usage) <= 1 and (Usage not in kinds or kinds.index(Usage) == len(kinds) - 2)
    seen: set[int] = set()
    for event in result.events:
        if isinstance(event, ToolCallDelta):
            first = event.index not in seen
            assert (event.id is not None and event.name is not None) == first, event
            seen.add(event.index)
    assert sorted(seen) == list(range(len(seen)))


# --- recorded streams -----------------------------------------------------------------------


@pytest.mark.parametrize("chunks", ["events", 1, 7, "whole"])
async def test_recorded_openai_tool_call(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                         chunks: str | int) -> None:
    result = await run(provider_server, client, "openai",
                       Replay("openai_chat_stream_toolcall_then_usage.sse", chunks=chunks))  # type: ignore[arg-type]
    assert result.error is None and result.text == ""
    assert [e for e in result.events if isinstance(e, ToolCallDelta)] == [
        ToolCallDelta(0, "call_ZR5UUuTt3pf61kjwAJIYdVMj", "get_capital", ""),
        ToolCallDelta(0, None, None, '{"'), ToolCallDelta(0, None, None, "country"),
        ToolCallDelta(0, None, None, '":"'), ToolCallDelta(0, None, None, "UK"), ToolCallDelta(0, None, None, '"}'),
    ]
    assert calls_of(result) == (ToolCall("call_ZR5UUuTt3pf61kjwAJIYdVMj", "get_capital", '{"country":"UK"}'),)
    assert result.usage == Usage(53, 15)
    assert result.end == StreamEnd(FinishReason.TOOL_CALLS, "tool_calls")
    assert_well_formed(result)


@pytest.mark.parametrize("chunks", ["events", 1, 5])
async def test_recorded_anthropic_tool_use_without_input(provider_server: FakeProviderServer,
                                                         client: httpx.AsyncClient, chunks: str | int) -> None:
    result = await run(provider_server, client, "anthropic",
                       Replay("anthropic_messages_stream_tool_use.sse", chunks=chunks))  # type: ignore[arg-type]
    assert result.error is None and result.text == ""
    # The recorded call takes no input: one empty input_json_delta, which adds nothing.
    assert [e for e in result.events if isinstance(e, ToolCallDelta)] == [
        ToolCallDelta(0, "toolu_01CzN6riCPqw4pVSuTd9Dwn7", "pelican_name_generator", "")]
    assert calls_of(result) == (ToolCall("toolu_01CzN6riCPqw4pVSuTd9Dwn7", "pelican_name_generator", "{}"),)
    assert result.usage == Usage(543, 40)
    assert result.end == StreamEnd(FinishReason.TOOL_CALLS, "tool_use")
    assert_well_formed(result)


async def test_recorded_groq_whole_call_after_reasoning(provider_server: FakeProviderServer,
                                                        client: httpx.AsyncClient) -> None:
    result = await run(provider_server, client, "groq", Replay("groq_stream_text_final_x_groq_usage.sse"))
    assert result.error is None and result.text == ""  # the reasoning is not shown
    assert calls_of(result) == (
        ToolCall("fc_bfb39741-3748-4def-9886-a93fc9c64a90", "get_something_by_name", '{"name":"example"}'),)
    assert result.end == StreamEnd(FinishReason.TOOL_CALLS, "tool_calls")
    assert_well_formed(result)


# --- scripted replies, the same in every protocol -------------------------------------------

PARALLEL = [Call("get_weather", {"city": "Paris", "unit": "celsius", "days": [1, 2, 3]}),
            Call("get_time", {}),  # a call without arguments
            Call("get_weather", {"city": "Zürich, \"CH\""})]


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("protocol", ["openai", "anthropic", "ollama"])
async def test_parallel_calls_after_a_text_preface(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                                   protocol: str, stream: bool) -> None:
    reply = ToolCallReply(protocol, PARALLEL, text="Let me look that up.", split=40, stream=stream)  # type: ignore[arg-type]
    result = await run(provider_server, client, PROVIDER[protocol], reply)
    assert result.error is None
    assert result.text == "Let me look that up."
    calls = calls_of(result)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [(c.name, c.object()) for c in PARALLEL]
    assert [c.id for c in calls] == [reply.call_id(i, c) for i, c in enumerate(PARALLEL)]
    assert result.usage == Usage(50, 20)
    # Ollama says "stop" after tool calls: the normalised reason is still tool_calls.
    assert result.end == StreamEnd(FinishReason.TOOL_CALLS, reply.reason())
    assert_well_formed(result)
    first_text = next(i for i, e in enumerate(result.events) if isinstance(e, TextDelta))
    first_call = next(i for i, e in enumerate(result.events) if isinstance(e, ToolCallDelta))
    assert first_text < first_call


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
async def test_arguments_split_across_many_deltas(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                                  protocol: str) -> None:
    arguments = {"query": "ünïcödé and \"quotes\" and \\ backslashes " * 8, "limit": 10}
    text = json.dumps(arguments, separators=(",", ":"))
    result = await run(provider_server, client, protocol,
                       ToolCallReply(protocol, [Call("search", arguments)], split=len(text)))  # type: ignore[arg-type]
    deltas = [e for e in result.events if isinstance(e, ToolCallDelta)]
    assert len(deltas) >= len(text)  # one character per delta
    assert calls_of(result)[0].arguments == text
    assert json.loads(calls_of(result)[0].arguments) == arguments


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("protocol", ["openai", "anthropic", "ollama"])
async def test_plain_text_reply_in_every_form(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                              protocol: str, stream: bool) -> None:
    reply = ToolCallReply(protocol, [], text="Just words.", stream=stream)  # type: ignore[arg-type]
    result = await run(provider_server, client, PROVIDER[protocol], reply)
    assert result.error is None and result.text == "Just words." and not calls_of(result)
    assert result.end == StreamEnd(FinishReason.STOP, reply.reason())


async def test_ollama_calls_without_ids_get_stable_distinct_ids(provider_server: FakeProviderServer,
                                                               client: httpx.AsyncClient) -> None:
    reply = ToolCallReply("ollama", PARALLEL, ids=False)
    first = calls_of(await run(provider_server, client, "ollama", reply))
    again = calls_of(await run(provider_server, client, "ollama", reply))
    ids = [c.id for c in first]
    assert len(set(ids)) == 3 and all(i.startswith("call_") and len(i) == 29 for i in ids)
    assert [c.id for c in again] == ids  # the same reply gives the same ids
    # Another reply (its own timestamp) never reuses them.
    other = calls_of(await run(provider_server, client, "ollama",
                               Replay(b'{"model":"m","created_at":"2026-12-01T10:00:01Z","message":{"role":"assistant",'
                                      b'"content":"","tool_calls":[{"function":{"name":"get_time","arguments":{}}}]},'
                                      b'"done":true,"done_reason":"stop"}\n', content_type="application/x-ndjson")))
    assert other[0].id not in ids


async def test_openai_gateway_without_ids_or_indexes(provider_server: FakeProviderServer,
                                                     client: httpx.AsyncClient) -> None:
    """Some OpenAI-compatible servers send each call whole, with no index (or no id)."""
    def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
        body = {"id": "gen-1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    body = (chunk({"tool_calls": [{"id": "a1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]})
            + chunk({"tool_calls": [{"id": "b2", "type": "function", "function": {"name": "g", "arguments": {"x": 1}}}]})
            + chunk({"tool_calls": [{"type": "function", "function": {"name": "h", "arguments": "{\"y\""}}]})
            + chunk({"tool_calls": [{"function": {"arguments": ":2}"}}]}, "tool_calls") + b"data: [DONE]\n\n")
    result = await run(provider_server, client, "openrouter", Replay(body))
    calls = calls_of(result)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("f", {}), ("g", {"x": 1}), ("h", {"y": 2})]
    assert calls[:2] == (ToolCall("a1", "f", "{}"), ToolCall("b2", "g", '{"x": 1}'))
    assert calls[2].id.startswith("call_")  # synthesised
    assert_well_formed(result)


# --- finish reasons ---------------------------------------------------------------------------


@pytest.mark.parametrize(("protocol", "raw", "calls", "normalised"), [
    ("openai", "stop", [], "stop"),
    ("openai", "length", [], "length"),
    ("openai", "content_filter", [], "content_filter"),
    ("openai", "tool_calls", PARALLEL[:1], "tool_calls"),
    ("openai", "stop", PARALLEL[:1], "tool_calls"),  # OpenAI says "stop" when tool_choice named the tool
    ("openai", "function_call", PARALLEL[:1], "tool_calls"),
    ("anthropic", "end_turn", [], "stop"),
    ("anthropic", "stop_sequence", [], "stop"),
    ("anthropic", "max_tokens", [], "length"),
    ("anthropic", "max_tokens", PARALLEL[:1], "length"),  # cut off mid-call: not a call to run
    ("anthropic", "tool_use", PARALLEL[:1], "tool_calls"),
    ("anthropic", "refusal", [], "content_filter"),
    ("anthropic", "model_context_window_exceeded", [], "length"),
    ("ollama", "stop", [], "stop"),
    ("ollama", "length", [], "length"),
    ("ollama", "stop", PARALLEL[:1], "tool_calls"),
    ("ollama", "load", [], "stop"),
])
async def test_finish_reason_mapping(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                     protocol: str, raw: str, calls: list[Call], normalised: str) -> None:
    result = await run(provider_server, client, protocol,
                       ToolCallReply(protocol, calls, text="Some text.", finish=raw))  # type: ignore[arg-type]
    assert result.error is None
    assert result.end == StreamEnd(FinishReason(normalised), raw)
    assert result.end.finish_reason == normalised  # a str enum: it compares (and serialises) as its value


async def test_a_stream_without_finish_reason_ends_as_stop(provider_server: FakeProviderServer,
                                                           client: httpx.AsyncClient) -> None:
    body = b'data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}\n\ndata: [DONE]\n\n'
    result = await run(provider_server, client, "vercel", Replay(body))
    assert result.end == StreamEnd(FinishReason.STOP, None)


# --- structured output by a forced tool (Anthropic) -------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
async def test_anthropic_json_by_forced_tool_reads_as_text(provider_server: FakeProviderServer,
                                                           client: httpx.AsyncClient, stream: bool) -> None:
    answer = {"city": "Paris", "temperature": 18}
    reply = ToolCallReply("anthropic", [Call("json_output", answer)], split=9, stream=stream)
    request = ChatRequest("claude-sonnet-4-6", REQUEST.messages, response_format=ResponseFormat("json_object"))
    result = await run(provider_server, client, "anthropic", reply, request)
    assert result.error is None
    assert json.loads(result.text) == answer
    assert not calls_of(result)
    assert result.end == StreamEnd(FinishReason.STOP, "tool_use")


async def test_a_mid_call_failure_counts_as_started(provider_server: FakeProviderServer,
                                                    client: httpx.AsyncClient) -> None:
    frames = ToolCallReply("anthropic", PARALLEL[:1])._anthropic_frames("m")
    body = b"".join(frames[:4])  # message_start, ping, the call's start, one fragment: then the line drops
    result = await run(provider_server, client, "anthropic", Replay(body, framing="close"))
    assert result.error is not None and result.error.kind == "truncated"
    assert result.error.started  # a tool call had begun: no silent fallback


# --- a whole round trip, moving between providers -------------------------------------------------


async def test_tool_round_trip_across_providers(provider_server: FakeProviderServer,
                                                client: httpx.AsyncClient) -> None:
    """Turn 1 on Ollama (calls without ids), the results sent to Anthropic in turn 2, the whole
    conversation to OpenAI in turn 3: every call and its result carry the same id throughout."""
    question = ChatMessage("user", "Weather in Paris and Zürich?")
    tools = (Tool("get_weather", "The weather now", {"type": "object", "properties": {"city": {"type": "string"}}}),)
    first = await run(provider_server, client, "ollama",
                      ToolCallReply("ollama", [PARALLEL[0], PARALLEL[2]], ids=False),
                      ChatRequest("qwen3", (question,), tools=tools))
    calls = calls_of(first)
    assert first.end is not None and first.end.finish_reason == "tool_calls"
    history = (question, ChatMessage("assistant", "", tool_calls=calls),
               ChatMessage("tool", "18°C", tool_call_id=calls[0].id),
               ChatMessage("tool", "9°C", tool_call_id=calls[1].id))

    second = await run(provider_server, client, "anthropic", ToolCallReply("anthropic", text="Paris is warmer."),
                       ChatRequest("claude-haiku-4-5", history, tools=tools))
    assert second.text == "Paris is warmer."
    sent = provider_server.last_request.json["messages"]
    uses = [b["id"] for b in sent[1]["content"] if b["type"] == "tool_use"]
    results = [b["tool_use_id"] for b in sent[2]["content"] if b["type"] == "tool_result"]
    assert uses == results == [c.id for c in calls]

    third = await run(provider_server, client, "openai", ToolCallReply("openai", text="Yes."),
                      ChatRequest("gpt-4o", (*history, ChatMessage("assistant", second.text),
                                             ChatMessage("user", "Sure?")), tools=tools))
    assert third.text == "Yes."
    sent = provider_server.last_request.json["messages"]
    assert [c["id"] for c in sent[1]["tool_calls"]] == [m["tool_call_id"] for m in sent[2:4]] == [c.id for c in calls]
