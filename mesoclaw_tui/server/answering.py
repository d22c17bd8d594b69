"""From the engine's events to an HTTP answer, the same for both routes (/v1/chat/completions and
/v1/messages); what differs between them is only the wire format, which each route hands in.

The events are read up to the first token (or the end) before anything is sent, so the status and
the `x-mesoclaw-*` headers are true (`open_answer`); then either the rest is streamed as SSE
(`relay` inside an `EventStream`) or collected into one reply (`final_reply`). However it ends, the
events are closed here, and with them the engine's upstream request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import StreamingResponse

from ..core.types import MesoclawError, MesoclawFailure
from ..engine import Delta, FellBack, Finished, Routed, ToolDelta, Trying
from .api_error import ApiError


class Opening:
    """The events before the first token: what was routed, and which candidate is answering."""

    __slots__ = ("first", "trying", "fallbacks", "task", "profile")

    def __init__(self) -> None:
        self.first: Any = None  # the first Delta or ToolDelta, or Finished when no token came
        self.trying: Any = None
        self.fallbacks = 0  # candidates given up on (a retry of the same one is not a fallback)
        self.task: Any = None
        self.profile: Any = None

    @classmethod
    async def read(cls, events: AsyncIterator[Any]) -> Opening:
        opening = cls()
        while opening.first is None:
            event = await events.__anext__()
            kind = type(event)
            if kind is Delta or kind is ToolDelta or kind is Finished:
                opening.first = event
            elif kind is Trying:
                opening.trying = event.target
            elif kind is FellBack:
                opening.fallbacks += 1
            elif kind is Routed:
                opening.task, opening.profile = event.task, event.profile
        return opening


async def open_answer(engine: Any, turn: Any) -> tuple[AsyncIterator[Any], Opening]:
    """The engine's events for `turn`, read up to the first token. A turn the engine refuses is a 400,
    one nothing can answer a 503 (each an ApiError the route writes in its own format)."""
    events = engine.stream(turn)
    try:
        return events, await Opening.read(events)
    except BaseException as exc:
        await events.aclose()
        if isinstance(exc, MesoclawError):
            raise ApiError(400, str(exc)) from None
        if isinstance(exc, MesoclawFailure):
            raise ApiError(503, str(exc), code="unavailable") from None
        raise


async def final_reply(events: AsyncIterator[Any]) -> Any:
    """Not streaming: the rest of the events, then the Reply they finished with."""
    reply = None
    try:
        async for event in events:
            if type(event) is Finished:
                reply = event.reply
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    assert reply is not None
    return reply


async def relay(events: AsyncIterator[Any], opening: Callable[[], bytes], text: Callable[[str], bytes],
                tool: Callable[[Any], bytes], closing: Callable[[Any], bytes]) -> AsyncIterator[bytes]:
    """A streamed reply in a route's wire format: `opening()` for the first token (read by
    open_answer), `text` for each text delta, `tool` for each tool-call delta, and `closing` for the
    finished Reply (its end, or the error it broke off with)."""
    try:
        yield opening()
        async for event in events:
            kind = type(event)
            if kind is Delta:
                yield text(event.text)
            elif kind is ToolDelta:
                yield tool(event)
            elif kind is Finished:
                yield closing(event.reply)
    finally:
        await events.aclose()  # type: ignore[attr-defined]


class EventStream(StreamingResponse):
    """An SSE response whose body follows the engine. When the client goes away the Guard cancels the
    request (and with it the upstream request, which the engine records as cancelled), so unlike
    Starlette's StreamingResponse under uvicorn (ASGI 2.3) nothing here watches for the disconnect with
    an anyio task group per response: this is the hot path."""

    def __init__(self, body: AsyncIterator[bytes], headers: dict[str, str]):
        super().__init__(body, media_type="text/event-stream", headers={**headers, "cache-control": "no-cache"})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            # Closed here, not by the garbage collector, so the engine's own cleanup runs now.
            await self.body_iterator.aclose()  # type: ignore[attr-defined]
