"""What every protocol's stream parser shares: usage bookkeeping, ending, failing."""

from __future__ import annotations

from typing import Any

from ._fields import count
from .base import Endpoint, ErrorKind, ProviderError, StreamEnd, StreamEvent, Usage
from .errors import redact, stream_error


class StreamParser:
    """A response-body parser: pure and synchronous, fed raw bytes by ``_http.run_stream``.

    ``feed``/``end`` return the events a chunk completes. A failure is stored in ``error``
    rather than raised, so the events before it in the same chunk are still delivered.
    Usage values are totals: each new value replaces the old one, field by field.
    """

    __slots__ = ("endpoint", "started", "done", "error", "_input", "_output")

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.started = False  # a TextDelta has been produced
        self.done = False  # the protocol's terminator has been seen
        self.error: ProviderError | None = None
        self._input: int | None = None
        self._output: int | None = None

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        raise NotImplementedError

    def end(self) -> list[StreamEvent]:
        """Called at EOF: delivers what is left and sets ``error`` if the terminator never came."""
        raise NotImplementedError

    def take_usage(self, input_tokens: Any, output_tokens: Any) -> None:
        input_tokens, output_tokens = count(input_tokens), count(output_tokens)
        if input_tokens is not None:
            self._input = input_tokens
        if output_tokens is not None:
            self._output = output_tokens

    def _usage(self, out: list[StreamEvent]) -> None:
        if self._input is not None or self._output is not None:
            out.append(Usage(self._input, self._output))

    def finish(self, out: list[StreamEvent], reason: str | None) -> None:
        self._usage(out)
        out.append(StreamEnd(reason))
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
