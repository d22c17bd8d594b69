"""The incremental SSE decoder, fed every way a network could cut the bytes."""

from __future__ import annotations

import json

import pytest

from mesoclaw_tui.providers.sse import ServerSentEvent, SSEDecoder
from tests.fakes.provider_server import RECORDINGS


def decode(*chunks: bytes, end: bool = False) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    return events + decoder.end() if end else events


def simple(events: list[ServerSentEvent]) -> list[tuple[str, str]]:
    return [(e.event, e.data) for e in events]


# One stream exercising every rule: all three line endings, comments, named events, multi-line
# data, a field without a colon, an id and a retry, an event without data (never dispatched).
MIXED = (
    b": keep-alive comment\r\n\r\n"
    b"data: one\n\n"
    b"event: named\r\ndata: two\r\n\r\n"
    b"data: three-a\rdata:three-b\r\rid: 7\n"
    b"data: {\"x\": 1}\r\n\r\n"
    b"event: only-a-name\n\n"
    b"data\n\n"
    b"retry: 1500\ndata: last\n\n"
)
MIXED_EXPECTED = [
    ("message", "one"),
    ("named", "two"),
    ("message", "three-a\nthree-b"),
    ("message", '{"x": 1}'),
    ("message", ""),
    ("message", "last"),
]


def test_mixed_line_endings_comments_and_fields() -> None:
    events = decode(MIXED)
    assert simple(events) == MIXED_EXPECTED
    assert [e.id for e in events] == ["", "", "", "7", "7", "7"]  # the last event ID persists
    assert events[-1].retry == 1500 and events[0].retry is None


def test_every_single_split_point_gives_the_same_events() -> None:
    for i in range(len(MIXED) + 1):
        assert simple(decode(MIXED[:i], MIXED[i:])) == MIXED_EXPECTED, i


def test_every_pair_of_split_points_gives_the_same_events() -> None:
    data = b"data: a\r\n\r\nevent: e\rdata: b\r\rdata: c\n\n"
    want = [("message", "a"), ("e", "b"), ("message", "c")]
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            assert simple(decode(data[:i], data[i:j], data[j:])) == want, (i, j)


def test_one_byte_at_a_time() -> None:
    assert simple(decode(*(MIXED[i : i + 1] for i in range(len(MIXED))))) == MIXED_EXPECTED


def test_crlf_split_between_chunks_is_one_line_ending() -> None:
    # Were the LF taken as a second line ending, the blank line would end the event early.
    assert simple(decode(b"data: a\r", b"\ndata: b\r\n\r\n")) == [("message", "a\nb")]
    assert simple(decode(b"data: a\r", b"", b"\n\r", b"\n")) == [("message", "a")]


def test_bare_cr_at_chunk_end_still_ends_the_line() -> None:
    assert simple(decode(b"data: a\r", b"\r")) == [("message", "a")]
    assert simple(decode(b"data: a\r\r", b"data: b\r\r")) == [("message", "a"), ("message", "b")]


def test_byte_order_mark_is_dropped_even_when_split() -> None:
    assert simple(decode(b"\xef\xbb\xbfdata: x\n\n")) == [("message", "x")]
    assert simple(decode(b"\xef", b"\xbb", b"\xbfdata: x\n\n")) == [("message", "x")]
    # Only at the very start: later it is part of the data.
    assert decode(b"data: x\n\ndata: \xef\xbb\xbfy\n\n")[1].data == "\ufeffy"


def test_only_one_space_after_the_colon_is_removed() -> None:
    assert simple(decode(b"data:  two spaces\n\n")) == [("message", " two spaces")]


def test_id_with_nul_is_ignored_and_unknown_fields_skipped() -> None:
    events = decode(b"id: 1\ndata: a\n\nid: 2\x00\nfoo: bar\ndata: b\n\n")
    assert [(e.id, e.data) for e in events] == [("1", "a"), ("1", "b")]


def test_invalid_retry_is_ignored() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: 10s\ndata: a\n\nretry: 250\ndata: b\n\n")
    assert decoder.retry == 250


def test_multibyte_utf8_split_across_chunks() -> None:
    data = "data: héllo – 世界\n\n".encode()
    for i in range(len(data) + 1):
        assert decode(data[:i], data[i:])[0].data == "héllo – 世界"


def test_incomplete_event_waits_for_its_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert simple(decoder.feed(b"\n")) == [("message", "a")]


def test_end_dispatches_an_event_missing_only_its_blank_line() -> None:
    assert simple(decode(b"data: [DONE]\n", end=True)) == [("message", "[DONE]")]
    assert simple(decode(b"data: [DONE]\r", end=True)) == [("message", "[DONE]")]


def test_end_drops_an_unterminated_line() -> None:
    assert decode(b'data: {"cut', end=True) == []
    assert simple(decode(b"data: a\n\ndata: {\"cut", end=True)) == [("message", "a")]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64, 10_000])
def test_gemini_crlf_recording(chunk: int) -> None:
    """Gemini's native alt=sse stream separates events with CRLF CRLF and has no terminator."""
    data = (RECORDINGS / "gemini_streamGenerateContent_alt_sse.sse").read_bytes()
    assert b"\r\n\r\n" in data
    events = decode(*(data[i : i + chunk] for i in range(0, len(data), chunk)))
    payloads = [json.loads(e.data) for e in events]
    assert len(payloads) == 3
    text = "".join(p["text"] for c in payloads for p in c["candidates"][0]["content"]["parts"])
    assert text == "The capital of France is Paris.\n"
    # usageMetadata is a running snapshot: the last one is the answer, not a sum.
    last = payloads[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert (last["usageMetadata"]["promptTokenCount"], last["usageMetadata"]["candidatesTokenCount"]) == (13, 8)


def test_openrouter_keepalive_comments_are_skipped() -> None:
    data = (RECORDINGS / "openrouter_chat_stream_midstream_error.sse").read_bytes()
    events = decode(data)
    assert all(not e.data.startswith(":") for e in events)
    assert events[-1].data == "[DONE]"
    assert len(events) == 5
