"""The provider layer's vocabulary: requests, endpoints, stream events and the one error type.

A request is built from ChatMessages. Plain text content stays a ``str`` (the fast path every
text-only caller uses); richer content is a tuple of parts (TextPart, ImagePart). An assistant
turn may carry ToolCalls, and each tool's answer is a ``role="tool"`` message naming the call's
id. The stream yields TextDelta and ToolCallDelta events, then at most one Usage, then one
StreamEnd whose ``finish_reason`` is normalised (FinishReason) beside the provider's raw value.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeAlias, get_args


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given by URL (``https://…``) or inline as base64 with its media type.

    Build one from whatever a client sent with ``ImagePart.from_url``: a ``data:`` URL is split
    into ``media_type`` and ``data``, so every adapter can send the form its provider takes.
    """

    url: str | None = None
    data: str | None = None  # base64, without the "data:…;base64," prefix
    media_type: str | None = None  # "image/png", "image/jpeg", …; required with ``data``
    detail: str | None = None  # OpenAI's "low" | "high" | "auto"; other providers ignore it

    def __post_init__(self) -> None:
        if (self.url is None) == (self.data is None):
            raise ValueError("an image needs exactly one of url or data")
        if self.data is not None and not self.media_type:
            raise ValueError("inline image data needs its media type")

    @classmethod
    def from_url(cls, url: str, detail: str | None = None) -> ImagePart:
        """``https://…`` stays a URL; ``data:image/png;base64,…`` becomes inline data."""
        if url[:5].lower() != "data:":
            return cls(url=url, detail=detail)
        header, sep, payload = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding.lower() != "base64" or not media_type:
            raise ValueError("a data: URL image must be base64 with a media type (data:image/png;base64,…)")
        return cls(data=payload, media_type=media_type.lower(), detail=detail)

    @classmethod
    def from_bytes(cls, raw: bytes, media_type: str) -> ImagePart:
        return cls(data=binascii.b2a_base64(raw, newline=False).decode("ascii"), media_type=media_type)

    def as_url(self) -> str:
        """The image as one URL: the https URL itself, or a ``data:`` URL of the inline bytes."""
        return self.url if self.url is not None else f"data:{self.media_type};base64,{self.data}"


ContentPart: TypeAlias = TextPart | ImagePart
Content: TypeAlias = str | tuple[ContentPart, ...]


def content_text(content: Content) -> str:
    """The text of a message's content; images are left out."""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content if isinstance(part, TextPart))


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call of an assistant turn. ``arguments`` is JSON text ("{}" for none)."""

    id: str
    name: str
    arguments: str = "{}"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn. ``role`` is "system", "user", "assistant" or "tool".

    assistant: ``content`` (may be "") and any ``tool_calls`` it made.
    tool: the result of the call ``tool_call_id``; ``is_error`` says the tool failed.
    """

    role: str
    content: Content = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    is_error: bool = False

    @property
    def text(self) -> str:
        return content_text(self.content)


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call. ``parameters`` is a JSON Schema for its arguments object
    (None: it takes none); ``strict`` asks providers that can to enforce it exactly."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @property
    def schema(self) -> dict[str, Any]:
        return self.parameters if self.parameters is not None else {"type": "object", "properties": {}}


ToolChoiceMode: TypeAlias = Literal["auto", "none", "required", "tool"]


@dataclass(frozen=True, slots=True)
class ToolChoice:
    """auto: the model decides; none: no tool calls; required: at least one call, of any tool;
    tool: a call of the tool ``name``."""

    mode: ToolChoiceMode = "auto"
    name: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in get_args(ToolChoiceMode):
            raise ValueError(f"unknown tool choice {self.mode!r}")
        if (self.mode == "tool") != bool(self.name):
            raise ValueError("a named tool choice needs the tool's name, and only it takes one")

    @classmethod
    def tool(cls, name: str) -> ToolChoice:
        return cls("tool", name)


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """text (the default), json_object (any JSON object) or json_schema (JSON that follows
    ``schema``; ``name`` and ``strict`` as OpenAI defines them)."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ("text", "json_object", "json_schema"):
            raise ValueError(f"unknown response format {self.type!r}")
        if self.type == "json_schema" and not isinstance(self.schema, dict):
            raise ValueError("a json_schema response format needs its schema")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None  # None: the provider's default (auto when tools are given)
    parallel_tool_calls: bool | None = None  # None: the provider's default (allowed)
    response_format: ResponseFormat | None = None


def mask_key(key: str | None) -> str:
    """A key as it may appear on screen or in a log: its last 4 characters at most."""
    if not key:
        return "none"
    # A short key would be mostly revealed by its last 4 characters.
    return f"…{key[-4:]}" if len(key) >= 12 else "****"


@dataclass(frozen=True, slots=True)
class Endpoint:
    provider: str  # a provider id from core.provider_info
    base_url: str
    api_key: str | None = field(repr=False)
    extra_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        # Header values may hold credentials too (Authorization, cookies), so only names are shown.
        names = ", ".join(name for name, _ in self.extra_headers)
        return (
            f"Endpoint(provider={self.provider!r}, base_url={self.base_url!r}, "
            f"api_key={mask_key(self.api_key)!r}, extra_headers=[{names}])"
        )


# Stream events. Plain mutable dataclasses with slots: one is built per delta, so they stay cheap.
@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of one tool call. ``index`` is the call's position among this reply's tool calls
    (0, 1, …, whatever the provider numbers its content blocks). The call's first delta carries
    its ``id`` and ``name``; later ones carry None there and a fragment of the JSON ``arguments``
    (concatenate them in order; "" is allowed). ToolCallAccumulator assembles complete calls."""

    index: int
    id: str | None
    name: str | None
    arguments: str = ""


@dataclass(slots=True)
class Usage:
    """The latest known token totals of the whole request; None means the provider did not say,
    or said 0 where 0 cannot be true (no prompt tokens; no output tokens for a reply that has
    output), so the engine should estimate and mark the figure as estimated."""

    input_tokens: int | None
    output_tokens: int | None


class FinishReason(StrEnum):
    """Why the reply ended, the same for every provider (the raw value is kept beside it)."""

    STOP = "stop"  # a natural end or a stop sequence
    LENGTH = "length"  # max_tokens (or the context window) cut it off
    TOOL_CALLS = "tool_calls"  # it ended to let the caller run the tool calls it made
    CONTENT_FILTER = "content_filter"  # a safety filter or a refusal ended it


@dataclass(slots=True)
class StreamEnd:
    """The reply is complete. ``raw_finish_reason`` is the provider's own word (``end_turn``,
    ``max_tokens``, ``done_reason``…), None when it gave none."""

    finish_reason: FinishReason = FinishReason.STOP
    raw_finish_reason: str | None = None


StreamEvent: TypeAlias = TextDelta | ToolCallDelta | Usage | StreamEnd

ErrorKind: TypeAlias = Literal[
    "auth", "billing", "rate_limit", "overloaded", "server", "timeout", "connect",
    "model_not_found", "context_length", "bad_request", "stream_error", "truncated",
    "pool_timeout",  # no free connection in our own client's pool: the provider was never asked
]
ERROR_KINDS: frozenset[str] = frozenset(get_args(ErrorKind))


class ProviderError(Exception):
    """Any failure talking to a provider, classified so the engine can decide what to do next.

    ``message`` is the provider's own text with the API key masked out; ``started`` is True when
    at least one TextDelta or ToolCallDelta had been yielded before the error was raised (from
    then on a fallback to another model would repeat or contradict what the caller has seen).
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        started: bool = False,
    ) -> None:
        assert kind in ERROR_KINDS, kind
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.started = started

    def __str__(self) -> str:
        where = f"HTTP {self.status} " if self.status is not None else ""
        return f"{self.provider or 'provider'}: {where}{self.kind}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"ProviderError(kind={self.kind!r}, provider={self.provider!r}, status={self.status!r}, "
            f"retry_after={self.retry_after!r}, started={self.started!r}, message={self.message!r})"
        )


@dataclass(slots=True)
class ListedModel:
    id: str
    context_window: int | None = None
    max_output: int | None = None
    input_price: float | None = None  # USD per 1M tokens; None means unknown, never $0
    output_price: float | None = None
