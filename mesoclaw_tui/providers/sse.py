"""An incremental Server-Sent Events decoder (WHATWG HTML, "Interpreting an event stream").

Feed it the bytes of a response in whatever chunks the network delivers; it returns the
events each chunk completes. Lines may end in CR, LF or CRLF (Gemini uses CRLF), and a CRLF
may be split across two chunks. Comment lines (``:`` …) are skipped, multi-line ``data:`` is
joined with ``\\n``, ``id:`` and ``retry:`` are tracked, and a leading UTF-8 BOM is dropped.

Work happens per line, never per byte: each chunk is cut at its last line ending and the
complete part is split with ``bytes.splitlines`` (which splits on exactly CR, LF and CRLF).
"""

from __future__ import annotations

from dataclasses import dataclass

_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str = ""  # the last event ID in effect when this event was dispatched
    retry: int | None = None  # a reconnection time (ms) sent inside this event, if any


class SSEDecoder:
    __slots__ = ("_partial", "_skip_lf", "_bom_pending", "_data", "_event", "_retry",
                 "last_event_id", "retry")

    def __init__(self) -> None:
        self._partial: list[bytes] = []  # the start of a line whose ending has not arrived yet
        self._skip_lf = False  # the last chunk ended in CR, so a leading LF is that CRLF's second half
        self._bom_pending: bytes | None = b""  # None once the stream's first 3 bytes have been seen
        self._data: list[bytes] = []
        self._event = ""
        self._retry: int | None = None
        self.last_event_id = ""
        self.retry: int | None = None  # the latest reconnection time the server asked for

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        if self._bom_pending is not None:
            chunk = self._bom_pending + chunk
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._bom_pending = chunk
                return []
            self._bom_pending = None
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        if not chunk:
            return []
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if cut < 0:
            self._partial.append(chunk)
            return []
        tail = b""
        if cut == len(chunk) - 1:
            self._skip_lf = chunk[cut] == 13
        else:
            # A CR here cannot be half of a CRLF: rfind would have found the LF after it.
            chunk, tail = chunk[: cut + 1], chunk[cut + 1 :]
        if self._partial:
            self._partial.append(chunk)
            chunk = b"".join(self._partial)
            self._partial = []
        if tail:
            self._partial.append(tail)
        return self._lines(chunk.splitlines())

    def end(self) -> list[ServerSentEvent]:
        """Call at end of stream.

        Deliberately lenient where the standard discards: an event whose lines all arrived but
        whose closing blank line did not (``data: [DONE]\\n`` then EOF) is still dispatched. An
        unterminated last line is dropped, as it may be cut short.
        """
        events = self._lines([b""])
        self._partial = []
        self._skip_lf = False
        return events

    def _lines(self, lines: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        data = self._data
        for line in lines:
            # Ordered by frequency: almost every line is "data: …" or the blank line after it.
            if line.startswith(b"data: "):
                data.append(line[6:])
            elif not line:
                if data:
                    raw = data[0] if len(data) == 1 else b"\n".join(data)
                    events.append(ServerSentEvent(
                        raw.decode("utf-8", "replace"), self._event or "message",
                        self.last_event_id, self._retry,
                    ))
                    data.clear()
                self._event = ""
                self._retry = None
            elif line[0] == 58:  # ":" starts a comment (OpenRouter's keep-alives)
                continue
            else:
                name, _, value = line.partition(b":")
                if value.startswith(b" "):
                    value = value[1:]
                if name == b"data":
                    data.append(value)
                elif name == b"event":
                    self._event = value.decode("utf-8", "replace")
                elif name == b"id":
                    if b"\0" not in value:
                        self.last_event_id = value.decode("utf-8", "replace")
                elif name == b"retry":
                    if value.isdigit():
                        self.retry = self._retry = int(value)
        return events
