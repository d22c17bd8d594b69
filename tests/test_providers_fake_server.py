"""The fake provider server itself: routing, scripting, recording, and serving other processes."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
import pytest

from mesoclaw_tui.core.provider_info import parse_ollama_host
from tests.fakes.provider_server import (
    FakeProviderServer,
    Gate,
    Hang,
    Held,
    Replay,
    Respond,
    Stream,
    refused_port,
)


def test_routes_exact_then_suffix_then_star_then_builtin(provider_server: FakeProviderServer) -> None:
    s = provider_server
    s.script("/a/v1/chat/completions", Respond(201, {"route": "exact"}))
    s.script("*/chat/completions", Respond(202, {"route": "suffix"}))
    s.script("*", Respond(203, {"route": "star"}))
    s.default("*/chat/completions", Respond(204))
    with httpx.Client(base_url=s.url) as c:
        assert c.post("/a/v1/chat/completions", json={}).status_code == 201
        assert c.post("/a/v1/chat/completions", json={}).status_code == 202  # exact queue is empty now
        assert c.post("/a/v1/chat/completions", json={}).status_code == 203
        assert c.post("/b/v1/chat/completions", json={}).status_code == 204  # the standing default
        assert c.post("/b/v1/chat/completions", json={}).status_code == 204
        assert c.get("/nowhere").status_code == 404
        s.reset()
        assert s.requests == []
        reply = c.post("/b/v1/chat/completions", json={"model": "m"})
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
        assert b"data: [DONE]" in reply.content


def test_records_requests(provider_server: FakeProviderServer) -> None:
    with httpx.Client() as c:
        c.post(provider_server.url + "/ollama/api/chat?x=1&y=", json={"model": "m", "messages": []},
               headers={"X-Probe": "yes"})
    sent = provider_server.last_request
    assert (sent.method, sent.path, sent.query) == ("POST", "/ollama/api/chat", {"x": "1", "y": ""})
    assert sent.headers["x-probe"] == "yes"
    assert sent.json == {"model": "m", "messages": []}
    assert provider_server.requests_to("/ollama/api/chat") == [sent]


def test_replay_is_byte_for_byte(provider_server: FakeProviderServer) -> None:
    provider_server.script("/gemini", Replay("gemini_streamGenerateContent_alt_sse.sse", chunks=7, framing="close"))
    with httpx.Client() as c:
        body = c.post(provider_server.url + "/gemini").content
    assert body == Replay("gemini_streamGenerateContent_alt_sse.sse").data()
    assert body.count(b"\r\n\r\n") == 3


def test_stream_expected_text() -> None:
    assert Stream("openai", "Hello from  here ").expected_text == "Hello from  here "
    assert Stream("openai", "Hello from here").deltas == ["Hello", " from", " here"]
    assert Stream("ollama", n=3, piece="ab").expected_text == "ababab"


def test_env_points_each_provider_here(provider_server: FakeProviderServer) -> None:
    env = provider_server.env("openai", "anthropic", "google", "ollama", api_key="k")
    assert env["OPENAI_BASE_URL"] == env["MESOCLAW_OPENAI_BASE_URL"] == provider_server.url + "/openai/v1"
    assert env["ANTHROPIC_BASE_URL"] == provider_server.url + "/anthropic"
    assert env["MESOCLAW_GOOGLE_BASE_URL"] == provider_server.url + "/google/v1beta/openai"
    assert env["OPENAI_API_KEY"] == env["ANTHROPIC_API_KEY"] == env["GOOGLE_API_KEY"] == "k"
    assert parse_ollama_host(env["OLLAMA_HOST"]) == provider_server.url + "/ollama"
    assert not any(name.startswith("OLLAMA_API") for name in env)


def test_serves_another_process(provider_server: FakeProviderServer) -> None:
    code = (
        "import httpx, sys\n"
        "r = httpx.post(sys.argv[1], json={'model': 'm', 'messages': []}, timeout=5)\n"
        "print(r.status_code, r.text.count('event: content_block_delta'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, provider_server.url + "/anthropic/v1/messages"],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["200", str(len(Stream("anthropic").deltas))]


def test_several_servers_at_once() -> None:
    with FakeProviderServer(reply="one") as a, FakeProviderServer(reply="two") as b:
        assert a.port != b.port
        with httpx.Client() as c:
            assert b'"one"' in c.post(a.url + "/v1/chat/completions", json={}).content
            assert b'"two"' in c.post(b.url + "/v1/chat/completions", json={}).content


def test_stop_releases_hanging_requests() -> None:
    server = FakeProviderServer().start()
    server.script("*", Hang())
    with httpx.Client(timeout=0.2) as c, pytest.raises(httpx.ReadTimeout):
        c.get(server.url + "/x")
    server.stop()  # returns although a handler was still waiting


def test_a_gate_holds_a_stream_after_k_deltas_until_released(provider_server: FakeProviderServer) -> None:
    gate = Gate()
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", ["a", "b", "c"], gate=gate,
                                                                       hold_after=2))
    with httpx.Client(timeout=10) as c, c.stream("POST", provider_server.base_url("openai") + "/chat/completions",
                                                 json={"model": "m"}) as response:
        lines = response.iter_lines()
        gate.wait()
        seen = ""
        while seen.count('"content":"') < 3:  # the role chunk's empty content, then "a" and "b"
            seen += next(lines)
        assert '"a"' in seen and '"b"' in seen and '"c"' not in seen
        assert gate.server_port == provider_server.port and gate.client_port
        gate.release()
        rest = "".join(lines)
    assert '"c"' in rest and "[DONE]" in rest


def test_held_answers_only_once_released_and_stopping_the_server_ends_the_hold() -> None:
    server = FakeProviderServer().start()
    gate = Gate()
    server.default("/x", Held(gate, Respond(200, {"ok": True})))
    server.script("/y", Held(Gate(), Respond(200)))
    with httpx.Client(timeout=10) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get(server.url + "/x", timeout=0.3)  # nothing until the test releases it
        assert gate.reached
        gate.release()
        assert c.get(server.url + "/x").json() == {"ok": True}  # a released gate stays open
        with pytest.raises(httpx.ReadTimeout):
            c.get(server.url + "/y", timeout=0.3)
    server.stop()  # returns although a response was still held


def test_refused_port_refuses() -> None:
    port = refused_port()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
