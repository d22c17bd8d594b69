"""What every protocol's stream parser shares: usage bookkeeping, tool-call ids, ending, failing."""

from __future__ import annotations

import os
from typing import Any

from ._fields import count, loads
from .base import (
    Endpoint,
    ErrorKind,
    FinishReason,
    ProviderError,
    StreamEnd,
    StreamEvent,
    ToolCallDelta,
    Usage,
)
from .errors import redact, stream_error
from .tool_calls import synthesize_tool_call_id

# Every provider's finish / stop / done reason, lower-cased. The protocols' words do not clash,
# so one table serves them all; a value not here counts as a natural stop (the raw value is kept).
_FINISH_REASONS = {
    "stop": FinishReason.STOP,
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
    "tool_use": FinishReason.TOOL_CALLS,
    "content_filter": FinishReason.CONTENT_FILTER,
    "refusal": FinishReason.CONTENT_FILTER,
    # Google's words, which its OpenAI-compatible endpoint has been seen to pass through.
    "safety": FinishReason.CONTENT_FILTER,
    "recitation": FinishReason.CONTENT_FILTER,
    "prohibited_content": FinishReason.CONTENT_FILTER,
    "blocklist": FinishReason.CONTENT_FILTER,
    "spii": FinishReason.CONTENT_FILTER,
}


def normalise_finish(raw: str | None, made_tool_calls: bool) -> FinishReason:
    """The provider's reason in common terms.

    A reply that made tool calls ends in TOOL_CALLS unless it was cut off or filtered, whatever
    the provider said (Ollama says "stop", OpenAI says "stop" when tool_choice named the tool);
    a "tool_calls" reason with no call in the reply (a tool call turned into the JSON answer,
    see anthropic_body) is a STOP.
    """
    reason = _FINISH_REASONS.get(raw.lower(), FinishReason.STOP) if raw else FinishReason.STOP
    if reason is FinishReason.STOP and made_tool_calls:
        return FinishReason.TOOL_CALLS
    if reason is FinishReason.TOOL_CALLS and not made_tool_calls:
        return FinishReason.STOP
    return reason


class StreamParser:
    """A response-body parser: pure and synchronous, fed raw bytes by ``_http.run_stream``.

    ``feed``/``end`` return the events a chunk completes. A failure is stored in ``error``
    rather than raised, so the events before it in the same chunk are still delivered.
    Usage values are totals: each new value replaces the old one, field by field.
    """

    __slots__ = ("endpoint", "started", "done", "error", "tool_calls", "reply_id", "_input", "_output")

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.started = False  # a TextDelta or ToolCallDelta has been produced
        self.done = False  # the protocol's terminator has been seen
        self.error: ProviderError | None = None
        self.tool_calls = 0  # tool calls started in this reply
        self.reply_id = ""  # the provider's id for the reply, to name calls it gives no id
        self._input: int | None = None
        self._output: int | None = None

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        raise NotImplementedError

    def end(self) -> list[StreamEvent]:
        """Called at EOF: delivers what is left and sets ``error`` if the terminator never came."""
        raise NotImplementedError

    def whole(self, body: Any) -> list[StreamEvent]:
        """The events of a complete, non-streamed reply body (a server that ignored ``stream``)."""
        raise NotImplementedError

    def whole_body(self, raw: bytes) -> list[StreamEvent]:
        """``whole`` for the raw bytes, or an error: the provider's own, or a body not understood."""
        out: list[StreamEvent] = []
        try:
            body = loads(raw)
            if isinstance(body, list) or body.get("error") or body.get("type") == "error":
                self.reported(out, body)
                return out
            return self.whole(body)
        except (ValueError, AttributeError, TypeError, KeyError):
            self.malformed(out, raw)
            return out

    def start_call(self, out: list[StreamEvent], call_id: Any, name: Any, arguments: str = "") -> int:
        """A new tool call: its first delta, with an id even if the provider gave none."""
        index = self.tool_calls
        self.tool_calls += 1
        if not isinstance(call_id, str) or not call_id:
            if not self.reply_id:
                self.reply_id = _nonce()
            call_id = synthesize_tool_call_id(self.endpoint.provider, self.reply_id, index)
        out.append(ToolCallDelta(index, call_id, name if isinstance(name, str) else "", arguments))
        self.started = True
        return index

    def take_usage(self, input_tokens: Any, output_tokens: Any) -> None:
        input_tokens, output_tokens = count(input_tokens), count(output_tokens)
        if input_tokens is not None:
            self._input = input_tokens
        if output_tokens is not None:
            self._output = output_tokens

    def _usage(self, out: list[StreamEvent]) -> None:
        # A request always has prompt tokens, and a reply with output has output tokens: a 0
        # there is a provider (or proxy) that did not count, so it is reported as unknown.
        input_tokens = self._input or None
        output_tokens = self._output if self._output or not self.started else None
        if input_tokens is not None or output_tokens is not None:
            out.append(Usage(input_tokens, output_tokens))

    def finish(self, out: list[StreamEvent], raw_reason: str | None) -> None:
        self._usage(out)
        out.append(StreamEnd(normalise_finish(raw_reason, self.tool_calls > 0), raw_reason))
        self.done = True

    def fail(self, out: list[StreamEvent], error: ProviderError) -> None:
        # Usage known so far is still worth recording (OpenRouter puts it on its error chunk).
        self._usage(out)
        self.error = error

    def reported(self, out: list[StreamEvent], payload: Any) -> None:
        """The provider sent an error inside the 200 stream (an error event, chunk or line)."""
        self.fail(out, stream_error(self.endpoint, payload, started=self.started))

    def truncated(self, out: list[StreamEvent], what: str) -> None:
        if not self.done and self.error is None:
            self.fail(out, self._error("truncated", f"the stream ended before {what}"))

    def malformed(self, out: list[StreamEvent], data: str | bytes) -> None:
        self.fail(out, self._error("stream_error", f"malformed event in the stream: {data[:200]!r}"))

    def _error(self, kind: ErrorKind, message: str) -> ProviderError:
        return ProviderError(kind, redact(message, self.endpoint.api_key), provider=self.endpoint.provider,
                             started=self.started)


def _nonce() -> str:
    # A reply with no id of its own still needs ids that no other reply shares.
    return os.urandom(12).hex()
