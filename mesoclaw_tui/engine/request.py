"""What a turn asks of a model: the capabilities it needs, its size in tokens, the reply-size cap.

Pure, and free of provider imports (the messages are duck-typed: a part with a `text` is text,
any other part is an image), so the engine's plan costs nothing it does not use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.router import needs_for
from ..core.tokens import estimate_tokens
from ..core.types import Capability, MesoclawError

# An image's input tokens when the provider does not say: Anthropic bills a picture at its
# ~1.15-megapixel cap about 1,600 tokens, OpenAI a high-detail 1024x1024 one 765. The larger
# figure keeps a context-window check on the safe side.
IMAGE_TOKENS = 1_600
# A reply longer than this many characters (text and tool-call arguments together) is ended
# there and kept, marked: a runaway or hostile provider cannot fill memory or the database.
DEFAULT_MAX_REPLY_CHARS = 4_000_000
MAX_REPLY_ENV = "MESOCLAW_MAX_REPLY_CHARS"


def max_reply_chars(environ: Mapping[str, str] = os.environ) -> int:
    """The cap on a reply's size: MESOCLAW_MAX_REPLY_CHARS, or the default."""
    raw = environ.get(MAX_REPLY_ENV, "").strip().replace("_", "")
    if not raw:
        return DEFAULT_MAX_REPLY_CHARS
    if not raw.isdigit() or int(raw) < 1:
        raise MesoclawError(f"{MAX_REPLY_ENV} must be a positive whole number of characters, got {raw!r}")
    return int(raw)


def needs_of(messages: Iterable[Any], tools: tuple[Any, ...], parallel_tool_calls: bool | None,
             response_format: Any) -> frozenset[Capability]:
    """The capabilities a request needs. A conversation that holds tool calls or tool results
    needs tool support even in a turn that offers no tools (the provider has to read them); a
    JSON response format of either kind needs structured output."""
    has_tools = bool(tools)
    images = False
    for message in messages:
        if not has_tools and (message.tool_calls or message.role == "tool"):
            has_tools = True
        content = message.content
        if not images and type(content) is not str and any(not hasattr(p, "text") for p in content):
            images = True
    wants_json = response_format is not None and response_format.type != "text"
    return needs_for(tools=has_tools, parallel_tool_calls=bool(tools) and parallel_tool_calls is True,
                     json_schema=wants_json, images=images)


def content_tokens(content: Any) -> int:
    if type(content) is str:
        return estimate_tokens(content)
    return sum(estimate_tokens(part.text) if hasattr(part, "text") else IMAGE_TOKENS for part in content)


def prompt_tokens(messages: Iterable[Any], system: str | None, tools: tuple[Any, ...] = ()) -> int:
    """Estimated input tokens of a request: its messages (their images and tool calls too), the
    system prompt and the tool definitions."""
    total = estimate_tokens(system or "")
    for message in messages:
        total += content_tokens(message.content)
        for call in message.tool_calls:
            total += estimate_tokens(call.name) + estimate_tokens(call.arguments)
    for tool in tools:
        total += estimate_tokens(tool.name) + estimate_tokens(tool.description or "") + \
            estimate_tokens(json.dumps(tool.schema))
    return total


def output_tokens(text: str, tool_calls: tuple[Any, ...]) -> int:
    """Estimated output tokens of a reply: its text and the calls it made."""
    return estimate_tokens(text) + sum(estimate_tokens(c.name) + estimate_tokens(c.arguments) for c in tool_calls)
