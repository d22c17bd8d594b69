"""The HTTP plumbing every adapter shares: the client, the streaming loop, JSON GETs, and
turning httpx's exceptions into ProviderError."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx

from ._parser import StreamParser
from .base import Endpoint, ErrorKind, ProviderError, StreamEvent
from .errors import error_from_response, page_title, redact

# After the terminator, the rest of the body (usually just the chunked-encoding trailer) is read
# so the connection goes back to the pool; a server that keeps talking is cut off after this.
_DRAIN_SECONDS = 0.25
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_JSON = {"content-type": "application/json"}
_STREAM_TYPES = frozenset({"text/event-stream", "application/x-ndjson"})
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_PAGE_HEAD_BYTES = 8192  # enough of an error page to find its title


def read_timeout() -> float:
    """Seconds of silence allowed between two chunks: MESOCLAW_READ_TIMEOUT, default 60. Raise it for
    reasoning models that think quietly for minutes before the first token."""
    import os

    try:
        return max(0.1, float(os.environ.get("MESOCLAW_READ_TIMEOUT", "60")))
    except ValueError:
        return 60.0


def tls_verification() -> ssl.SSLContext | bool:
    """Certificate checking that does not cost start-up time.

    Loading a whole CA bundle takes ~25 ms on every start; the system's hashed certificate
    directory is read lazily by OpenSSL (only the certificates a handshake needs), so use it when
    the system has one. SSL_CERT_FILE / SSL_CERT_DIR are honoured; otherwise httpx's default
    (certifi's bundle) applies.
    """
    import glob
    import os
    import ssl

    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"),
                                          capath=os.environ.get("SSL_CERT_DIR"))
    capath = ssl.get_default_verify_paths().capath
    if capath and glob.glob(os.path.join(glob.escape(capath), "*.0")):
        return ssl.create_default_context(capath=capath)
    return True


def make_client() -> httpx.AsyncClient:
    """The one client the app shares: a keep-alive pool, HTTP/1.1, finite timeouts.

    The read timeout bounds the silence between two chunks of a stream, not the whole reply.
    Environment proxies apply to remote providers but never to loopback (a local Ollama, tests).
    """
    client = httpx.AsyncClient(
        http1=True,
        http2=False,
        timeout=httpx.Timeout(connect=5.0, read=read_timeout(), write=10.0, pool=10.0),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20, keepalive_expiry=60.0),
        follow_redirects=False,
        verify=tls_verification(),
        headers={"user-agent": "mesoclaw"},
        mounts={f"all://{host}": None for host in _LOOPBACK_HOSTS},
    )
    from ._pool import cheap_idle_checks

    cheap_idle_checks(client)
    return client


def merge_headers(endpoint: Endpoint, headers: Mapping[str, str]) -> httpx.Headers:
    """The adapter's headers, then the endpoint's extra headers, which replace any of the same
    name whatever its case (a gateway's own Authorization, say)."""
    merged = httpx.Headers(headers)
    for name, value in endpoint.extra_headers:
        merged[name] = value
    return merged


async def run_stream(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    url: str,
    headers: Mapping[str, str],
    body: Callable[[], dict[str, Any]],
    parser: StreamParser,
) -> AsyncIterator[StreamEvent]:
    """POST the body ``body()`` builds and yield what ``parser`` makes of the response, raising
    only ProviderError (a request the provider cannot take is refused while iterating too)."""
    try:
        content = encode_json(body())
        async with client.stream("POST", url, headers=merge_headers(endpoint, {**headers, **_JSON}),
                                 content=content) as response:
            if response.status_code >= 300:
                raw = await response.aread()
                raise error_from_response(endpoint, response.status_code, response.headers, raw)
            media = media_type(response.headers)
            if media in _PAGE_TYPES:
                raise page_error(endpoint, response.status_code, media, await _read_head(response.aiter_bytes()))
            if media == "application/json":  # a whole reply: the server ignored "stream"
                for event in parser.whole_body(await response.aread()):
                    yield event
                if parser.error is not None:
                    raise parser.error
                return
            async for event in _stream_body(endpoint, url, response, media, parser):
                yield event
    except httpx.PoolTimeout as exc:  # our own pool was full: not the provider's fault
        raise transport_error("pool_timeout", endpoint, url, exc) from None
    except httpx.TimeoutException as exc:
        raise transport_error("timeout", endpoint, url, exc) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise transport_error("connect", endpoint, url, exc) from None


async def _stream_body(
    endpoint: Endpoint, url: str, response: httpx.Response, media: str, parser: StreamParser
) -> AsyncIterator[StreamEvent]:
    chunks = response.aiter_bytes()
    sniff = media not in _STREAM_TYPES  # an unlabelled body may still be a proxy's HTML page
    broken: httpx.HTTPError | None = None
    try:
        async for chunk in chunks:
            if sniff and chunk.strip():
                sniff = False
                if chunk.lstrip()[:1] == b"<":
                    raise page_error(endpoint, response.status_code, media, chunk + await _read_head(chunks))
            for event in parser.feed(chunk):
                yield event
            if parser.done or parser.error is not None:
                break
        else:
            for event in parser.end():
                yield event
    except httpx.HTTPError as exc:
        broken = exc
    if broken is not None:
        # Failing through the parser delivers the usage known so far, as a clean EOF would.
        tail: list[StreamEvent] = []
        parser.fail(tail, _mid_body_error(endpoint, url, broken, started=parser.started))
        for event in tail:
            yield event
    if parser.error is not None:
        raise parser.error
    await _drain(chunks)


def encode_json(body: dict[str, Any]) -> bytes:
    """The request body as UTF-8 JSON. Text that came from outside may hold a lone surrogate
    (valid in JSON, not in UTF-8): it is sent as U+FFFD rather than failing the request."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _read_head(chunks: AsyncIterator[bytes], limit: int = _PAGE_HEAD_BYTES) -> bytes:
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= limit:
            break
    return head


def page_error(endpoint: Endpoint, status: int, media: str, head: bytes) -> ProviderError:
    """A web page where a stream should be: a proxy's or gateway's error page, named by its
    title or first line of text."""
    first = page_title(head.decode("utf-8", "replace"))
    first = first if len(first) <= 200 else first[:199] + "…"
    message = f"not an event stream ({media or 'no content type'}): {first or 'an empty page'}"
    return ProviderError("server", redact(message, endpoint.api_key), provider=endpoint.provider, status=status)


def _mid_body_error(endpoint: Endpoint, url: str, exc: httpx.HTTPError, *, started: bool) -> ProviderError:
    kind: ErrorKind = "truncated"  # once the headers are in, a broken connection cut the reply short
    if isinstance(exc, httpx.TimeoutException):
        kind = "timeout"
    elif isinstance(exc, httpx.DecodingError):
        kind = "stream_error"
    return transport_error(kind, endpoint, url, exc, started=started)


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    try:
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in chunks:
                pass
    except (TimeoutError, httpx.HTTPError):
        pass  # the reply is complete; closing the response just drops this connection


async def get_json(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    url: str,
    *,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    timeout: float,
) -> Any:
    try:
        response = await client.get(
            url, headers=merge_headers(endpoint, headers), params=params, timeout=timeout
        )
    except httpx.TimeoutException as exc:
        raise transport_error("timeout", endpoint, url, exc) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise transport_error("connect", endpoint, url, exc) from None
    if response.status_code >= 300:
        raise error_from_response(endpoint, response.status_code, response.headers, response.content)
    try:
        return response.json()
    except ValueError:
        raise ProviderError(
            "server", f"{url} did not answer with JSON", provider=endpoint.provider,
            status=response.status_code,
        ) from None


def transport_error(
    kind: ErrorKind, endpoint: Endpoint, url: str, exc: Exception, *, started: bool = False
) -> ProviderError:
    detail = str(exc) or type(exc).__name__  # httpx's timeouts often have no text
    where = url.split("?", 1)[0]
    if kind == "timeout":
        message = f"timed out talking to {where} ({detail})"
    elif kind == "connect":
        message = f"could not reach {where}: {detail}"
    elif kind == "truncated":
        message = f"the connection to {where} broke mid-reply: {detail}"
    elif kind == "pool_timeout":
        message = f"no free connection to send it to {where} (too many requests at once here); it was not sent"
    else:
        message = detail
    return ProviderError(kind, redact(message, endpoint.api_key), provider=endpoint.provider, started=started)
