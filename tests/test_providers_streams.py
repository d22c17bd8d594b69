"""Streaming replies over real sockets: recorded provider streams replayed byte for byte,
synthesized streams, mid-stream errors and truncation."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from mesoclaw_tui.providers import (
    FinishReason,
    StreamEnd,
    TextDelta,
    Usage,
    stream_chat,
)
from tests.fakes.provider_server import FakeProviderServer, Replay, Stream
from tests.fakes.streams import REQUEST, Collected, collect, endpoint, run


def assert_well_formed(result: Collected) -> None:
    """Text first, then at most one Usage, then exactly one StreamEnd, last."""
    kinds = [type(e) for e in result.events]
    assert kinds.count(StreamEnd) == 1 and kinds[-1] is StreamEnd
    assert kinds.count(Usage) <= 1
    if Usage in kinds:
        assert kinds.index(Usage) == len(kinds) - 2


# The finish reason as normalised, then as the provider sent it.
RECORDED_OK = [
    ("openai_chat_stream_text_then_usage.sse", "openai", "The capital of the UK is London.", (78, 9), ("stop", "stop")),
    ("openai_chat_stream_text_usage_llm.sse", "openai",
     "The result of \\( 1231 \\times 2331 \\) is \\( 2,869,461 \\).", (87, 26), ("stop", "stop")),
    ("openai_chat_stream_toolcall_then_usage.sse", "openai", "", (53, 15), ("tool_calls", "tool_calls")),
    ("groq_stream_text_final_x_groq_usage.sse", "groq", "", (304, 49), ("tool_calls", "tool_calls")),
    ("openrouter_chat_stream_text_usage.sse", "openrouter", "Pebbles and Skipper.", (17, 6), ("stop", "stop")),
    ("anthropic_messages_stream_text.sse", "anthropic", "Hello", (10, 4), ("stop", "end_turn")),
    ("anthropic_messages_stream_tool_use.sse", "anthropic", "", (543, 40), ("tool_calls", "tool_use")),
]


@pytest.mark.parametrize(("chunks", "framing"), [("events", "chunked"), (3, "chunked"), ("whole", "close")])
@pytest.mark.parametrize(("recording", "provider", "text", "usage", "finish"), RECORDED_OK)
async def test_recorded_stream(
    provider_server: FakeProviderServer, client: httpx.AsyncClient, recording: str, provider: str,
    text: str, usage: tuple[int, int], finish: tuple[str, str], chunks: str | int, framing: str,
) -> None:
    result = await run(provider_server, client, provider, Replay(recording, chunks=chunks, framing=framing))  # type: ignore[arg-type]
    assert result.error is None
    assert result.text == text
    assert result.usage == Usage(*usage)
    assert result.end == StreamEnd(FinishReason(finish[0]), finish[1])
    assert_well_formed(result)


async def test_groq_midstream_error_event_without_done(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    result = await run(provider_server, client, "groq", Replay("groq_stream_midstream_error_event.sse"))
    assert result.error is not None
    assert result.error.kind == "stream_error"
    assert result.error.message.startswith("Tool call validation failed")
    assert result.error.provider == "groq"
    assert result.error.started is False  # only reasoning had streamed, no text
    assert result.end is None


async def test_openrouter_midstream_error_keeps_its_usage(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    result = await run(provider_server, client, "openrouter", Replay("openrouter_chat_stream_midstream_error.sse"))
    assert result.error is not None and result.error.kind == "stream_error"
    assert result.error.message == "Token limit reached"
    assert result.usage == Usage(43, 10)  # the error chunk carries the bill
    assert result.end is None


@pytest.mark.parametrize("style", ["openai", "groq", "openrouter", "none"])
async def test_synthesized_openai_usage_styles(
    provider_server: FakeProviderServer, client: httpx.AsyncClient, style: str
) -> None:
    stream = Stream("openai", "one two three", usage=(20, 3), usage_style=style)  # type: ignore[arg-type]
    result = await run(provider_server, client, "openai", stream)
    assert result.error is None and result.text == "one two three"
    assert result.usage == (None if style == "none" else Usage(20, 3))
    assert_well_formed(result)


async def test_google_cumulative_usage_is_not_summed(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    """Google's OpenAI-compatible endpoint repeats a running usage total on every chunk and
    puts the last text and finish_reason in one chunk."""
    stream = Stream("openai", "The capital of France is Paris.", usage=(15, None), usage_style="cumulative")
    result = await run(provider_server, client, "google", stream)
    assert result.error is None
    assert result.text == "The capital of France is Paris."
    assert result.usage == Usage(15, 6)
    assert result.end == StreamEnd(FinishReason.STOP, "stop")
    assert provider_server.last_request.path == "/google/v1beta/openai/chat/completions"


async def test_crlf_framed_openai_stream(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    stream = Stream("openai", "split across lines", line_ending="\r\n", batch=1)
    result = await run(provider_server, client, "openai", stream)
    assert result.error is None and result.text == "split across lines"


@pytest.mark.parametrize("provider", ["anthropic", "ollama", "openai"])
async def test_many_deltas(provider_server: FakeProviderServer, client: httpx.AsyncClient, provider: str) -> None:
    stream = Stream(provider, n=5000, piece="ab")  # type: ignore[arg-type]
    result = await run(provider_server, client, provider, stream)
    assert result.error is None
    assert result.text == "ab" * 5000
    assert sum(isinstance(e, TextDelta) for e in result.events) == 5000
    assert result.usage == Usage(12, 5000)


async def test_anthropic_output_tokens_are_the_last_running_total(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    # message_start says output_tokens 1; message_delta says 40: the result is 40, not 41.
    result = await run(provider_server, client, "anthropic", Stream("anthropic", "hi there", usage=(7, 40)))
    assert result.usage == Usage(7, 40)
    assert result.end == StreamEnd(FinishReason.STOP, "end_turn")


async def test_ollama_stream(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    result = await run(provider_server, client, "ollama", Stream("ollama", "why is the sky blue", usage=(26, 5)))
    assert result.error is None and result.text == "why is the sky blue"
    assert result.usage == Usage(26, 5)
    assert result.end == StreamEnd(FinishReason.STOP, "stop")
    assert_well_formed(result)


async def test_ollama_missing_prompt_eval_count_is_unknown_not_zero(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    result = await run(provider_server, client, "ollama", Stream("ollama", "cached", usage=(None, 1)))
    assert result.usage == Usage(None, 1)


async def test_ollama_without_any_counts_yields_no_usage(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    result = await run(provider_server, client, "ollama", Stream("ollama", "x", usage=None))
    assert result.usage is None and result.end == StreamEnd(FinishReason.STOP, "stop")


async def test_ollama_recorded_lines_one_byte_at_a_time(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    body = (
        b'{"model":"deepseek-v4-pro","created_at":"2026-05-10T06:37:54.867Z",'
        b'"message":{"role":"assistant","content":"4"},"done":false}\n'
        b'{"model":"deepseek-v4-pro","created_at":"2026-05-10T06:37:54.885Z",'
        b'"message":{"role":"assistant","content":""},"done":false}\n'
        b'{"model":"deepseek-v4-pro","created_at":"2026-05-10T06:37:55.096Z",'
        b'"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",'
        b'"total_duration":615230395,"prompt_eval_count":17,"eval_count":2}\n'
    )
    result = await run(provider_server, client, "ollama",
                       Replay(body, chunks=1, content_type="application/x-ndjson"))
    assert result.error is None and result.text == "4"
    assert result.usage == Usage(17, 2)


async def test_ollama_midstream_error_line(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    body = (  # the example in Ollama's docs/api/errors.mdx, then a chat-style line first
        b'{"model":"gemma4","created_at":"2025-10-26T17:21:21.19Z","message":{"role":"assistant",'
        b'"content":" Yes"},"done":false}\n'
        b'{"model":"gemma4","created_at":"2025-10-26T17:21:21.207235Z","response":".","done":false}\n'
        b'{"error":"an error was encountered while running the model"}\n'
    )
    result = await run(provider_server, client, "ollama", Replay(body, chunks="lines"))
    assert result.text == " Yes"
    assert result.error is not None and result.error.kind == "stream_error"
    assert result.error.message == "an error was encountered while running the model"
    assert result.error.started is True


@pytest.mark.parametrize(("provider", "style"), [
    ("openai", "openai"), ("groq", "groq"), ("openrouter", "openrouter"), ("anthropic", None), ("ollama", None),
])
async def test_synthesized_midstream_errors(
    provider_server: FakeProviderServer, client: httpx.AsyncClient, provider: str, style: str | None
) -> None:
    protocol = {"anthropic": "anthropic", "ollama": "ollama"}.get(provider, "openai")
    stream = Stream(protocol, "a b c d e", error_after=2, error_style=style or "openai",  # type: ignore[arg-type]
                    error_message="boom: upstream died")
    result = await run(provider_server, client, provider, stream)
    assert result.text == "a b"
    assert result.error is not None
    assert result.error.kind == "stream_error"
    assert "boom: upstream died" in result.error.message
    assert result.error.started is True
    assert result.end is None


@pytest.mark.parametrize("framing", ["chunked", "close"])
@pytest.mark.parametrize("protocol", ["openai", "anthropic", "ollama"])
async def test_truncated_after_text(
    provider_server: FakeProviderServer, client: httpx.AsyncClient, protocol: str, framing: str
) -> None:
    """Chunked: the body breaks mid-message (an httpx protocol error); close framing: a clean
    EOF, but before the protocol's terminator. Both are a truncated reply."""
    stream = Stream(protocol, "a b c d e", truncate_after=3, framing=framing)  # type: ignore[arg-type]
    provider = {"openai": "openai", "anthropic": "anthropic", "ollama": "ollama"}[protocol]
    result = await run(provider_server, client, provider, stream)
    assert result.text == "a b c"
    assert result.error is not None and result.error.kind == "truncated"
    assert result.error.started is True
    assert result.end is None


async def test_truncated_before_any_text(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    result = await run(provider_server, client, "openai", Stream("openai", "a b", truncate_after=0, framing="close"))
    assert result.error is not None and result.error.kind == "truncated"
    assert result.error.started is False


@pytest.mark.parametrize("framing", ["chunked", "close"])
async def test_eof_after_finish_reason_but_before_done_is_truncated(
    provider_server: FakeProviderServer, client: httpx.AsyncClient, framing: str
) -> None:
    # 12 events: 10 content/finish chunks, the usage chunk, [DONE]; stop before the last.
    replay = Replay("openai_chat_stream_text_then_usage.sse", truncate_after=11, framing=framing)  # type: ignore[arg-type]
    result = await run(provider_server, client, "openai", replay)
    assert result.text == "The capital of the UK is London."
    assert result.error is not None and result.error.kind == "truncated"
    assert result.error.started is True
    assert result.usage == Usage(78, 9)  # what was known is still reported
    if framing == "close":  # a clean EOF: the parser says how far the reply got
        assert result.error.message == "the stream ended before [DONE] (finish_reason was 'stop')"


async def test_anthropic_eof_before_message_stop(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    replay = Replay("anthropic_messages_stream_text.sse", truncate_after=6, framing="close")
    result = await run(provider_server, client, "anthropic", replay)
    assert result.text == "Hello"
    assert result.error is not None and result.error.kind == "truncated" and result.error.started
    assert result.usage == Usage(10, 4)


async def test_done_without_trailing_blank_line_is_accepted(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    body = b'data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n'
    result = await run(provider_server, client, "openai", Replay(body, framing="close"))
    assert result.error is None and result.text == "ok" and result.end == StreamEnd(FinishReason.STOP, "stop")


async def test_malformed_json_is_a_stream_error(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    result = await run(provider_server, client, "openai", Replay(b"data: {not json\n\n"))
    assert result.error is not None and result.error.kind == "stream_error"


async def test_connection_is_reused_after_a_complete_stream(
    provider_server: FakeProviderServer, client: httpx.AsyncClient
) -> None:
    for _ in range(3):
        result = await collect(client, endpoint(provider_server, "openai"), REQUEST)
        assert result.error is None
    for _ in range(2):
        result = await collect(client, endpoint(provider_server, "anthropic"), REQUEST)
        assert result.error is None
    assert len(provider_server.requests) == 5
    assert provider_server.connections == 1


async def test_stopping_early_releases_the_stream(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", n=100, rate=200))
    async with asyncio.timeout(2):
        async with contextlib.aclosing(stream_chat(client, endpoint(provider_server, "openai"), REQUEST)) as events:
            async for event in events:
                assert isinstance(event, TextDelta)
                break
        # The pool is still usable: the next request is answered at once.
        result = await collect(client, endpoint(provider_server, "openai"), REQUEST)
    assert result.error is None


async def test_rate_limited_stream_paces_deltas(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    result = await run(provider_server, client, "openai", Stream("openai", n=20, piece="x", rate=100))
    assert result.text == "x" * 20
    assert loop.time() - t0 >= 0.15
