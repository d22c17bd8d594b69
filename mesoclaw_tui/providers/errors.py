"""Provider error bodies and headers -> ProviderError.

Bodies come in several envelopes and are parsed defensively: OpenAI/Groq/Vercel
``{"error": {"message", "type", "code"}}``, OpenRouter (int ``code``, optional ``metadata.raw``),
Anthropic ``{"type": "error", "error": {"type", "message"}}``, Google ``{"error": {"code",
"message", "status", "details"}}`` (sometimes wrapped in a one-element array), Ollama
``{"error": "text"}``, and anything else as plain text.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

from ._fields import loads
from .base import Endpoint, ErrorKind, ProviderError, mask_key

# Lower-cased fragments of messages/codes that mean "the prompt does not fit".
_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "prompt is too long",
    "exceeds the maximum number of tokens",
    "reduce the length",
    "exceed context limit",
    "context window",
)
# OpenAI's and Groq's messages say "Please try again in 644ms." / "in 1.98s"; Gemini's "Please retry in 45.5s."
_RETRY_IN_MESSAGE = re.compile(r"(?:try again|retry) in (\d+(?:\.\d+)?)\s*(ms|s)\b", re.IGNORECASE)
_MAX_MESSAGE = 500
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>|<[^>]*$")


@dataclass(slots=True)
class ErrorInfo:
    """What an error body says, in provider-neutral terms."""

    message: str = ""
    markers: set[str] = field(default_factory=set)  # lower-cased type / code / status / reason values
    retry_delay: float | None = None  # Google's RetryInfo.retryDelay


def info_from_body(raw: bytes) -> ErrorInfo:
    text = raw.decode("utf-8", "replace").strip()
    if text[:1] == "<":  # a proxy's HTML error page: its title says it all
        return ErrorInfo(message=_shorten(page_title(text)))
    try:
        obj: Any = loads(text)
    except ValueError:
        return ErrorInfo(message=_shorten(text))
    return info_from_json(obj, fallback=text)


def page_title(text: str) -> str:
    """An HTML page's title, or else its first line of text."""
    title = _TITLE.search(text)
    lines = _TAG.sub(" ", title.group(1) if title else text).splitlines()
    return next((" ".join(line.split()) for line in lines if line.strip()), "")


def info_from_json(obj: Any, fallback: str = "") -> ErrorInfo:
    """Read an error envelope that has already been parsed (an HTTP body or a stream event)."""
    if isinstance(obj, list) and obj:  # Google wraps errors in a one-element array
        obj = obj[0]
    if not isinstance(obj, dict):
        return ErrorInfo(message=_shorten(fallback or json.dumps(obj)))
    info = ErrorInfo()
    err = obj.get("error")
    if isinstance(err, str):  # Ollama
        info.message = err
    elif isinstance(err, dict):
        _read_error_object(err, info)
    else:  # vLLM-style {"object": "error", "message": …} or FastAPI {"detail": …}
        info.message = str(obj.get("message") or obj.get("detail") or "")
        if isinstance(obj.get("type"), str):
            info.markers.add(obj["type"].lower())
    info.message = _shorten(info.message or fallback or json.dumps(obj))
    return info


def _read_error_object(err: dict[str, Any], info: ErrorInfo) -> None:
    """OpenAI's, Anthropic's, OpenRouter's and Google's ``error`` objects."""
    info.message = str(err.get("message") or "")
    for key in ("type", "code", "status"):
        value = err.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            info.markers.add(str(value).lower())
    metadata = err.get("metadata")
    raw = metadata.get("raw") if isinstance(metadata, dict) else None
    if isinstance(raw, str) and raw and raw not in info.message:
        # OpenRouter hides the upstream provider's real explanation here.
        info.message = f"{info.message} ({raw})" if info.message else raw
    _read_google_details(err.get("details"), info)


def _read_google_details(details: Any, info: ErrorInfo) -> None:
    if not isinstance(details, list):
        return
    for item in details:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("reason"), str):
            info.markers.add(item["reason"].lower())  # e.g. API_KEY_INVALID
        delay = item.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                info.retry_delay = float(delay[:-1])
            except ValueError:
                pass


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def classify(status: int, info: ErrorInfo) -> ErrorKind:
    marks = info.markers
    lowered = info.message.lower()
    if status in (401, 403) or marks & {"api_key_invalid", "invalid_api_key", "authentication_error"}:
        return "auth"
    if status == 402 or "insufficient_quota" in marks:
        return "billing"
    if status == 529 or "overloaded_error" in marks:
        return "overloaded"
    if status == 429:
        return "rate_limit"
    if status == 413 or (
        status in (400, 422)
        and any(m in lowered or m in marks for m in _CONTEXT_MARKERS)
    ):
        return "context_length"
    if status == 404 or marks & {"model_not_found", "not_found_error"}:
        return "model_not_found"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "server"
    return "bad_request"


def parse_retry_after(
    headers: Mapping[str, str], info: ErrorInfo | None = None, *, now: float | None = None
) -> float | None:
    """Seconds to wait, from the most precise hint available."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - (time.time() if now is None else now))
    if info is not None:
        if info.retry_delay is not None:
            return info.retry_delay
        match = _RETRY_IN_MESSAGE.search(info.message)
        if match:
            amount = float(match.group(1))
            return amount / 1000.0 if match.group(2).lower() == "ms" else amount
    return None


def redact(text: str, api_key: str | None) -> str:
    """Providers sometimes echo the key they were sent; never pass it on."""
    if api_key and api_key in text:
        text = text.replace(api_key, mask_key(api_key))
    return text


def error_from_response(
    endpoint: Endpoint, status: int, headers: Mapping[str, str], raw: bytes
) -> ProviderError:
    info = info_from_body(raw)
    if not info.message:
        try:
            info.message = f"HTTP {status} {HTTPStatus(status).phrase}"
        except ValueError:
            info.message = f"HTTP {status}"
    return ProviderError(
        classify(status, info),
        redact(info.message, endpoint.api_key),
        provider=endpoint.provider,
        status=status,
        retry_after=parse_retry_after(headers, info),
    )


def stream_error(endpoint: Endpoint, payload: Any, *, started: bool) -> ProviderError:
    """An error the provider reported inside a 200 stream (an error event or an error chunk)."""
    info = info_from_json(payload, fallback="error event in the stream")
    return ProviderError(
        "stream_error",
        redact(info.message, endpoint.api_key),
        provider=endpoint.provider,
        retry_after=parse_retry_after({}, info),
        started=started,
    )
