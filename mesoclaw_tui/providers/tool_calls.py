"""Tool calls across providers: assembling streamed deltas, and keeping call ids valid and stable.

Id rule (the same for every provider, so a conversation can move between them):

* An id made only of ``A-Z a-z 0-9 _ -`` and at most 40 characters long is sent exactly as it
  is. Every provider accepts that form (OpenAI caps ids at 40 characters; Anthropic requires
  ``^[a-zA-Z0-9_-]+$``), and OpenAI's ``call_…``, Anthropic's ``toolu_…`` and Ollama's
  ``call_…`` ids all have it, so in practice ids pass through untouched.
* Any other id (too long, or with ``.``, ``:``, spaces… as some gateways' models produce) is
  sent as ``call_`` + the first 24 hex digits of the SHA-256 of its UTF-8 bytes. The mapping is
  a pure function of the id, applied both to the assistant's tool call and to the ``role:
  tool`` result that names it, in every request, so the pair always matches, on any provider,
  in any later turn. The caller keeps (stores, shows, returns) the original id.
* A provider that gives no id (older Ollama; a gateway that drops them) gets one synthesised
  by the parser: ``call_`` + 24 hex digits of the SHA-256 of the reply's own identity (its
  response id or timestamp, the model) and the call's index, so replaying the same bytes gives
  the same id and two replies never share one. It is then an ordinary id, kept by the caller.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from ._fields import loads
from .base import StreamEvent, ToolCall, ToolCallDelta

_PORTABLE_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


def wire_tool_call_id(call_id: str) -> str:
    """The id to put on the wire for ``call_id`` (see the module's rule)."""
    if _PORTABLE_ID.fullmatch(call_id):
        return call_id
    return "call_" + hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def synthesize_tool_call_id(*identity: object) -> str:
    """A stable id for a call the provider left without one: ``identity`` names the reply and
    the call's index within it."""
    seed = "\x1f".join(str(part) for part in identity)
    return "call_" + hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def arguments_object(arguments: str) -> dict[str, Any]:
    """A call's JSON arguments as the object Anthropic's ``tool_use.input`` and Ollama's
    ``arguments`` need. "" means no arguments; text that is not a JSON object is kept whole
    under ``"arguments"`` rather than lost."""
    if not arguments.strip():
        return {}
    try:
        value = loads(arguments)
    except ValueError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"arguments": value}


class ToolCallAccumulator:
    """Turns a reply's ToolCallDelta events into complete ToolCalls.

        calls = ToolCallAccumulator()
        async for event in events:
            if type(event) is ToolCallDelta:
                calls.add(event)
        calls.calls   # (ToolCall(id, name, arguments), …) in index order

    Arguments are concatenated as they came; a call that got none has "{}" (what OpenAI sends
    for a call without parameters), so every call's arguments are JSON text.
    """

    __slots__ = ("_ids", "_names", "_arguments")

    def __init__(self) -> None:
        self._ids: dict[int, str] = {}
        self._names: dict[int, str] = {}
        self._arguments: dict[int, list[str]] = {}

    def add(self, delta: ToolCallDelta) -> None:
        index = delta.index
        if delta.id:
            self._ids.setdefault(index, delta.id)
        if delta.name:
            self._names.setdefault(index, delta.name)
        self._arguments.setdefault(index, []).append(delta.arguments)

    def feed(self, events: Iterable[StreamEvent]) -> None:
        for event in events:
            if type(event) is ToolCallDelta:
                self.add(event)

    def __bool__(self) -> bool:
        return bool(self._arguments)

    def __len__(self) -> int:
        return len(self._arguments)

    @property
    def calls(self) -> tuple[ToolCall, ...]:
        out = []
        for index in sorted(self._arguments):
            arguments = "".join(self._arguments[index])
            call_id = self._ids.get(index) or synthesize_tool_call_id("unnamed", index)
            out.append(ToolCall(call_id, self._names.get(index, ""), arguments if arguments.strip() else "{}"))
        return tuple(out)
