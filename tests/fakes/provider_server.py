"""A real, scriptable HTTP/1.1 server that speaks the LLM providers' wire formats.

It listens on 127.0.0.1 (an ephemeral port), runs its own asyncio loop in a daemon thread,
and writes every byte itself (``asyncio.start_server``), so framing, chunk boundaries,
stalls and broken connections are real. One server serves async tests, sync tests and
subprocesses alike (e.g. ``mesoclaw ask`` pointed at it through environment variables).

Quick start::

    from tests.fakes.provider_server import FakeProviderServer, Respond, Stream, Replay

    with FakeProviderServer() as server:                 # or the ``provider_server`` fixture
        base = server.base_url("openai")                 # http://127.0.0.1:PORT/openai/v1
        server.script(server.chat_path("openai"),        # /openai/v1/chat/completions
                      Respond(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "2"}),
                      Stream("openai", "Hello there", usage=(12, 2)))
        ...                                              # 1st request gets the 429, 2nd the stream
        server.requests[-1].json["model"]                # every request is recorded

    env = server.env("openai", "anthropic", api_key="sk-test")   # for a subprocess:
    # {"OPENAI_BASE_URL": ".../openai/v1", "MESOCLAW_OPENAI_BASE_URL": ..., "OPENAI_API_KEY": "sk-test", ...}

Routing. Each provider has a path prefix on the one server, so a single server can stand in
for all of them at once: ``base_url(provider)`` gives ``/openai/v1``, ``/anthropic``,
``/google/v1beta/openai``, ``/groq/openai/v1``, ``/ollama``, ``/openrouter/api/v1``,
``/vercel/v1`` (several servers at once work too; each has its own port). A request is
answered by, in order:

1. the next behaviour queued with ``script(route, *behaviours)`` (one per request),
2. the route's standing behaviour set with ``default(route, behaviour)``,
3. the built-in defaults, chosen by path suffix, so an unscripted server already works:
   ``…/chat/completions`` → an OpenAI stream of ``server.reply``; ``…/v1/messages`` → an
   Anthropic stream; ``…/api/chat`` → an Ollama stream; ``…/api/tags``, ``…/v1beta/models``
   (Gemini native), ``…/api/v1/models`` (OpenRouter), ``…/v1/models`` with an
   ``anthropic-version`` header (Anthropic) and any other ``…/models`` (OpenAI) → a model
   list of ``server.models``; anything else → 404.

A route is an exact path (the query string is ignored), ``"*/suffix"`` (any path ending so),
or ``"*"`` (everything). Exact routes win over suffix routes, which win over ``"*"``.

Behaviours (all dataclasses; reusable across requests):

* ``Respond(status, body, headers=…)`` — a complete response; dict/list bodies become JSON.
  Errors: ``Respond(401, {...})``, ``Respond(429, ..., headers={"Retry-After": "2"})`` or an
  HTTP date (``email.utils.formatdate(time.time() + 30, usegmt=True)``), ``Respond(529, ...)``.
* ``Replay(source, chunks="events"|"lines"|"whole"|N, delay=0, framing="chunked"|"close"|"length",
  truncate_after=K, stall_after=K)`` — a recording (a file name in ``recordings/``, a path, or
  bytes) byte for byte, one HTTP chunk per event/line/N bytes, ``delay`` seconds apart.
* ``Stream(protocol, text_or_deltas, n=…, usage=(in, out), usage_style=…, rate=…,
  truncate_after=K, stall_after=K, error_after=K, error_style=…, framing=…)`` — a synthesized
  stream in ``"openai"``, ``"anthropic"`` or ``"ollama"`` wire format. ``n=50_000`` makes
  that many deltas of ``piece``; ``rate`` is deltas per second (None = as fast as possible).
  ``usage_style`` (OpenAI protocol): ``"openai"`` separate ``choices: []`` chunk, ``"groq"``
  on the finish chunk + ``x_groq.usage``, ``"openrouter"`` non-empty-choices usage chunk
  after a ``: OPENROUTER PROCESSING`` comment, ``"cumulative"`` (Google) usage repeated on
  every chunk as a running total with the last text and ``finish_reason`` in one chunk,
  ``"none"``. ``error_style`` (OpenAI protocol): ``"openai"`` error data chunk then end,
  ``"groq"`` ``event: error`` then EOF without ``[DONE]``, ``"openrouter"`` error chunk with
  usage, then ``[DONE]``. ``truncate_after=K`` closes the connection after K deltas with no
  terminator (mid-chunk for chunked framing); ``stall_after=K`` sends K deltas then goes
  silent. ``stream.expected_text`` is the text a client should assemble.
* ``ModelList(style, ids=None)`` — a model list in ``"openai"``, ``"anthropic"``,
  ``"gemini"``, ``"openrouter"`` or ``"ollama"`` shape (``ids`` defaults to ``server.models``).
* ``Hang()`` — read the request, never answer (for timeouts). ``Drop()`` — close the
  connection without answering. ``Delay(seconds, behaviour)`` — wait, then answer.
* ``Held(gate, behaviour)`` — read the request, wait at ``gate`` until the test releases it, then
  answer. ``Stream(..., gate=gate, hold_after=K)`` sends K deltas (flushed), then waits at the gate.

Gates put the client at a known point instead of guessing how long it takes to get there::

    gate = Gate()
    server.script(server.chat_path("openai"), Stream("openai", n=100, gate=gate, hold_after=2))
    ...                                  # start the client
    gate.wait()                          # (or ``await gate.wait_async()``) the 2 deltas are sent
    ...                                  # the client is mid-reply for as long as the test likes
    gate.release()                       # the stream goes on (stopping the server ends it too)

``gate.client_port`` is the client's end of the held connection (see tests/waiting.py, which can
tell when a process has read and acted on everything sent to it).

Inspection: ``server.requests`` (list of ``RecordedRequest``: ``method``, ``path``,
``query``, ``headers`` with lower-case names, ``body`` bytes, ``.json``), ``requests_to(path)``,
``last_request``, ``connections`` (TCP connections accepted), ``in_flight`` and ``max_in_flight``
(requests being answered at once); with ``watch_clients = True``, ``abandoned`` lists the paths of
requests whose client closed the connection before the answer ended (the answer then stops);
``reset()`` clears scripts, defaults and the record.

``refused_port()`` returns a loopback port where connections are refused.

A hostile provider (escape sequences in replies, errors and model ids; lone surrogates; endless
replies; nonsense usage) is built from these behaviours in ``tests/fakes/hostile.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

from mesoclaw_tui.core.provider_info import provider_info

RECORDINGS = Path(__file__).parent / "recordings"
DEFAULT_REPLY = "Hello from the fake provider."
DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "claude-haiku-4-5-20251001", "gemini-2.0-flash", "llama3.2:3b")

# Where each provider lives on the shared server: the base URL path its adapter is given.
PROVIDER_PREFIXES = {
    "openai": "/openai/v1",
    "anthropic": "/anthropic",
    "google": "/google/v1beta/openai",
    "groq": "/groq/openai/v1",
    "ollama": "/ollama",
    "openrouter": "/openrouter/api/v1",
    "vercel": "/vercel/v1",
}

Framing = Literal["chunked", "close", "length"]
_SSE = "text/event-stream; charset=utf-8"
_NDJSON = "application/x-ndjson"
_REASONS = {529: "Site Overloaded", 498: "Flex Tier Capacity Exceeded", 499: "Client Closed Request"}


def refused_port() -> int:
    """A loopback port nobody listens on (bound, then released), so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the record -------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


# --- writing one response ---------------------------------------------------------------------


class Exchange:
    """One request and the response being written to it."""

    def __init__(self, server: FakeProviderServer, writer: asyncio.StreamWriter, request: RecordedRequest):
        self.server = server
        self.request = request
        self._writer = writer
        self._framing: Framing = "length"

    def start(
        self,
        status: int,
        *,
        content_type: str | None,
        headers: Mapping[str, str] | None = None,
        framing: Framing = "chunked",
        length: int | None = None,
    ) -> None:
        self._framing = framing
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = _REASONS.get(status, "Unknown")
        lines = [f"HTTP/1.1 {status} {reason}", "server: fake-provider"]
        if content_type:
            lines.append(f"content-type: {content_type}")
        if framing == "chunked":
            lines.append("transfer-encoding: chunked")
        elif framing == "length":
            lines.append(f"content-length: {length or 0}")
        else:
            lines.append("connection: close")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def send(self, data: bytes) -> None:
        if not data:
            return
        if self._framing == "chunked":
            self._writer.write(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self._writer.write(data)
        await self._writer.drain()

    async def end(self) -> bool:
        """Finish the body properly; returns whether the connection can serve another request."""
        if self._framing == "chunked":
            self._writer.write(b"0\r\n\r\n")
        await self._writer.drain()
        return self._framing != "close"

    async def cut(self) -> bool:
        """Stop mid-body: flush what was sent, then close (no chunked terminator)."""
        await self._writer.drain()
        return False

    async def stall(self) -> bool:
        await self._writer.drain()
        await self.server._stopping.wait()
        return False


class Behaviour:
    async def respond(self, ex: Exchange) -> bool:
        """Answer one request; return whether the connection stays open for the next one."""
        raise NotImplementedError


@dataclass
class Respond(Behaviour):
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes as they are
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None

    async def respond(self, ex: Exchange) -> bool:
        if isinstance(self.body, bytes):
            payload, ctype = self.body, "application/octet-stream"
        elif isinstance(self.body, str):
            payload, ctype = self.body.encode(), "text/plain; charset=utf-8"
        elif self.body is None:
            payload, ctype = b"", None
        else:
            payload, ctype = json.dumps(self.body).encode(), "application/json"
        ex.start(self.status, content_type=self.content_type or ctype, headers=self.headers,
                 framing="length", length=len(payload))
        await ex.send(payload)
        return await ex.end()


@dataclass
class Hang(Behaviour):
    """Read the request and never answer."""

    async def respond(self, ex: Exchange) -> bool:
        return await ex.stall()


@dataclass
class Drop(Behaviour):
    """Close the connection without a word."""

    async def respond(self, ex: Exchange) -> bool:
        return False


class Gate:
    """A point where a response waits until the test releases it; says when a response got there.

    Thread-safe: the server's loop holds, the test (any thread or loop) waits and releases. Once
    released, it stays open: later responses pass it without waiting."""

    def __init__(self) -> None:
        self._reached = threading.Event()
        self._released = threading.Event()
        self.client_port: int | None = None  # the client's port of the connection that reached it
        self.server_port: int | None = None

    @property
    def reached(self) -> bool:
        return self._reached.is_set()

    def wait(self, timeout: float = 30.0) -> None:
        """Until a response is waiting here (the deltas before it are sent and flushed)."""
        if not self._reached.wait(timeout):
            raise AssertionError(f"no response reached the gate within {timeout:g} s")

    async def wait_async(self, timeout: float = 30.0) -> None:
        """wait(), without blocking the caller's event loop (the client under test may run on it)."""
        deadline = time.monotonic() + timeout
        while not self._reached.is_set():
            if time.monotonic() > deadline:
                raise AssertionError(f"no response reached the gate within {timeout:g} s")
            await asyncio.sleep(0.01)

    def release(self) -> None:
        self._released.set()

    async def hold(self, ex: Exchange) -> bool:
        """Wait here until released (True) or the server stops (False)."""
        peer = ex._writer.get_extra_info("peername")
        local = ex._writer.get_extra_info("sockname")
        self.client_port = peer[1] if peer else None
        self.server_port = local[1] if local else None
        self._reached.set()
        while not self._released.is_set():
            if ex.server._stopping.is_set():
                return False
            await asyncio.sleep(0.005)
        return True


@dataclass
class Held(Behaviour):
    """Read the request, wait at the gate until the test releases it, then answer."""

    gate: Gate
    then: Behaviour

    async def respond(self, ex: Exchange) -> bool:
        if not await self.gate.hold(ex):
            return False
        return await self.then.respond(ex)


@dataclass
class Delay(Behaviour):
    seconds: float
    then: Behaviour

    async def respond(self, ex: Exchange) -> bool:
        await asyncio.sleep(self.seconds)
        return await self.then.respond(ex)


async def _send_pieces(
    ex: Exchange,
    pieces: Iterable[bytes],
    *,
    delay: float = 0.0,
    truncate_after: int | None = None,
    stall_after: int | None = None,
) -> bool | None:
    """Send pieces one HTTP chunk each; returns a keep-alive verdict if it stopped early."""
    for i, piece in enumerate(pieces):
        if i == truncate_after:
            return await ex.cut()
        if i == stall_after:
            return await ex.stall()
        if delay and i:
            await asyncio.sleep(delay)
        await ex.send(piece)
    return None


@dataclass
class Replay(Behaviour):
    """A recorded body, byte for byte."""

    source: str | Path | bytes
    chunks: Literal["events", "lines", "whole"] | int = "events"
    delay: float = 0.0  # seconds between chunks
    framing: Framing = "chunked"
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None  # None: from the file's suffix, else SSE; "": none sent
    truncate_after: int | None = None  # close after this many chunks
    stall_after: int | None = None  # go silent after this many chunks

    def data(self) -> bytes:
        if isinstance(self.source, bytes):
            return self.source
        path = Path(self.source)
        return (path if path.is_absolute() else RECORDINGS / path).read_bytes()

    def pieces(self) -> list[bytes]:
        data = self.data()
        if self.chunks == "whole":
            return [data]
        if self.chunks == "events":  # cut after each blank line, whatever the line endings
            return [p for p in re.split(rb"(?<=\r\n\r\n)|(?<=\n\n)|(?<=\r\r)", data) if p]
        if self.chunks == "lines":
            return data.splitlines(keepends=True)
        return [data[i : i + self.chunks] for i in range(0, len(data), self.chunks)]

    async def respond(self, ex: Exchange) -> bool:
        pieces = self.pieces()
        ctype = self.content_type
        if ctype is None and not isinstance(self.source, bytes):
            suffix = Path(self.source).suffix
            ctype = {".sse": _SSE, ".json": "application/json", ".ndjson": _NDJSON}.get(suffix)
        # None: guessed from the file name (SSE by default); "": no content-type header at all.
        ex.start(self.status, content_type=_SSE if ctype is None else (ctype or None), headers=self.headers,
                 framing=self.framing,
                 length=sum(map(len, pieces)))
        stopped = await _send_pieces(ex, pieces, delay=self.delay, truncate_after=self.truncate_after,
                                     stall_after=self.stall_after)
        return stopped if stopped is not None else await ex.end()


# --- synthesized streams ----------------------------------------------------------------------


def _sse(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(obj, separators=(',', ':'))}\n\n".encode()


class _Template:
    """A frame whose only varying part is one JSON string: formatting it is one f-string, not a
    json.dumps of the whole object, so the server can outpace the client it is benchmarking."""

    def __init__(self, frame: bytes) -> None:
        before, after = frame.decode().split('"\\u0000"')
        self.before, self.after = before, after

    def __call__(self, text: str) -> bytes:
        return f"{self.before}{json.dumps(text)}{self.after}".encode()


@dataclass
class Stream(Behaviour):
    """A synthesized streaming reply in one protocol's wire format."""

    protocol: Literal["openai", "anthropic", "ollama"]
    text: str | Sequence[str] = DEFAULT_REPLY  # a string is cut into word-sized deltas
    n: int | None = None  # instead of ``text``: n deltas of ``piece``
    piece: str = "tok "
    usage: tuple[int | None, int | None] | None = (12, None)  # (input, output); output None = delta count
    usage_style: Literal["openai", "groq", "openrouter", "cumulative", "none"] = "openai"
    finish: str | None = None  # the finish/stop reason; None = the protocol's usual one
    rate: float | None = None  # deltas per second; None = as fast as possible
    first_delay: float = 0.0  # seconds before the first delta
    batch: int = 64  # deltas per write when not rate-limited
    framing: Framing = "chunked"
    line_ending: str = "\n"  # "\r\n" to send CRLF-framed SSE
    truncate_after: int | None = None  # close the connection after this many deltas
    stall_after: int | None = None  # go silent after this many deltas
    error_after: int | None = None  # send an in-stream error after this many deltas
    error_style: Literal["openai", "groq", "openrouter"] = "openai"
    error_message: str = "the model crashed"
    model: str | None = None  # default: the request's model
    gate: Gate | None = None  # wait at this gate after ``hold_after`` deltas (see Gate)
    hold_after: int = 0

    @property
    def deltas(self) -> Sequence[str]:
        if self.n is not None:
            return [self.piece] * self.n
        if isinstance(self.text, str):
            return re.findall(r"\s*\S+\s*$|\s*\S+", self.text) or [self.text]
        return self.text

    @property
    def expected_text(self) -> str:
        return "".join(self.deltas)

    def _usage(self, count: int) -> tuple[int | None, int | None]:
        if self.usage is None:
            return None, None
        return self.usage[0], count if self.usage[1] is None else self.usage[1]

    async def respond(self, ex: Exchange) -> bool:
        body = ex.request.json if ex.request.body else {}
        model = self.model or (body.get("model") if isinstance(body, dict) else None) or "fake-model"
        make = {"openai": _OpenAIFrames, "anthropic": _AnthropicFrames, "ollama": _OllamaFrames}[self.protocol]
        deltas = self.deltas
        frames = make(self, model, len(deltas))
        crlf = self.line_ending != "\n" and self.protocol != "ollama"

        def fix(data: bytes) -> bytes:  # JSON never holds a raw newline, so this only touches framing
            return data.replace(b"\n", self.line_ending.encode()) if crlf else data

        ex.start(200, content_type=_NDJSON if self.protocol == "ollama" else _SSE, framing=self.framing,
                 length=None)
        await ex.send(fix(b"".join(frames.prologue())))
        if self.first_delay:
            await asyncio.sleep(self.first_delay)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        buf: list[bytes] = []
        stops = [k for k in (self.truncate_after, self.stall_after, self.error_after) if k is not None]
        stop_at = min(stops) if stops else None
        for i, text in enumerate(itertools.chain(deltas, [None])):
            if self.gate is not None and i == self.hold_after:
                await ex.send(fix(b"".join(buf)))
                buf = []
                if not await self.gate.hold(ex):
                    return await ex.cut()
            if i == stop_at or text is None:
                await ex.send(fix(b"".join(buf)))
                buf = []
                if i == self.truncate_after:
                    return await ex.cut()
                if i == self.stall_after:
                    return await ex.stall()
                if i == self.error_after:
                    await ex.send(fix(b"".join(frames.error(i))))
                    return await ex.end()
                break
            buf.append(frames.delta(i, text))
            if self.rate:
                target = t0 + (i + 1) / self.rate
                delay = target - loop.time()
                if delay > 0:
                    await ex.send(fix(b"".join(buf)))
                    buf = []
                    await asyncio.sleep(delay)
            elif len(buf) >= self.batch:
                await ex.send(fix(b"".join(buf)))
                buf = []
        await ex.send(fix(b"".join(frames.epilogue())))
        return await ex.end()


class _OpenAIFrames:
    def __init__(self, spec: Stream, model: str, count: int) -> None:
        self.spec, self.count = spec, count
        self.base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000,
                     "model": model}
        self.template = _Template(self._chunk({"content": "\0"}))
        self.cumulative = spec.usage_style == "cumulative"

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return _sse({**self.base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    def _usage(self, done: int) -> dict[str, Any]:
        prompt, completion = self.spec._usage(done)
        usage: dict[str, Any] = {}
        if prompt is not None:
            usage["prompt_tokens"] = prompt
        if completion is not None:
            usage["completion_tokens"] = completion
        if prompt is not None and completion is not None:
            usage["total_tokens"] = prompt + completion
        return usage

    def prologue(self) -> list[bytes]:
        first = self._chunk({"role": "assistant", "content": ""})
        return [b": OPENROUTER PROCESSING\n\n", first] if self.spec.usage_style == "openrouter" else [first]

    def delta(self, i: int, text: str) -> bytes:
        if self.cumulative:  # Google: a running total on every chunk; the last one also finishes
            last = i == self.count - 1
            return self._chunk({"content": text}, (self.spec.finish or "stop") if last else None,
                               usage=self._usage(i + 1))
        return self.template(text)

    def epilogue(self) -> list[bytes]:
        finish = self.spec.finish or "stop"
        style = self.spec.usage_style
        usage = self._usage(self.count)
        if style == "cumulative":
            frames = [] if self.count else [self._chunk({}, finish, usage=usage)]
        elif style == "groq":
            frames = [self._chunk({}, finish, usage=usage, x_groq={"id": "req_fake", "usage": usage})]
        elif style == "openrouter":
            frames = [self._chunk({"role": "assistant", "content": ""}, finish),
                      self._chunk({"role": "assistant", "content": ""}, None, usage=usage)]
        elif style == "openai":
            frames = [self._chunk({}, finish), _sse({**self.base, "choices": [], "usage": usage})]
        else:
            frames = [self._chunk({}, finish)]
        return [*frames, b"data: [DONE]\n\n"]

    def error(self, done: int) -> list[bytes]:
        message = self.spec.error_message
        style = self.spec.error_style
        if style == "groq":
            return [_sse({"error": {"message": message, "type": "invalid_request_error",
                                    "code": "tool_use_failed", "status_code": 400}}, event="error")]
        if style == "openrouter":
            return [_sse({**self.base, "error": {"code": 502, "message": message},
                          "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                       "finish_reason": "error"}], "usage": self._usage(done)}),
                    b"data: [DONE]\n\n"]
        return [_sse({"error": {"message": message, "type": "server_error", "param": None, "code": None}})]


class _AnthropicFrames:
    def __init__(self, spec: Stream, model: str, count: int) -> None:
        self.spec, self.model, self.count = spec, model, count
        self.template = _Template(_sse({"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": "\0"}}, "content_block_delta"))

    def prologue(self) -> list[bytes]:
        prompt, _ = self.spec._usage(0)
        usage = {"output_tokens": 1} if prompt is None else {"input_tokens": prompt, "output_tokens": 1}
        message = {"model": self.model, "id": "msg_fake", "type": "message", "role": "assistant",
                   "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
        return [
            _sse({"type": "message_start", "message": message}, "message_start"),
            _sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                 "content_block_start"),
            _sse({"type": "ping"}, "ping"),
        ]

    def delta(self, i: int, text: str) -> bytes:
        return self.template(text)

    def epilogue(self) -> list[bytes]:
        _, completion = self.spec._usage(self.count)
        usage = {} if completion is None else {"output_tokens": completion}
        return [
            _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            _sse({"type": "message_delta", "delta": {"stop_reason": self.spec.finish or "end_turn",
                                                     "stop_sequence": None}, "usage": usage}, "message_delta"),
            _sse({"type": "message_stop"}, "message_stop"),
        ]

    def error(self, done: int) -> list[bytes]:
        return [_sse({"type": "error", "error": {"type": "overloaded_error", "message": self.spec.error_message}},
                     "error")]


class _OllamaFrames:
    def __init__(self, spec: Stream, model: str, count: int) -> None:
        self.spec, self.model, self.count = spec, model, count
        self.template = _Template(self._line({"model": model, "created_at": "2025-01-01T00:00:00Z",
                                              "message": {"role": "assistant", "content": "\0"}, "done": False}))

    def _line(self, obj: dict[str, Any]) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode() + b"\n"

    def prologue(self) -> list[bytes]:
        return []

    def delta(self, i: int, text: str) -> bytes:
        return self.template(text)

    def epilogue(self) -> list[bytes]:
        prompt, completion = self.spec._usage(self.count)
        final: dict[str, Any] = {"model": self.model, "created_at": "2025-01-01T00:00:01Z",
                                 "message": {"role": "assistant", "content": ""}, "done": True,
                                 "done_reason": self.spec.finish or "stop", "total_duration": 1000}
        if prompt is not None:  # Ollama omits the count when the prompt came from its cache
            final["prompt_eval_count"] = prompt
        if completion is not None:
            final["eval_count"] = completion
        return [self._line(final)]

    def error(self, done: int) -> list[bytes]:
        return [self._line({"error": self.spec.error_message})]


# --- model lists ------------------------------------------------------------------------------


def model_list_body(style: str, ids: Sequence[str]) -> Any:
    """A plausible model-list body in one provider's shape."""
    if style == "anthropic":
        data = [{"type": "model", "id": i, "display_name": i, "created_at": "2025-01-01T00:00:00Z",
                 "max_input_tokens": 200_000, "max_tokens": 64_000} for i in ids]
        return {"data": data, "has_more": False, "first_id": ids[0] if ids else None,
                "last_id": ids[-1] if ids else None}
    if style == "gemini":
        return {"models": [{"name": f"models/{i}", "displayName": i, "inputTokenLimit": 1_048_576,
                            "outputTokenLimit": 8192,
                            "supportedGenerationMethods": ["generateContent", "countTokens"]} for i in ids]}
    if style == "openrouter":
        return {"data": [{"id": i, "name": i, "context_length": 128_000,
                          "pricing": {"prompt": "0.0000025", "completion": "0.00001"},
                          "top_provider": {"context_length": 128_000, "max_completion_tokens": 16_384}}
                         for i in ids]}
    if style == "ollama":
        return {"models": [{"name": i, "model": i, "modified_at": "2025-01-01T00:00:00Z", "size": 2_000_000_000,
                            "digest": "0" * 64, "details": {"format": "gguf", "family": "llama",
                                                            "parameter_size": "3B",
                                                            "quantization_level": "Q4_K_M"}} for i in ids]}
    return {"object": "list", "data": [{"id": i, "object": "model", "created": 1_700_000_000,
                                        "owned_by": "fake"} for i in ids]}


@dataclass
class ModelList(Behaviour):
    style: Literal["openai", "anthropic", "gemini", "openrouter", "ollama"] = "openai"
    ids: Sequence[str] | None = None

    async def respond(self, ex: Exchange) -> bool:
        ids = list(self.ids if self.ids is not None else ex.server.models)
        return await Respond(200, model_list_body(self.style, ids)).respond(ex)


# --- the server -------------------------------------------------------------------------------


class FakeProviderServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, reply: str = DEFAULT_REPLY,
                 models: Sequence[str] = DEFAULT_MODELS) -> None:
        self.host = host
        self.port = port
        self.reply = reply  # the text the built-in chat defaults stream
        self.models = list(models)  # the ids the built-in model lists return
        self.requests: list[RecordedRequest] = []
        self.connections = 0  # TCP connections accepted, to check that clients reuse them
        self.in_flight = 0  # requests being answered now
        self.max_in_flight = 0  # the most answered at once since the last reset()
        self.watch_clients = False  # True: notice a client that closes its connection mid-answer
        self.abandoned: list[str] = []  # paths of requests whose client left before the answer ended
        self._queues: dict[str, deque[Behaviour]] = {}
        self._defaults: dict[str, Behaviour] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stopping: asyncio.Event
        self._tasks: set[asyncio.Task[None]] = set()

    # lifecycle

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> FakeProviderServer:
        self._thread = threading.Thread(target=self._run, name="fake-provider-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake provider server did not start")
        if self._startup_error is not None:
            raise self._startup_error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced to start() rather than lost in the thread
            self._startup_error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._handle, self.host, self.port, limit=1 << 22)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        server.close()
        # Idle keep-alive connections would otherwise keep wait_closed() waiting (Python 3.12+).
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    # addresses

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_url(self, provider: str) -> str:
        """The base URL to give ``provider``'s adapter (the convention of core.provider_info)."""
        return self.url + PROVIDER_PREFIXES[provider]

    def chat_path(self, provider: str) -> str:
        prefix = PROVIDER_PREFIXES[provider]
        protocol = provider_info(provider).protocol
        return prefix + {"openai": "/chat/completions", "anthropic": "/v1/messages", "ollama": "/api/chat"}[protocol]

    def models_path(self, provider: str) -> str:
        if provider == "google":  # listed through the native API, beside the OpenAI-compatible one
            return PROVIDER_PREFIXES[provider].removesuffix("/openai") + "/models"
        prefix = PROVIDER_PREFIXES[provider]
        protocol = provider_info(provider).protocol
        return prefix + {"openai": "/models", "anthropic": "/v1/models", "ollama": "/api/tags"}[protocol]

    def env(self, *providers: str, api_key: str = "test-key") -> dict[str, str]:
        """Environment variables pointing ``providers`` at this server, for a subprocess."""
        env: dict[str, str] = {}
        for provider in providers:
            info = provider_info(provider)
            base = self.base_url(provider)
            env[info.mesoclaw_base_url_env] = base
            for var in info.base_url_envs:
                env[var] = base
            if info.needs_key and info.key_envs:
                env[info.key_envs[0]] = api_key
        return env

    # scripting

    def script(self, route: str, *behaviours: Behaviour) -> None:
        """Queue behaviours for ``route``: each answers one request, in order."""
        with self._lock:
            self._queues.setdefault(route, deque()).extend(behaviours)

    def default(self, route: str, behaviour: Behaviour) -> None:
        """Answer every request to ``route`` this way once its queue is empty."""
        with self._lock:
            self._defaults[route] = behaviour

    def reset(self) -> None:
        with self._lock:
            self._queues.clear()
            self._defaults.clear()
            self.requests.clear()
            self.connections = 0
            self.max_in_flight = 0
            self.abandoned.clear()

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    @property
    def last_request(self) -> RecordedRequest:
        return self.requests[-1]

    def _routes_for(self, path: str) -> Iterator[str]:
        yield path
        with self._lock:
            suffixes = [r for r in itertools.chain(self._queues, self._defaults) if r.startswith("*/")]
        for route in sorted(set(suffixes), key=len, reverse=True):
            if path.endswith(route[1:]):
                yield route
        yield "*"

    def _pick(self, request: RecordedRequest) -> Behaviour:
        routes = list(self._routes_for(request.path))
        with self._lock:
            for route in routes:
                queue = self._queues.get(route)
                if queue:
                    return queue.popleft()
            for route in routes:
                if route in self._defaults:
                    return self._defaults[route]
        return self._builtin(request)

    def _builtin(self, request: RecordedRequest) -> Behaviour:
        path = request.path
        if request.method == "POST":
            if path.endswith("/chat/completions"):
                return Stream("openai", self.reply)
            if path.endswith("/v1/messages"):
                return Stream("anthropic", self.reply)
            if path.endswith("/api/chat"):
                return Stream("ollama", self.reply)
        elif request.method == "GET":
            if path.endswith("/api/tags"):
                return ModelList("ollama")
            if path.endswith("/v1beta/models"):
                return ModelList("gemini")
            if path.endswith("/api/v1/models"):
                return ModelList("openrouter")
            if path.endswith("/models"):
                return ModelList("anthropic" if "anthropic-version" in request.headers else "openai")
        return Respond(404, {"error": {"message": f"no fake route for {request.method} {path}",
                                       "type": "not_found_error"}})

    # the connection loop

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        answering: list[RecordedRequest] = []  # the request being answered, while it is
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                answering.append(request)
                keep_alive = await self._answer(answering, reader, writer, task)
                answering.clear()
                if not keep_alive or request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self._left(answering)  # the client went away
        except asyncio.CancelledError:
            # The server is stopping (a stalled stream, say), or the watcher saw the client leave:
            # end quietly, asyncio would log it.
            pass
        except Exception:  # a broken script or request: say so, or the test only sees a dropped connection
            traceback.print_exc()
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


    async def _answer(self, answering: list[RecordedRequest], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter, task: asyncio.Task[None]) -> bool:
        request = answering[-1]
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        watcher = asyncio.create_task(self._watch(reader, answering, task)) if self.watch_clients else None
        try:
            return await self._pick(request).respond(Exchange(self, writer, request))
        finally:
            self.in_flight -= 1
            if watcher is not None:
                watcher.cancel()

    async def _watch(self, reader: asyncio.StreamReader, answering: list[RecordedRequest],
                     task: asyncio.Task[None]) -> None:
        """The client closing its end while it is being answered (seen without reading: a pipelined next
        request stays in the buffer)."""
        while not reader.at_eof():
            await asyncio.sleep(0.01)
        self._left(answering)
        task.cancel()

    def _left(self, answering: list[RecordedRequest]) -> None:
        if answering:
            self.abandoned.append(answering.pop().path)


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed an idle keep-alive connection
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")  # the (empty) trailer section
        body = b"".join(parts)
    else:
        body = b""
    path, _, query = target.partition("?")
    return RecordedRequest(method, path, dict(parse_qsl(query, keep_blank_values=True)), headers, body)
