"""`mesoclaw serve` against hostile or careless clients: web pages (Host, Origin, content type), big and
slow requests, bursts, clients that leave, malformed input. Real HTTP against a real BackgroundServer (or
the `mesoclaw serve` command) in front of the fake provider server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mesoclaw_tui.core.types import MesoclawError
from mesoclaw_tui.engine import Engine, Turn
from mesoclaw_tui.server import Access, BackgroundServer, Limits, parse_size
from mesoclaw_tui.service import RouterService
from tests.conftest import PROVIDER_ENV
from tests.fakes.fixtures import configure
from tests.fakes.provider_server import FakeProviderServer, Gate, Hang, Held, Replay, Stream
from tests.waiting import eventually_async

HELLO = [{"role": "user", "content": "hello there"}]
CHAT = b'{"model": "mesoclaw/auto", "messages": [{"role": "user", "content": "hello there"}]}'
ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture
def fake_keys() -> tuple[str, ...]:
    """No provider points at `fake` until a test says which (configure)."""
    return ()


@pytest.fixture
def served(monkeypatch, fake) -> Iterator[BackgroundServer]:
    configure(monkeypatch, fake)
    with BackgroundServer() as server:
        yield server


def port_of(server: BackgroundServer) -> int:
    return server.sock.getsockname()[1]


def exchange(server: BackgroundServer, head: str, body: bytes = b"", timeout: float = 10) -> tuple[int, dict, bytes]:
    """One request written byte for byte (so Host and the framing are exactly what a test says), and
    the response: status, headers (lower-case names), body."""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=timeout) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def error_of(body: bytes) -> dict:
    document = json.loads(body)
    assert set(document) == {"error"} and set(document["error"]) == ERROR_KEYS
    return document["error"]


def chat_requests(fake: FakeProviderServer) -> list:
    return [r for r in fake.requests if r.method == "POST"]


def usage_outcomes(home: Path) -> list[str]:
    with sqlite3.connect(home / "mesoclaw.db") as conn:
        return [row[0] for row in conn.execute("SELECT outcome FROM usage WHERE source = 'serve' ORDER BY id")]


def provider_failures(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "mesoclaw.db") as conn:
        return conn.execute("SELECT provider, failures, cooldown_until, unusable_until, last_error FROM provider_state"
                            " WHERE failures > 0 OR cooldown_until IS NOT NULL OR unusable_until IS NOT NULL"
                            ).fetchall()


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# who may call: Host, Origin, content type -----------------------------------------------------------------


def test_a_web_page_posting_text_plain_is_refused_and_nothing_goes_upstream(served, fake) -> None:
    port = port_of(served)
    # What a page on attacker.example can send without a preflight: a "simple" cross-site POST.
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        status, headers, body = exchange(served, f"""POST /v1/chat/completions HTTP/1.1
Host: 127.0.0.1:{port}
Origin: http://attacker.example
Content-Type: {content_type}
Content-Length: {len(CHAT)}
""", CHAT)
        assert status == 403 and error_of(body)["code"] == "forbidden_origin", content_type
        assert "access-control-allow-origin" not in headers
        # The same without an Origin (a page in a browser that omits it, a script): still not JSON.
        status, _, body = exchange(served, f"""POST /v1/chat/completions HTTP/1.1
Host: 127.0.0.1:{port}
Content-Type: {content_type}
Content-Length: {len(CHAT)}
""", CHAT)
        assert status == 415 and error_of(body)["code"] == "unsupported_media_type", content_type
    # "null" is the Origin of sandboxed frames and file: pages: refused too.
    status, _, body = exchange(served, f"""POST /v1/chat/completions HTTP/1.1
Host: 127.0.0.1:{port}
Origin: null
Content-Type: application/json
Content-Length: {len(CHAT)}
""", CHAT)
    assert status == 403
    assert chat_requests(fake) == []  # no request reached a provider
    # and a client that speaks JSON is served as before
    assert httpx.post(f"{served.base_url}/chat/completions", content=CHAT,
                      headers={"content-type": "application/json; charset=utf-8"}).status_code == 200


@pytest.mark.parametrize("path", ["/health", "/v1/models", "/v1/chat/completions"])
def test_a_foreign_host_is_refused_dns_rebinding(served, fake, path) -> None:
    method, body = ("POST", CHAT) if "chat" in path else ("GET", b"")
    for host in (f"attacker.example:{port_of(served)}", "attacker.example", "localhost.attacker.example",
                 "127.0.0.1.nip.io"):
        status, _, raw = exchange(served, f"""{method} {path} HTTP/1.1
Host: {host}
Content-Type: application/json
Content-Length: {len(body)}
""", body)
        assert status == 403, host
        error = error_of(raw)
        assert error["code"] == "forbidden_host" and "version" not in raw.decode()
    assert chat_requests(fake) == []


def test_loopback_hosts_with_and_without_the_port_are_served(served, fake) -> None:
    port = port_of(served)
    for name in ("127.0.0.1", "localhost", "LOCALHOST", "[::1]"):
        for host in (name, f"{name}:{port}", f"{name}:9999"):  # another port: an ssh -L forward
            status, _, body = exchange(served, f"GET /health HTTP/1.1\nHost: {host}\n")
            assert status == 200 and b'"ok"' in body, host
    status, _, body = exchange(served, f"""POST /v1/chat/completions HTTP/1.1
Host: localhost:{port}
Origin: http://localhost:3000
Content-Type: application/json
Content-Length: {len(CHAT)}
""", CHAT)
    assert status == 200 and fake.reply.encode() in body  # a loopback page is not a foreign one


def test_allow_origin_lets_one_page_in_with_the_token(monkeypatch, fake, cli) -> None:
    configure(monkeypatch, fake)
    allowed = "https://app.example"
    with BackgroundServer(token="s3cret", allow_origins=(allowed,)) as server:
        bearer = {"authorization": "Bearer s3cret"}
        preflight = httpx.options(f"{server.base_url}/chat/completions", headers={
            "origin": allowed, "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == allowed
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-allow-headers"] == "authorization, content-type"
        ok = httpx.post(f"{server.base_url}/chat/completions", json={"messages": HELLO},
                        headers={**bearer, "origin": allowed})
        assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == fake.reply
        assert ok.headers["access-control-allow-origin"] == allowed
        assert "x-mesoclaw-provider" in ok.headers["access-control-expose-headers"]
        # the token is still needed from that page
        assert httpx.post(f"{server.base_url}/chat/completions", json={"messages": HELLO},
                          headers={"origin": allowed}).status_code == 401
        # another page is not let in, preflight or not
        for method in ("OPTIONS", "POST"):
            other = httpx.request(method, f"{server.base_url}/chat/completions", json={"messages": HELLO},
                                  headers={**bearer, "origin": "https://other.example"})
            assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    assert len(chat_requests(fake)) == 1
    result = cli("serve", "--allow-origin", allowed, "--port", "0")
    assert result.code == 2 and result.err.count("\n") == 1 and "--token" in result.err
    result = cli("serve", "--token", "t", "--allow-origin", "*", "--port", "0")
    assert result.code == 2 and result.err.count("\n") == 1


def test_the_host_rule_for_a_server_bound_to_the_network() -> None:
    # A token is needed off loopback; then every IP literal (the LAN address the user types, a VPN
    # address, a port forward) and this machine's name are served, and DNS names only by --allow-host.
    lan = Access.build("0.0.0.0", "tok")
    for host in ("192.168.1.20:8765", "10.0.0.7", "[fe80::1]:8765", "127.0.0.1:8765", "localhost",
                 socket.gethostname().lower()):
        assert lan.host_allowed(host), host
    for host in ("attacker.example", "attacker.example:8765", "", ":8765", "a b"):
        assert not lan.host_allowed(host), host
    named = Access.build("0.0.0.0", "tok", allow_hosts=("devbox.example.com",))
    assert named.host_allowed("devbox.example.com:8765") and not named.host_allowed("other.example.com")
    local = Access.build("127.0.0.1", None)
    assert not local.host_allowed("192.168.1.20") and local.host_allowed("127.0.0.1:1234")
    with pytest.raises(MesoclawError, match="--token"):
        Access.build("127.0.0.1", None, allow_hosts=("devbox.example.com",))
    assert local.origin_allowed("http://127.0.0.1:8765") and not local.origin_allowed("https://example.com")


def test_the_command_applies_its_flags(fake, isolated_env) -> None:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env.update(fake.env("openai", api_key="sk-test"))
    proc = subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", "serve", "--port", "0", "--max-body", "1KB",
                             "--token", "tok", "--allow-origin", "https://app.example"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = proc.stdout.readline().split()[2]
        assert wait_for(lambda: _answers(base + "/models"), 15)
        bearer = {"authorization": "Bearer tok", "content-type": "application/json"}
        big = {"messages": [{"role": "user", "content": "x" * 2000}]}
        assert httpx.post(f"{base}/chat/completions", json=big, headers=bearer).status_code == 413
        assert httpx.get(f"{base}/models", headers={**bearer, "host": "attacker.example"}).status_code == 403
        page = httpx.get(f"{base}/models", headers={**bearer, "origin": "https://app.example"})
        assert page.status_code == 200 and page.headers["access-control-allow-origin"] == "https://app.example"
        assert httpx.get(f"{base}/models", headers={**bearer, "origin": "https://evil.example"}).status_code == 403
        assert chat_requests(fake) == []
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, headers={"authorization": "Bearer tok"}).status_code == 200
    except httpx.TransportError:
        return False


# limits --------------------------------------------------------------------------------------------------


def test_a_huge_content_length_is_refused_before_the_body_is_sent(served, fake) -> None:
    port = port_of(served)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {300 * 1024 * 1024}\r\n\r\n".encode())
        started = time.monotonic()
        status, headers, body = read_response(sock)  # no byte of the body was sent
        assert time.monotonic() - started < 5
        assert status == 413 and error_of(body)["code"] == "request_too_large" and "--max-body" in body.decode()
        assert headers["connection"] == "close"
        assert sock.recv(10) == b""  # and the connection is closed: nothing more of it is read
    assert chat_requests(fake) == []


@pytest.mark.parametrize("path, credential", [
    ("/v1/chat/completions", "Authorization: Bearer wrong\r\n"),
    ("/v1/chat/completions", ""),
    ("/v1/messages", "x-api-key: wrong\r\n"),
], ids=["wrong bearer token", "no token", "wrong x-api-key"])
def test_without_the_token_a_request_is_401_before_its_body_is_read(monkeypatch, fake, path, credential) -> None:
    """With --token, a client without it cannot make the server read a body (up to --max-body) or wait
    --body-timeout for one: its head is enough to refuse it."""
    configure(monkeypatch, fake)
    with BackgroundServer(token="s3cret") as server:
        port = port_of(server)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            # 8 MB announced, under --max-body (10 MB), and not a byte of it sent
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{credential}"
                         f"Content-Type: application/json\r\nContent-Length: {8 * 1024 * 1024}\r\n\r\n".encode())
            started = time.monotonic()
            status, headers, body = read_response(sock)
            assert time.monotonic() - started < 5  # not --body-timeout's 30 s
            assert status == 401 and headers["connection"] == "close"
            if path == "/v1/messages":  # in the shape of the API asked
                assert json.loads(body)["error"]["type"] == "authentication_error"
            else:
                assert error_of(body)["code"] == "invalid_api_key"
            assert sock.recv(10) == b""  # and the connection is closed: nothing more of it is read
    assert chat_requests(fake) == []


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(monkeypatch, fake) -> None:
    configure(monkeypatch, fake)
    with BackgroundServer(limits=Limits(max_body=parse_size("64KB"))) as server:
        port = port_of(server)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                         "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            piece = b"x" * 8192
            sent = 0
            sock.setblocking(False)
            reply = b""
            while not reply and sent < 50 * 1024 * 1024:
                try:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                    sent += len(piece)
                    reply = sock.recv(65536)
                except BlockingIOError:
                    time.sleep(0.005)
                except ConnectionError:
                    break
            sock.setblocking(True)
            if reply.count(b"\r\n\r\n") == 0 or b"content-length" not in reply.lower():
                reply += sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
        assert sent < 2 * 1024 * 1024  # answered while the upload was going on, not after 50 MB
    assert chat_requests(fake) == []


def test_a_body_that_never_completes_is_408_after_the_body_timeout(monkeypatch, fake) -> None:
    configure(monkeypatch, fake)
    with BackgroundServer(limits=Limits(body_timeout=1.0)) as server:
        port = port_of(server)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"mess".encode())
            started = time.monotonic()
            status, _, body = read_response(sock)
            assert status == 408 and error_of(body)["code"] == "request_timeout"
            assert 0.8 < time.monotonic() - started < 5
    assert chat_requests(fake) == []


def test_slow_connections_are_closed_and_do_not_starve_health(monkeypatch, fake) -> None:
    configure(monkeypatch, fake)
    with BackgroundServer(limits=Limits(header_timeout=1.5, body_timeout=1.5, max_connections=100)) as server:
        port = port_of(server)
        slow = []
        for i in range(200):  # twice the cap: half of them sending a head, half a body, one byte at a time
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            if i % 2:
                sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode())
            else:
                sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                             "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{".encode())
            slow.append(sock)
        for sock in slow:
            try:
                sock.send(b"a")
            except OSError:
                pass  # already closed to make room
        timings = []
        for _ in range(20):
            started = time.monotonic()
            with httpx.Client(timeout=5) as client:
                assert client.get(f"{server.url}/health").json()["status"] == "ok"
            timings.append(time.monotonic() - started)
        assert max(timings) < 1.0, timings  # each on a new connection, as a health check makes it
        ended = []
        deadline = time.monotonic() + 5
        for sock in slow:  # every slow connection is closed by the server: evicted, or its head timed out
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
                while data and not data.startswith(b"HTTP/1.1 408"):
                    data = sock.recv(65536)
                ended.append(True)
            except (ConnectionError, TimeoutError, OSError) as exc:
                ended.append(not isinstance(exc, TimeoutError))
            sock.close()
        assert all(ended), f"{ended.count(False)} of 200 slow connections still open"


def test_a_client_that_stops_reading_is_dropped_and_its_request_cancelled(monkeypatch, fake, isolated_env) -> None:
    configure(monkeypatch, fake)
    fake.watch_clients = True
    fake.default(fake.chat_path("openai"), Stream("openai", n=400_000, piece="tok tok tok tok "))  # ~70 MB of SSE
    with BackgroundServer(limits=Limits(send_timeout=1.0)) as server:
        port = port_of(server)
        body = b'{"messages": [{"role": "user", "content": "hello there"}], "stream": true}'
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: "
                         f"application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            assert sock.recv(100).startswith(b"HTTP/1.1 200")  # then it reads nothing more
            assert wait_for(lambda: usage_outcomes(isolated_env), 15), "the stalled request was not cancelled"
        assert usage_outcomes(isolated_env) == ["cancelled"]
        assert fake.abandoned == [fake.chat_path("openai")]
        assert httpx.get(f"{server.url}/health").status_code == 200


async def test_a_burst_waits_its_turn_and_does_not_cool_the_provider(monkeypatch, fake, isolated_env) -> None:
    configure(monkeypatch, fake)
    fake.default(fake.chat_path("openai"), Stream("openai", n=10, rate=50))  # 200 ms a reply
    with BackgroundServer(limits=Limits(max_concurrent=3, max_queue=50)) as server:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as client:
            replies = await asyncio.gather(*(
                client.post(f"{server.base_url}/chat/completions",
                            json={"messages": [{"role": "user", "content": f"question {i}"}], "stream": i % 2 == 0})
                for i in range(15)))
    assert [r.status_code for r in replies] == [200] * 15
    assert fake.max_in_flight == 3  # never more than --max-concurrent at the provider
    assert usage_outcomes(isolated_env) == ["ok"] * 15
    assert provider_failures(isolated_env) == []


async def test_past_the_queue_it_is_503_with_retry_after(monkeypatch, fake, isolated_env) -> None:
    configure(monkeypatch, fake)
    gate = Gate()  # the first reply waits until the two past the queue have been turned away
    fake.default(fake.chat_path("openai"), Held(gate, Stream("openai", "answer")))
    with BackgroundServer(limits=Limits(max_concurrent=1, max_queue=1)) as server:
        async with httpx.AsyncClient(timeout=30) as client:
            posts = [asyncio.ensure_future(client.post(f"{server.base_url}/chat/completions",
                                                       json={"messages": HELLO})) for _ in range(4)]
            try:
                await eventually_async(lambda: sum(p.done() for p in posts) >= 2, what="two requests turned away")
            finally:
                gate.release()
            replies = await asyncio.gather(*posts)
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200, 200, 503, 503]
    busy = [r for r in replies if r.status_code == 503]
    assert all(r.headers["retry-after"] == "1" and r.json()["error"]["code"] == "server_busy" for r in busy)
    assert len(chat_requests(fake)) == 2 and fake.max_in_flight == 1
    assert provider_failures(isolated_env) == []


async def test_a_full_local_connection_pool_is_not_the_providers_fault(monkeypatch, fake) -> None:
    configure(monkeypatch, fake)
    gate = Gate()  # the first reply holds the one connection until the second has timed out waiting for it
    fake.script(fake.chat_path("openai"), Stream("openai", n=20, gate=gate, hold_after=1))
    service = await RouterService.open()
    client = httpx.AsyncClient(timeout=httpx.Timeout(5.0, pool=0.2), limits=httpx.Limits(max_connections=1))
    try:
        engine = Engine(service, client)
        first = asyncio.create_task(engine.run(Turn("hello there", model="openai:gpt-4o", persist=False)))
        await gate.wait_async()
        second = await engine.run(Turn("hello there", model="openai:gpt-4o", persist=False))
        gate.release()
        assert [a.outcome for a in second.attempts] == ["pool_timeout"]
        assert "openai" not in (await service.live_availability()).cooling
        assert (await first).status == "complete"
    finally:
        await client.aclose()
        await service.close()


# a client that goes away -----------------------------------------------------------------------------------

LEAVES = {
    # (stream, the upstream's behaviour, when the client leaves)
    "streaming, before the first token": (True, Hang(), "before"),
    "not streaming, before the first token": (False, Hang(), "before"),
    "streaming, after the first token": (True, Stream("openai", n=500, rate=100), "after"),
    "not streaming, mid-reply": (False, Stream("openai", n=500, rate=100), "after"),
}


@pytest.mark.parametrize("case", LEAVES)
def test_a_client_that_leaves_cancels_the_upstream_request_and_the_fallback(case, monkeypatch, fake,
                                                                            isolated_env) -> None:
    stream, upstream, when = LEAVES[case]
    monkeypatch.setenv("MESOCLAW_READ_TIMEOUT", "1.5")  # a hung upstream would fall back after 1.5 s
    configure(monkeypatch, fake, "openai", "anthropic")
    fake.watch_clients = True
    fake.default(fake.chat_path("openai"), upstream)
    body = {"model": "mesoclaw/balanced", "stream": stream, "messages": HELLO}
    with BackgroundServer() as server:
        url = f"{server.base_url}/chat/completions"
        task = {"x-mesoclaw-task": "general"}  # balanced/general: openai first, anthropic next
        if stream and when == "after":
            with httpx.stream("POST", url, json=body, headers=task) as response:
                assert response.status_code == 200
                next(response.iter_bytes())  # the first token came; then the client goes
        else:
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(url, json=body, headers=task, timeout=httpx.Timeout(5.0, read=0.5))
        left = time.monotonic()
        assert wait_for(lambda: fake.abandoned, 30), "the upstream request was not closed"
        assert time.monotonic() - left < 2
        assert fake.abandoned == [fake.chat_path("openai")]
        # The usage row is written when the turn has ended: a fallback to anthropic (after the 1.5 s read
        # timeout) would have been sent before it.
        assert wait_for(lambda: usage_outcomes(isolated_env), 30)
        assert fake.requests_to(fake.chat_path("anthropic")) == []
        assert usage_outcomes(isolated_env) == ["cancelled"]
        assert provider_failures(isolated_env) == []
        assert httpx.get(f"{server.url}/health").status_code == 200


def test_a_client_that_leaves_while_queued_never_reaches_the_provider(monkeypatch, fake, isolated_env) -> None:
    configure(monkeypatch, fake)
    gate = Gate()  # the first request holds the one place until the queued one has left
    fake.script(fake.chat_path("openai"), Held(gate, Stream("openai", "first")))
    fake.default(fake.chat_path("openai"), Stream("openai", "later"))
    with BackgroundServer(limits=Limits(max_concurrent=1, max_queue=5)) as server:
        url = f"{server.base_url}/chat/completions"
        holder = threading.Thread(target=httpx.post, args=(url,), kwargs={"json": {"messages": HELLO}, "timeout": 30})
        holder.start()
        try:
            gate.wait()
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(url, json={"messages": HELLO}, timeout=httpx.Timeout(5.0, read=0.3))
        finally:
            gate.release()
            holder.join(30)
        # The queue is first come first served: once a request sent now has been answered, the one that
        # left would have reached the provider before it, had it been sent at all.
        assert httpx.post(url, json={"messages": HELLO}, timeout=30).status_code == 200
    assert len(chat_requests(fake)) == 2  # the holder's and the last: the one that waited and left was never sent


# bad input ------------------------------------------------------------------------------------------------


def test_malformed_roles_and_lone_surrogates_are_400_naming_the_field(served, fake) -> None:
    cases = [
        (b'{"messages": [{"role": {"a": 1}, "content": "hi"}]}', "messages[0].role"),
        (b'{"messages": [{"role": ["user"], "content": "hi"}]}', "messages[0].role"),
        (b'{"messages": [{"role": "user", "content": "hi \\udc9b there"}]}', "messages[0].content"),
        (b'{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\ud800"}]}]}',
         "messages[0].content[0].text"),
        (b'{"model": "gpt\\udc9b", "messages": [{"role": "user", "content": "hi"}]}', "model"),
        (b'{"messages": [{"role": "system", "content": "ok"}, {"role": "user", "content": "x\\uDFFF"}]}',
         "messages[1].content"),
    ]
    for raw, field in cases:
        response = httpx.post(f"{served.base_url}/chat/completions", content=raw,
                              headers={"content-type": "application/json"})
        assert response.status_code == 400, (raw, response.text)
        error = response.json()["error"]
        assert set(error) == ERROR_KEYS and error["param"] == field and error["type"] == "invalid_request_error"
    assert chat_requests(fake) == []
    # a surrogate *pair* written as escapes is an ordinary character (as Python's json.dumps writes 😀)
    ok = httpx.post(f"{served.base_url}/chat/completions", headers={"content-type": "application/json"},
                    content=b'{"messages": [{"role": "user", "content": "smile \\ud83d\\ude00"}]}')
    assert ok.status_code == 200 and "😀" in chat_requests(fake)[-1].body.decode()


def test_a_lone_surrogate_from_the_provider_is_answered_not_500(served, fake) -> None:
    reply = b'data: {"choices":[{"index":0,"delta":{"content":"bad \\udc9b byte"}}]}\n\ndata: [DONE]\n\n'
    fake.default(fake.chat_path("openai"), Replay(reply))
    whole = httpx.post(f"{served.base_url}/chat/completions", json={"messages": HELLO})
    assert whole.status_code == 200 and whole.json()["choices"][0]["message"]["content"] == "bad \ufffd byte"
    streamed = httpx.post(f"{served.base_url}/chat/completions", json={"messages": HELLO, "stream": True})
    assert streamed.status_code == 200 and "bad \ufffd byte" in streamed.text and streamed.text.endswith("[DONE]\n\n")
