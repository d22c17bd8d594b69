"""`mesoclaw ask` end to end: a real subprocess, real HTTP to local provider servers, real exit codes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from .conftest import PROVIDER_ENV, run_mesoclaw
from .fakes.provider_server import Gate, Respond, Stream
from .waiting import read_until, wait_caught_up

OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
CANARY = "sk-canary-7f3e9a1b2c4d5e6f"


@pytest.fixture
def env(provider_server, isolated_env):
    return {"MESOCLAW_HOME": str(isolated_env),
            **provider_server.env("openai", "anthropic", api_key="sk-test-ask-0001")}


def test_fallback_across_providers_end_to_end(env, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"), Respond(529, OVERLOADED))
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", ["def ", "f(): ..."]))
    r = run_mesoclaw("ask", "--task", "code", "write a function", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "def f(): ...\n"
    assert "attempt 1: anthropic:claude-sonnet-5-5 overloaded: Overloaded" in r.stderr
    assert "code -> openai:gpt-6.1-sol" in r.stderr and "fallbacks: anthropic" in r.stderr


def test_json_output_shape(env, provider_server):
    r = run_mesoclaw("ask", "--json", "--task", "fast", "hi", env=env)
    data = json.loads(r.stdout)
    assert set(data) >= {"text", "task", "profile", "provider", "model", "status", "failure", "attempts", "usage",
                         "conversation_id"}
    assert set(data["usage"]) == {"input_tokens", "output_tokens", "cost_usd", "estimated"}
    assert set(data["attempts"][0]) == {"number", "provider", "model", "outcome", "error", "ms", "retried",
                                        "finish_reason"}
    assert data["finish_reason"] == "stop" and data["tool_calls"] == []
    assert (data["status"], data["failure"], data["attempts"][0]["number"]) == ("complete", None, 1)
    assert data["task"] == "fast" and data["model"] == "gpt-6-luna" and r.stderr == ""


def test_stdin_is_appended_as_context(env, provider_server):
    r = run_mesoclaw("ask", "-q", "--task", "analysis", "summarize this", input="line one\nline two\n", env=env)
    assert r.returncode == 0
    content = provider_server.last_request.json["messages"][-1]["content"]
    assert content.startswith("summarize this\n\n") and "line two" in content
    r = run_mesoclaw("ask", "-q", "--task", "fast", input="only stdin", env=env)
    assert provider_server.last_request.json["messages"][-1]["content"] == "only stdin"


def test_no_provider_configured_exit_3(isolated_env):
    r = run_mesoclaw("ask", "--task", "fast", "hi", env={"MESOCLAW_HOME": str(isolated_env)})
    assert r.returncode == 3
    assert "OPENAI_API_KEY" in r.stderr and "OLLAMA_HOST" in r.stderr and r.stderr.count("\n") == 1


def test_every_candidate_failed_exit_4_one_line_per_attempt(env, provider_server):
    provider_server.default("*", Respond(503, {"error": {"message": "unavailable"}}))
    r = run_mesoclaw("ask", "--task", "code", "x", env=env)
    assert r.returncode == 4
    lines = r.stderr.splitlines()
    attempts = [ln for ln in lines if ln.startswith("mesoclaw: attempt ")]
    assert len(attempts) == 2 and "anthropic" in attempts[0] and "openai" in attempts[1]
    assert len(lines) == 3 and "every candidate failed (2 attempts)" in lines[-1]
    quiet = run_mesoclaw("ask", "-q", "--task", "code", "x", env=env)  # cooling providers are still tried
    assert quiet.returncode == 4 and len(quiet.stderr.splitlines()) == 3


@pytest.mark.parametrize("args,needle", [
    (("ask",), "give a prompt"),
    (("ask", "--task", "poetry", "x"), "code, general, fast, creative, analysis"),
    (("ask", "--profile", "max", "x"), "eco, balanced, premium"),
    (("ask", "--model", "gpt-9", "x"), "unknown model 'gpt-9'"),
])
def test_bad_input_exit_2(env, args, needle):
    r = run_mesoclaw(*args, env=env, input="")
    assert r.returncode == 2 and needle in r.stderr and r.stderr.count("\n") == 1


def test_mid_stream_failure_prints_partial_and_says_so(env, provider_server):
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", ["half ", "way"], error_after=1))
    r = run_mesoclaw("ask", "--model", "gpt-4o", "x", env=env)
    assert r.returncode == 1 and r.stdout == "half \n" and "incomplete" in r.stderr


def test_ctrl_c_exits_130_and_keeps_partial_reply(env, provider_server, isolated_env):
    gate = Gate()  # "kept ", then the reply waits: Ctrl+C comes mid-reply
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", ["kept ", "lost"], gate=gate,
                                                                       hold_after=1))
    full_env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV} | env
    proc = subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", "ask", "--model", "gpt-4o", "x"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
    try:
        assert read_until(proc.stdout, "kept ") == "kept "  # printed as it came
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        gate.release()
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        status, content = conn.execute("SELECT status, content FROM messages WHERE role='assistant'").fetchone()
    assert (status, content) == ("cancelled", "kept ")


def test_json_on_ctrl_c_still_prints_the_partial_reply(env, provider_server):
    gate = Gate()
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", ["kept ", "lost"], gate=gate,
                                                                       hold_after=1))
    full_env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV} | env
    proc = subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", "ask", "--json", "--model", "gpt-4o", "x"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
    try:
        wait_caught_up(proc.pid, gate)  # it has "kept " (--json prints nothing until the end)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        gate.release()
        proc.kill()
    assert proc.returncode == 130
    data = json.loads(out)
    assert data["status"] == "cancelled" and data["text"] == "kept "


def test_text_that_is_not_utf8_is_accepted(env, provider_server):
    full_env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV} | env
    r = subprocess.run([sys.executable, "-m", "mesoclaw_tui", "ask", "-q", "--task", "fast", "explain"],
                       input=b"caf\xe9 au lait", capture_output=True, env=full_env)
    assert r.returncode == 0, r.stderr
    assert "caf\ufffd au lait" in provider_server.last_request.json["messages"][-1]["content"]


def test_max_tokens_is_capped_at_the_models_max_output(env, provider_server):
    run_mesoclaw("ask", "-q", "--model", "gpt-4o-mini", "--max-tokens", "100000", "x", env=env)
    assert provider_server.last_request.json["max_tokens"] == 16_384


def test_model_flag_with_an_unconfigured_provider_says_why(env):
    r = run_mesoclaw("ask", "--model", "openrouter:openai/gpt-4o", "x", env=env)
    assert r.returncode == 4 and "openrouter:openai/gpt-4o cannot be used now" in r.stderr
    assert "OPENROUTER_API_KEY" in r.stderr


def test_continue_uses_the_last_conversation(env, provider_server):
    run_mesoclaw("ask", "-q", "--task", "code", "write a parser", env=env)
    run_mesoclaw("ask", "-q", "--task", "code", "--continue", "add tests", env=env)
    msgs = provider_server.last_request.json["messages"]
    assert [m["content"] for m in msgs if m["role"] == "user"] == ["write a parser", "add tests"]


def test_usage_report_after_asks(env, provider_server):
    run_mesoclaw("ask", "-q", "--task", "fast", "hi", env=env)
    run_mesoclaw("ask", "-q", "--task", "code", "write code", env=env)
    data = json.loads(run_mesoclaw("router", "usage", "--json", env=env).stdout)
    assert data["total"]["requests"] == 2
    assert set(data["by_task"]) == {"fast", "code"}
    assert data["savings"]["baseline_cost_usd"] > data["savings"]["actual_cost_usd"]
    assert "premium profile's primary model" in data["savings"]["baseline"]
    assert "saved $" in run_mesoclaw("router", "usage", env=env).stdout


def test_canary_key_never_leaks(provider_server, isolated_env):
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", "anthropic", api_key=CANARY),
           "GROQ_API_KEY": CANARY}
    provider_server.script(provider_server.chat_path("anthropic"), Respond(401, {"type": "error", "error": {
        "type": "authentication_error", "message": f"invalid x-api-key {CANARY}"}}))
    outputs = []
    for args in (("ask", "--task", "code", "x"), ("ask", "--json", "--task", "fast", "y"),
                 ("router", "status"), ("router", "status", "--json"), ("router", "models", "--json"),
                 ("router", "test", "hello", "--json"), ("providers",), ("providers", "--json"),
                 ("providers", "check", "--json"), ("router", "usage", "--json"), ("router", "export")):
        r = run_mesoclaw(*args, env=env)
        outputs.append(r.stdout + r.stderr)
    joined = "\n".join(outputs)
    assert CANARY not in joined
    assert "…4d5e6f"[-4:] in joined  # shown masked
    for path in isolated_env.iterdir():
        assert CANARY.encode() not in path.read_bytes(), path
    # and it went only to its own provider's base URL
    for req in provider_server.requests:
        auth = req.headers.get("authorization", "") + req.headers.get("x-api-key", "")
        if CANARY in auth:
            assert req.path.startswith(("/openai/", "/anthropic/", "/groq/"))


# attempts and failures ------------------------------------------------------------------------------------

RATE_LIMITED = Respond(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
                       headers={"Retry-After": "1"})
CONTEXT_TOO_LONG = Respond(400, {"error": {"message": "This model's maximum context length is 128000 tokens.",
                                           "type": "invalid_request_error", "param": "messages",
                                           "code": "context_length_exceeded"}})
BIGGER_THAN_EVERY_WINDOW = "word " * 200_000  # ~250K tokens: more than any of Groq's models holds (131K)


def test_a_429_retry_is_the_next_numbered_attempt(env, provider_server):
    provider_server.script(provider_server.chat_path("anthropic"), RATE_LIMITED,
                           Respond(500, {"type": "error", "error": {"type": "api_error", "message": "boom"}}))
    r = run_mesoclaw("ask", "--task", "code", "write a function", env=env)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("mesoclaw: attempt ")]
    assert lines == [
        "mesoclaw: attempt 1: anthropic:claude-sonnet-5-5 rate_limit: slow down (retrying after 1s)",
        "mesoclaw: attempt 2: anthropic:claude-sonnet-5-5 server: boom",
    ]
    # the retry is not a fallback: the routing line names the one candidate given up on, once
    assert "fallbacks: anthropic:claude-sonnet-5-5 server)" in r.stderr

    provider_server.reset()
    provider_server.script(provider_server.chat_path("openai"), RATE_LIMITED)
    r = run_mesoclaw("ask", "--json", "--model", "openai:gpt-4o", "again", env=env)
    data = json.loads(r.stdout)
    assert [(a["number"], a["outcome"], a["retried"]) for a in data["attempts"]] == [
        (1, "rate_limit", True), (2, "ok", False)]
    assert data["status"] == "complete" and r.returncode == 0


def test_a_pinned_model_on_a_cooling_provider_is_still_tried(env, provider_server):
    provider_server.script(provider_server.chat_path("openai"), Respond(500, {"error": {"message": "boom"}}))
    failed = run_mesoclaw("ask", "--model", "openai:gpt-4o", "first", env=env)
    assert failed.returncode == 4 and "every candidate failed (1 attempt)" in failed.stderr
    r = run_mesoclaw("ask", "--model", "openai:gpt-4o", "second", env=env)  # openai now cools down
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Hello from the fake provider.\n"
    assert len(provider_server.requests_to(provider_server.chat_path("openai"))) == 2


def _no_provider(provider_server, isolated_env):
    return {"MESOCLAW_HOME": str(isolated_env)}, ("--task", "fast", "hi"), None


def _no_available_model(provider_server, isolated_env):
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", api_key="sk-test-ask-0001")}
    return env, ("--model", "claude-haiku-4.5", "hi"), None


def _too_large_for_every_window(provider_server, isolated_env):
    # Groq alone: today's OpenAI and Anthropic models hold a million tokens, Groq's 131K.
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("groq", api_key="sk-t-0001")}
    return env, ("--task", "analysis", "summarize this"), BIGGER_THAN_EVERY_WINDOW


def _every_model_says_too_long(provider_server, isolated_env):
    provider_server.default(provider_server.chat_path("openai"), CONTEXT_TOO_LONG)
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", api_key="sk-test-ask-0001")}
    return env, ("--task", "general", "summarize this"), None


def _bad_request(provider_server, isolated_env):
    provider_server.default(provider_server.chat_path("openai"), Respond(400, {"error": {
        "message": "temperature: must be <= 1", "type": "invalid_request_error"}}))
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", api_key="sk-test-ask-0001")}
    return env, ("--task", "fast", "hi"), None


def _all_failed(provider_server, isolated_env):
    provider_server.default("*", Respond(503, {"error": {"message": "unavailable"}}))
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", api_key="sk-test-ask-0001")}
    return env, ("--task", "fast", "hi"), None


def _incomplete(provider_server, isolated_env):
    provider_server.default(provider_server.chat_path("openai"), Stream("openai", ["half ", "way"], error_after=1))
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", api_key="sk-test-ask-0001")}
    return env, ("--task", "fast", "hi"), None


def _missing_capability(provider_server, isolated_env, tmp_path):
    image = tmp_path / "pixel.png"
    image.write_bytes(bytes.fromhex("89504e470d0a1a0a") + b"\0" * 40)
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("ollama", api_key="sk-test-ask-0001")}
    return env, ("--model", "llama-3.2-3b", "-a", str(image), "what is this?"), None


def _reply_too_large(provider_server, isolated_env):
    provider_server.default(provider_server.chat_path("openai"), Stream("openai", n=1000))
    env = {"MESOCLAW_HOME": str(isolated_env), "MESOCLAW_MAX_REPLY_CHARS": "100",
           **provider_server.env("openai", api_key="sk-test-ask-0001")}
    return env, ("--task", "fast", "hi"), None


def _budget_exceeded(provider_server, isolated_env):
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text('[budget]\ndaily = 0\nover = "refuse"\n')
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", api_key="sk-test-ask-0001")}
    return env, ("--task", "fast", "hi"), None


# failure kind -> how to cause it, the exit code, and words of the last stderr line
FAILURES = {
    "no_provider": (_no_provider, 3, "no provider is configured"),
    "no_available_model": (_no_available_model, 4, "claude-haiku-4.5 cannot be used now"),
    "context_too_large": (_too_large_for_every_window, 5, "too large for the context window of every"),
    "context_too_large (said by every model)": (_every_model_says_too_long, 5, "too long for the context window"),
    "bad_request": (_bad_request, 5, "temperature: must be <= 1"),
    "all_failed": (_all_failed, 4, "every candidate failed ("),
    "incomplete": (_incomplete, 1, "reply incomplete"),
    "missing_capability": (_missing_capability, 5, "no available model has image input"),
    "reply_too_large": (_reply_too_large, 1, "passed the cap of 100 characters"),
    "budget_exceeded": (_budget_exceeded, 6, "the daily budget of $0.00 is reached ($0.00 spent today)"),
}


@pytest.mark.parametrize("case", FAILURES)
def test_each_failure_kind_has_its_exit_code(case, provider_server, isolated_env, tmp_path):
    cause, code, words = FAILURES[case]
    extra = (tmp_path,) if cause is _missing_capability else ()
    env, args, stdin = cause(provider_server, isolated_env, *extra)
    r = run_mesoclaw("ask", "--json", *args, env=env, input=stdin)
    assert r.returncode == code, r.stderr
    assert json.loads(r.stdout)["failure"] == case.split()[0]
    assert words in r.stderr.splitlines()[-1] and "Traceback" not in r.stderr


def test_the_failure_table_covers_every_kind():
    from mesoclaw_tui.cli.ask import EXITS
    from mesoclaw_tui.core.failures import FailureKind

    assert set(EXITS) == set(FailureKind)
    # every kind a finished reply can carry is caused for real above (cancelled: by Ctrl+C, exit 130)
    assert {case.split()[0] for case in FAILURES} | {"cancelled"} == {k.value for k in FailureKind}
    assert EXITS[FailureKind.CANCELLED][0] == 130


def test_an_unknown_model_changes_nothing(env, isolated_env):
    r = run_mesoclaw("ask", "--model", "nosuch", "hi", env=env)
    assert r.returncode == 2 and "unknown model 'nosuch'" in r.stderr
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] == 0
