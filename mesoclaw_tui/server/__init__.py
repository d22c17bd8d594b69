"""`mesoclaw serve`: a local OpenAI- and Anthropic-compatible endpoint in front of the router.

    POST /v1/chat/completions   streaming (SSE) or not; every request is classified and routed
    POST /v1/messages           the Anthropic Messages API over the same router (+ /count_tokens)
    GET  /v1/models             mesoclaw/auto, mesoclaw/eco|balanced|premium, then `provider:model_id`
    GET  /v1/models/{name}      any name a request accepts
    GET  /health                {"status": "ok"}, never needs the token

The model a client asks for decides the routing: `mesoclaw/auto` (or `mesoclaw`, `auto`) uses the
active profile, `mesoclaw/<profile>` forces a profile, and any model name the registry knows
(`openai:gpt-4o`, `gpt-4o`, `claude-sonnet-4.5` …) skips routing (its own providers only).

The messages become one engine Turn: the system (and developer) messages joined are the system
prompt, the other messages (text, images, tool calls, tool results) are sent as they are, and the
last user message's text is the prompt the classifier sees. Tools, tool_choice, parallel_tool_calls
and response_format go with them, and decide which models may answer. Nothing is saved as a
conversation; the engine records one usage row per request with source "serve".

A streamed response's status and `x-mesoclaw-*` headers are sent with the first token, so when
every candidate fails before it the client still gets a proper JSON error status. One RouterService
and one Engine (one pooled HTTP client) serve the whole process.

    wire.py             the OpenAI wire format, pure: request body -> Turn; Reply -> bodies, SSE chunks, errors
    openai_request.py   its request parts, pure: messages, tools, tool_choice, response_format
    anthropic_wire.py   the Messages format, pure: body -> Turn; Reply -> a Message, its SSE events, errors
    api_error.py        the error both answer with
    app.py              the Starlette app: routes, the bearer token, the chat handler
    messages_route.py   the /v1/messages handlers
    answering.py        what both do with the engine's events: read to the first token, then stream
                        them as SSE (EventStream) or collect the reply; each hands in its wire format
    limits.py           who may call and how much: the Host/Origin rules (Access) and the Limits, pure
    guard.py            the ASGI Guard around the whole app: Host/Origin, content type, body size and time,
                        the upstream gate, and cancelling a request whose client left
    connections.py      each connection's head deadline and the connection cap (uvicorn has neither)
    running.py          binding and running: check_bind, bind, serve, BackgroundServer

Importing this package loads neither Starlette nor the engine; `serve()` does.
"""

from __future__ import annotations

from .limits import Access, Limits, is_loopback, parse_size
from .running import (
           DEFAULT_HOST,
           DEFAULT_PORT,
           BackgroundServer,
           bind,
           check_bind,
           run,
           serve,
           url_of,
)

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Access", "BackgroundServer", "Limits", "bind", "check_bind",
           "is_loopback", "parse_size", "run", "serve", "url_of"]
