"""Bad bytes and odd answers at the provider edge: lone surrogates, an HTML page where a stream
should be, usage that is missing or zero, a whole JSON reply to a streaming request."""

from __future__ import annotations

import httpx
import pytest

from mesoclaw_tui.providers import (
    ChatMessage,
    ChatRequest,
    FinishReason,
    StreamEnd,
    ToolCallAccumulator,
    Usage,
)
from mesoclaw_tui.providers.tool_calls import arguments_object
from tests.fakes.provider_server import FakeProviderServer, Replay, Respond, Stream
from tests.fakes.streams import run

BAD_GATEWAY = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
               "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


# --- lone surrogates ----------------------------------------------------------------------------

LONE = rb"bad \udc9b byte, good \ud83d\ude00 pair"  # JSON escapes as a provider sends them
FIXED = "bad \ufffd byte, good \U0001f600 pair"

SURROGATE_STREAMS = [
    ("openai", b'data: {"choices":[{"index":0,"delta":{"content":"' + LONE + b'"},"finish_reason":null}]}\n\n'
               b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'),
    ("anthropic", b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":'
                  b'{"type":"text_delta","text":"' + LONE + b'"}}\n\n'
                  b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
                  b'"usage":{"output_tokens":5}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n'),
    ("ollama", b'{"message":{"role":"assistant","content":"' + LONE + b'"},"done":false}\n'
               b'{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}\n'),
]


@pytest.mark.parametrize(("provider", "body"), SURROGATE_STREAMS, ids=[p for p, _ in SURROGATE_STREAMS])
async def test_lone_surrogates_become_replacement_characters(provider_server: FakeProviderServer,
                                                             client: httpx.AsyncClient, provider: str,
                                                             body: bytes) -> None:
    result = await run(provider_server, client, provider, Replay(body, chunks=5))
    assert result.error is None
    assert result.text == FIXED
    result.text.encode("utf-8")  # printable, storable, sendable: no UnicodeEncodeError downstream


async def test_lone_surrogates_in_tool_calls_and_errors(provider_server: FakeProviderServer,
                                                        client: httpx.AsyncClient) -> None:
    body = (b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function",'
            b'"function":{"name":"f\\udc9b","arguments":"{\\"q\\":\\"\\\\udc9b\\"}"}}]}}]}\n\n'
            b'data: {"error":{"message":"upstream said \\udc9b","type":"server_error"}}\n\n')
    result = await run(provider_server, client, "openai", Replay(body))
    acc = ToolCallAccumulator()
    acc.feed(result.events)
    (call,) = acc.calls
    assert call.name == "f\ufffd"
    assert call.arguments == '{"q":"\\udc9b"}'  # JSON text, kept exactly as sent (it is plain ASCII)
    assert arguments_object(call.arguments) == {"q": "\ufffd"}  # and read leniently when translated
    assert result.error is not None and result.error.message == "upstream said \ufffd"
    str(result.error).encode("utf-8")


async def test_lone_surrogate_in_an_error_body(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    body = b'{"error":{"message":"no \\udc9b here","type":"invalid_request_error"}}'
    result = await run(provider_server, client, "openai", Respond(400, body, content_type="application/json"))
    assert result.error is not None and result.error.message == "no \ufffd here"


async def test_lone_surrogate_in_the_request_is_sent_as_a_replacement(provider_server: FakeProviderServer,
                                                                      client: httpx.AsyncClient) -> None:
    # A client of `mesoclaw serve` may send one (valid JSON); it must not fail the request.
    request = ChatRequest("m", (ChatMessage("user", "a \udc9b b"),))
    result = await run(provider_server, client, "openai", Stream("openai", "ok"), request)
    assert result.error is None and result.text == "ok"
    assert provider_server.last_request.json["messages"] == [{"role": "user", "content": "a \ufffd b"}]


# --- an HTML page where a stream should be ------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
async def test_html_200_page_is_named_not_called_truncated(provider_server: FakeProviderServer,
                                                           client: httpx.AsyncClient, provider: str) -> None:
    result = await run(provider_server, client, provider,
                       Respond(200, BAD_GATEWAY, content_type="text/html"))
    assert result.error is not None
    assert result.error.kind == "server" and result.error.status == 200 and not result.error.started
    assert str(result.error.message) == "not an event stream (text/html): 502 Bad Gateway"
    assert result.events == []


async def test_unlabelled_html_page_is_recognised(provider_server: FakeProviderServer,
                                                  client: httpx.AsyncClient) -> None:
    page = b"\n<!DOCTYPE html>\n<html><body>\n<p>Service Unavailable: the upstream is down</p></body></html>"
    result = await run(provider_server, client, "openai", Replay(page, chunks=4, content_type=""))
    assert result.error is not None and result.error.kind == "server"
    assert result.error.message == "not an event stream (no content type): Service Unavailable: the upstream is down"


async def test_html_error_status_page_gives_its_title(provider_server: FakeProviderServer,
                                                      client: httpx.AsyncClient) -> None:
    result = await run(provider_server, client, "anthropic", Respond(502, BAD_GATEWAY, content_type="text/html"))
    assert result.error is not None and result.error.kind == "server" and result.error.status == 502
    assert result.error.message == "502 Bad Gateway"


# --- usage: unknown is not zero -------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["openai", "anthropic", "ollama"])
async def test_zero_usage_with_a_reply_is_unknown(provider_server: FakeProviderServer, client: httpx.AsyncClient,
                                                  protocol: str) -> None:
    result = await run(provider_server, client, protocol, Stream(protocol, "four words of text", usage=(0, 0)))  # type: ignore[arg-type]
    assert result.error is None and result.text == "four words of text"
    assert result.usage is None  # nothing known: the engine estimates and marks it


@pytest.mark.parametrize("protocol", ["openai", "anthropic", "ollama"])
async def test_missing_output_count_is_unknown_but_input_is_kept(provider_server: FakeProviderServer,
                                                                 client: httpx.AsyncClient, protocol: str) -> None:
    result = await run(provider_server, client, protocol, Stream(protocol, "some text", usage=(31, 0)))  # type: ignore[arg-type]
    assert result.usage == Usage(31, None)


async def test_an_empty_reply_may_really_have_zero_output(provider_server: FakeProviderServer,
                                                          client: httpx.AsyncClient) -> None:
    result = await run(provider_server, client, "openai", Stream("openai", [], usage=(12, 0)))
    assert result.error is None and result.text == ""
    assert result.usage == Usage(12, 0)


# --- a whole JSON body to a streaming request --------------------------------------------------------


async def test_json_error_with_status_200(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    result = await run(provider_server, client, "anthropic",
                       Respond(200, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    assert result.error is not None and result.error.kind == "stream_error"
    assert result.error.message == "Overloaded" and not result.error.started


async def test_json_body_that_is_no_reply(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    result = await run(provider_server, client, "openai", Respond(200, "[1, 2", content_type="application/json"))
    assert result.error is not None and result.error.kind == "stream_error"
    assert "malformed" in result.error.message


async def test_whole_openai_completion_is_read(provider_server: FakeProviderServer, client: httpx.AsyncClient) -> None:
    completion = {"id": "chatcmpl-1", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Whole."}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2}}
    result = await run(provider_server, client, "groq", Respond(200, completion))
    assert result.error is None and result.text == "Whole."
    assert result.usage == Usage(9, 2)
    assert result.end == StreamEnd(FinishReason.LENGTH, "length")
