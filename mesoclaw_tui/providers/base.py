"""The provider layer's vocabulary: requests, endpoints, stream events and the one error type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias, get_args


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # "user" | "assistant" | "system"
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None


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
class Usage:
    """The latest known token totals of the whole request; None means the provider did not say."""

    input_tokens: int | None
    output_tokens: int | None


@dataclass(slots=True)
class StreamEnd:
    finish_reason: str | None


StreamEvent: TypeAlias = TextDelta | Usage | StreamEnd

ErrorKind: TypeAlias = Literal[
    "auth", "billing", "rate_limit", "overloaded", "server", "timeout", "connect",
    "model_not_found", "context_length", "bad_request", "stream_error", "truncated",
]
ERROR_KINDS: frozenset[str] = frozenset(get_args(ErrorKind))


class ProviderError(Exception):
    """Any failure talking to a provider, classified so the engine can decide what to do next.

    ``message`` is the provider's own text with the API key masked out; ``started`` is True when
    at least one TextDelta had been yielded before the error was raised.
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
