"""A hostile provider: behaviours for ``FakeProviderServer`` that attack whoever prints what a
provider sends, and a mode that makes every route of a server hostile.

Quick start::

    from tests.fakes import hostile
    from tests.fakes.provider_server import FakeProviderServer

    with FakeProviderServer() as server:
        hostile.hostile_mode(server)          # chat streams, errors and model lists, every protocol
        ...                                   # or script one route at a time:
        server.script(server.chat_path("openai"), hostile.error_response(500))
        server.default(server.models_path("openai"), hostile.model_list("openai"))

What it sends:

* ``HOSTILE_TEXT`` — a reply carrying an OSC 52 clipboard write, an OSC 0 window title, CSI 2J
  (clear), CSI cursor moves, a C1 CSI (U+009B), DCS/APC/PM/SOS strings, BEL, BS, CR, DEL and bidi
  override and isolate characters. ``hostile_stream(protocol)`` streams it with escape sequences
  split across deltas (ESC in one delta, the rest of its sequence in the next).
* ``SURROGATE_TEXT`` — a reply with lone surrogates (``"\\udc9b"`` in the JSON: valid JSON, not
  valid Unicode). ``surrogate_stream(protocol)``.
* ``error_response(status, protocol)`` — a 4xx/5xx whose error message carries the same sequences
  (JSON-escaped, as a provider would send them); ``raw_error_response`` sends them as raw bytes in a
  text/plain body (a proxy's page).
* ``model_list(style)`` — a model list mixing ``GOOD_IDS`` with ``BAD_IDS``: ids with ESC, C1 and
  bidi characters, whitespace, an empty id and one of 300 characters.
* ``Endless(protocol)`` — a reply that never ends (until the client leaves or ``max_bytes``).
* ``bad_usage_stream(protocol, usage)`` — a normal reply whose usage is negative, huge or a string.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .provider_server import (
    _NDJSON,
    _SSE,
    Behaviour,
    Exchange,
    FakeProviderServer,
    ModelList,
    Replay,
    Respond,
    Stream,
    _AnthropicFrames,
    _OllamaFrames,
    _OpenAIFrames,
)

ESC, BEL, ST = "\x1b", "\x07", "\x1b\\"
CLIPBOARD_PAYLOAD = "pwned-by-the-provider"
TITLE_PAYLOAD = "pwned-title"
OSC52_CLIPBOARD = f"{ESC}]52;c;{base64.b64encode(CLIPBOARD_PAYLOAD.encode()).decode()}{BEL}"
OSC0_TITLE = f"{ESC}]0;{TITLE_PAYLOAD}{BEL}"
OSC2_TITLE_ST = f"{ESC}]2;{TITLE_PAYLOAD}{ST}"
CSI_CLEAR = f"{ESC}[2J{ESC}[H"
CSI_CURSOR = f"{ESC}[3A{ESC}[10C{ESC}[1;31m"  # up 3, right 10, bold red
C1_CSI = "\x9b2J"  # U+009B is CSI on its own: clear the screen without an ESC
DCS = f"{ESC}P+q544e{ST}"  # request a termcap capability (the terminal answers on stdin)
APC, PM, SOS = f"{ESC}_apc{ST}", f"{ESC}^pm{ST}", f"{ESC}Xsos{ST}"
BIDI = "\u202eexe.txt\u202c and \u2066isolated\u2069"  # RLO reverses what follows: a disguise
OTHER_CONTROLS = "bell\x07 back\x08space over\rwrite del\x7f nul\x00"

SEQUENCES = (OSC52_CLIPBOARD, OSC0_TITLE, OSC2_TITLE_ST, CSI_CLEAR, CSI_CURSOR, C1_CSI, DCS, APC, PM, SOS, BIDI,
             OTHER_CONTROLS)
HOSTILE_TEXT = ("Here is your answer. " + " ".join(SEQUENCES) + " The end.\n")
HOSTILE_ERROR = f"model overloaded {OSC0_TITLE}{OSC52_CLIPBOARD}{CSI_CLEAR}{C1_CSI} try later {BIDI}"
SURROGATE_TEXT = "broken \udc9b bytes \ud800 here"

# Characters no terminal may receive from a provider (newline and tab are fine).
FORBIDDEN = frozenset(chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0),
                                       *range(0x202A, 0x202F), *range(0x2066, 0x206A)))

GOOD_IDS = ("gpt-4o-mini", "gpt-4o", "hostile-but-fine-1", "vendor/model:tag")
BAD_IDS = (f"evil{OSC0_TITLE}", f"{CSI_CLEAR}clear", "c1\x9bcsi", "bidi\u202egpt", "tab\tid", "space id", "",
           "x" * 300)


def forbidden_in(text: str) -> list[str]:
    """The characters of `text` that must never reach a terminal, as repr()s (empty: safe)."""
    return sorted({repr(c) for c in text if c in FORBIDDEN or 0xD800 <= ord(c) <= 0xDFFF})


def split_deltas(text: str) -> list[str]:
    """`text` cut so that every escape sequence is split: each ESC ends a delta."""
    pieces, current = [], ""
    for char in text:
        current += char
        if char in (ESC, "\x9b", " "):
            pieces.append(current)
            current = ""
    return [*pieces, current] if current else pieces


def hostile_stream(protocol: Literal["openai", "anthropic", "ollama"] = "openai", text: str = HOSTILE_TEXT,
                   **kwargs: Any) -> Stream:
    return Stream(protocol, split_deltas(text), **kwargs)


def surrogate_stream(protocol: Literal["openai", "anthropic", "ollama"] = "openai") -> Stream:
    return Stream(protocol, ["broken ", "\udc9b", " bytes ", "\ud800", " here"])


def _error_body(protocol: str, message: str) -> dict[str, Any]:
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": "overloaded_error", "message": message}}
    if protocol == "ollama":
        return {"error": message}
    return {"error": {"message": message, "type": "server_error", "param": None, "code": None}}


def error_response(status: int = 500, protocol: str = "openai", message: str = HOSTILE_ERROR) -> Respond:
    """A provider error whose message carries escape sequences (JSON-escaped, as JSON would send them)."""
    return Respond(status, _error_body(protocol, message))


def raw_error_response(status: int = 502, message: str = HOSTILE_ERROR) -> Respond:
    """An error page whose raw bytes hold the escape sequences (a proxy's text/plain answer)."""
    return Respond(status, message.encode("utf-8"), content_type="text/plain; charset=utf-8")


def model_list(style: Literal["openai", "anthropic", "gemini", "openrouter", "ollama"] = "openai",
               good: Sequence[str] = GOOD_IDS, bad: Sequence[str] = BAD_IDS) -> ModelList:
    return ModelList(style, [*good, *bad])


_FRAMES = {"openai": _OpenAIFrames, "anthropic": _AnthropicFrames, "ollama": _OllamaFrames}


@dataclass
class Endless(Behaviour):
    """A reply that never ends: deltas of `piece` until the client goes away, the server stops, or
    `max_bytes` of body have been sent (then the connection is cut without a terminator)."""

    protocol: Literal["openai", "anthropic", "ollama"] = "openai"
    piece: str = "endless " * 16
    batch: int = 64
    max_bytes: int | None = None
    sent: int = field(default=0, init=False)

    async def respond(self, ex: Exchange) -> bool:
        spec = Stream(self.protocol, [self.piece])
        body = ex.request.json if ex.request.body else {}
        model = (body.get("model") if isinstance(body, dict) else None) or "fake-model"
        frames = _FRAMES[self.protocol](spec, model, 0)
        ex.start(200, content_type=_NDJSON if self.protocol == "ollama" else _SSE, framing="chunked")
        await ex.send(b"".join(frames.prologue()))
        chunk = b"".join(frames.delta(i, self.piece) for i in range(self.batch))
        while not ex.server._stopping.is_set():
            if self.max_bytes is not None and self.sent >= self.max_bytes:
                return await ex.cut()
            await ex.send(chunk)  # a client that left raises ConnectionError: the server loop ends quietly
            self.sent += len(chunk)
            await asyncio.sleep(0)
        return False


def bad_usage_stream(protocol: Literal["openai", "anthropic", "ollama"] = "openai",
                     usage: Mapping[str, Any] | None = None, text: str = "A fine reply.") -> Replay:
    """A complete reply whose usage numbers are nonsense: `usage` maps "input"/"output" to any JSON
    value (default: negative input, a string output). Other keys are sent as they are."""
    usage = dict(usage or {"input": -5, "output": "lots"})
    given_in, given_out = usage.pop("input", None), usage.pop("output", None)

    def sse(obj: Any, event: str | None = None) -> bytes:
        head = f"event: {event}\n" if event else ""
        return f"{head}data: {json.dumps(obj)}\n\n".encode()

    if protocol == "anthropic":
        message = {"model": "fake", "id": "msg_bad", "type": "message", "role": "assistant", "content": [],
                   "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": given_in, **usage}}
        body = b"".join([
            sse({"type": "message_start", "message": message}, "message_start"),
            sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                "content_block_start"),
            sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
                "content_block_delta"),
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                 "usage": {"output_tokens": given_out}}, "message_delta"),
            sse({"type": "message_stop"}, "message_stop"),
        ])
        return Replay(body, content_type=_SSE)
    if protocol == "ollama":
        lines = [{"model": "fake", "message": {"role": "assistant", "content": text}, "done": False},
                 {"model": "fake", "message": {"role": "assistant", "content": ""}, "done": True,
                  "done_reason": "stop", "prompt_eval_count": given_in, "eval_count": given_out, **usage}]
        return Replay(b"".join(json.dumps(line).encode() + b"\n" for line in lines), chunks="lines",
                      content_type=_NDJSON)
    base = {"id": "chatcmpl-bad", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "fake"}
    body = b"".join([
        sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}]}),
        sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        sse({**base, "choices": [], "usage": {"prompt_tokens": given_in, "completion_tokens": given_out, **usage}}),
        b"data: [DONE]\n\n",
    ])
    return Replay(body, content_type=_SSE)


def hostile_mode(server: FakeProviderServer, *, text: str = HOSTILE_TEXT) -> FakeProviderServer:
    """Every chat route streams `text` (escape sequences split across deltas) and every model list
    mixes bad ids with good ones, in each provider's own format. Scripted behaviours still come first."""
    server.default("*/chat/completions", hostile_stream("openai", text))
    server.default("*/v1/messages", hostile_stream("anthropic", text))
    server.default("*/api/chat", hostile_stream("ollama", text))
    server.default("*/api/tags", model_list("ollama"))
    server.default("*/v1beta/models", model_list("gemini"))
    server.default("*/api/v1/models", model_list("openrouter"))
    server.default("*/models", model_list("openai"))
    return server
