"""LLM provider adapters: the only code that speaks HTTP to a provider.

    client = make_client()
    async with contextlib.aclosing(stream_chat(client, endpoint, request)) as events:
        async for event in events:   # TextDelta / ToolCallDelta …, then Usage (if reported), then StreamEnd
            ...

Every failure is raised as ProviderError (``kind`` says what went wrong, ``started`` whether
text or a tool call had already been yielded). Usage is yielded at most once, right before
StreamEnd or before a mid-stream ProviderError, carrying the provider's final totals. StreamEnd
carries a FinishReason (stop, length, tool_calls, content_filter) and the provider's raw reason.
ToolCallAccumulator turns a reply's ToolCallDeltas into ToolCalls. Close the iterator (aclosing)
when stopping early, so the connection is released at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType

import httpx

from ..core.provider_info import provider_info
from . import anthropic, ollama, openai_compat
from ._http import make_client
from .base import (
    ERROR_KINDS,
    ChatMessage,
    ChatRequest,
    Content,
    ContentPart,
    Endpoint,
    ErrorKind,
    FinishReason,
    ImagePart,
    ListedModel,
    ProviderError,
    ResponseFormat,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    Usage,
    content_text,
    mask_key,
)
from .tool_calls import ToolCallAccumulator, wire_tool_call_id

__all__ = [
    "ERROR_KINDS", "ChatMessage", "ChatRequest", "Content", "ContentPart", "Endpoint", "ErrorKind",
    "FinishReason", "ImagePart", "ListedModel", "ProviderError", "ResponseFormat", "StreamEnd",
    "StreamEvent", "TextDelta", "TextPart", "Tool", "ToolCall", "ToolCallAccumulator", "ToolCallDelta",
    "ToolChoice", "Usage", "content_text", "list_models", "make_client", "mask_key", "stream_chat",
    "wire_tool_call_id",
]

_ADAPTERS: dict[str, ModuleType] = {"openai": openai_compat, "anthropic": anthropic, "ollama": ollama}


def _adapter(endpoint: Endpoint) -> ModuleType:
    return _ADAPTERS[provider_info(endpoint.provider).protocol]


def stream_chat(client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest) -> AsyncIterator[StreamEvent]:
    """Stream one chat completion.

    Returns the adapter's async generator itself rather than wrapping it, so no extra
    generator hop is paid per delta; use it exactly like an ``async def`` generator.
    """
    return _adapter(endpoint).stream_chat(client, endpoint, request)


async def list_models(client: httpx.AsyncClient, endpoint: Endpoint, *, timeout: float = 5.0) -> list[ListedModel]:
    """The models the endpoint serves now, with whatever limits and prices it publishes."""
    return await _adapter(endpoint).list_models(client, endpoint, timeout=timeout)
