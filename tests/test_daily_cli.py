"""The daily tools from the command line, against a real HTTP server on 127.0.0.1 (the fake provider):
`ask --system` kept by the conversation (--continue, --conversation), `ask --preset`, `ask --regenerate`
and `--escalate`, `presets …`, `budget …`, and the budget in `ask`, `router status` and `router usage`.
Bad input exits 2 and changes nothing."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from mesoclaw_tui.core.registry import BUILTIN_MODELS

from .fakes.provider_server import FakeProviderServer, Stream

TIERS = {(m.provider, m.model_id): m.cost_tier.value for m in BUILTIN_MODELS}
RANK = {"low": 0, "medium": 1, "high": 2}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, provider_server: FakeProviderServer) -> FakeProviderServer:
    for name, value in provider_server.env("openai", api_key="sk-test-daily-0001").items():
        monkeypatch.setenv(name, value)
    return provider_server


def requests(server: FakeProviderServer) -> list[dict]:
    return [r.json for r in server.requests_to(server.chat_path("openai"))]


def system_of(request: dict) -> str | None:
    first = request["messages"][0]
    return first["content"] if first["role"] in ("system", "developer") else None


def db(home: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(home / "mesoclaw.db")
    conn.row_factory = sqlite3.Row
    return conn


def counts(home: Path) -> tuple[int, int, int]:
    """Conversations, messages and presets: what bad input must leave as it was."""
    if not (home / "mesoclaw.db").exists():
        return 0, 0, 0
    with db(home) as conn:
        return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
                     for t in ("conversations", "messages", "presets"))


# the system prompt belongs to the conversation (issue 11, item 14) -----------------------------------


def test_the_system_prompt_is_kept_for_continue_and_conversation_id(cli, server, isolated_env) -> None:
    first = cli("ask", "--json", "--system", "Answer in French.", "--task", "fast", "capital of Italy?")
    assert first.code == 0, first.err
    conversation = json.loads(first.out)["conversation_id"]
    assert cli("ask", "-q", "--continue", "and of Spain?").code == 0
    assert cli("ask", "-q", "--conversation", str(conversation), "and of Peru?").code == 0
    sent = requests(server)
    assert [system_of(r) for r in sent] == ["Answer in French."] * 3
    assert [m["content"] for m in sent[2]["messages"][1:]] == [
        "capital of Italy?", server.reply, "and of Spain?", server.reply, "and of Peru?"]

    # --system on a continued conversation replaces its system prompt, "" removes it
    assert cli("ask", "-q", "--continue", "--system", "Answer in German.", "und Chile?").code == 0
    assert cli("ask", "-q", "--continue", "and Bolivia?").code == 0
    assert [system_of(r) for r in requests(server)[-2:]] == ["Answer in German."] * 2
    assert cli("ask", "-q", "--continue", "--system", "", "and Ecuador?").code == 0
    assert system_of(requests(server)[-1]) is None
    with db(isolated_env) as conn:
        assert [tuple(r) for r in conn.execute("SELECT system_prompt FROM conversations")] == [(None,)]


def test_a_bad_conversation_or_flag_combination_exits_2_and_changes_nothing(cli, server, isolated_env) -> None:
    assert cli("ask", "-q", "--task", "fast", "hello").code == 0
    before = counts(isolated_env)
    for args, words in (
        (("--conversation", "999", "hi"), "no conversation 999"),
        (("--continue", "--conversation", "1", "hi"), "not both"),
        (("--regenerate", "--escalate"), "not both"),
        (("--regenerate", "a new prompt"), "give no prompt"),
        (("--escalate", "--continue"), "last conversation already"),
        (("--preset", "nosuch", "hi"), "no preset 'nosuch'"),
        (("--escalate", "--model", "nosuch"), "unknown model 'nosuch'"),
    ):
        r = cli("ask", *args)
        assert r.code == 2 and words in r.err and r.err.count("\n") == 1, (args, r.err)
        assert counts(isolated_env) == before, args
    assert len(requests(server)) == 1


# presets ------------------------------------------------------------------------------------------------


def test_presets_add_list_show_rm(cli, isolated_env, tmp_path) -> None:
    assert "no presets yet" in cli("presets").out
    prompt_file = tmp_path / "reviewer.md"
    prompt_file.write_text("You review code.\nBe brief.\n")
    r = cli("presets", "add", "reviewer", "--system-file", str(prompt_file), "--profile", "premium",
            "--model", "gpt-6.1-sol", "--temperature", "0.2", "--max-tokens", "800")
    assert r.code == 0 and "added preset reviewer" in r.out
    assert cli("presets", "add", "terse", "--system", "One sentence.").code == 0
    listed = json.loads(cli("presets", "list", "--json").out)
    assert [p["name"] for p in listed] == ["reviewer", "terse"]
    assert listed[0] == {"name": "reviewer", "system": "You review code.\nBe brief.\n", "profile": "premium",
                         "model": "gpt-6.1-sol", "temperature": 0.2, "max_tokens": 800}
    shown = cli("presets", "show", "reviewer").out
    assert "profile: premium" in shown and "You review code." in shown and "max tokens: 800" in shown

    # a name that exists is refused; --replace replaces all of it
    r = cli("presets", "add", "terse", "--system", "Two sentences.")
    assert r.code == 2 and "exists: give --replace" in r.err
    r = cli("presets", "add", "TERSE", "--system", "Two sentences.", "--replace", "--json")
    assert r.code == 0 and json.loads(r.out)["replaced"] is True
    assert json.loads(cli("presets", "show", "terse", "--json").out)["system"] == "Two sentences."

    assert cli("presets", "rm", "terse").code == 0
    assert [p["name"] for p in json.loads(cli("presets", "--json").out)] == ["reviewer"]


@pytest.mark.parametrize("args, words", [
    (("add", "x"), "needs at least one of"),
    (("add", "bad name", "--system", "s"), "a preset name is 1 to 40"),
    (("add", "x", "--temperature", "3"), "temperature must be a number from 0 to 2"),
    (("add", "x", "--max-tokens", "0"), "max tokens must be a whole number"),
    (("add", "x", "--profile", "cheap"), "unknown profile 'cheap'"),
    (("add", "x", "--model", "nosuch"), "unknown model 'nosuch'"),
    (("add", "x", "--system", "a", "--system-file", "f"), "not both"),
    (("add", "x", "--system-file", "/nonexistent/file"), "cannot read /nonexistent/file"),
    (("show", "nosuch"), "no preset 'nosuch' (presets: keep"),
    (("rm", "nosuch"), "no preset 'nosuch'"),
])
def test_bad_preset_input_exits_2_and_changes_nothing(cli, isolated_env, args, words) -> None:
    assert cli("presets", "add", "keep", "--system", "kept").code == 0
    before = counts(isolated_env)
    r = cli("presets", *args)
    assert r.code == 2 and words in r.err and r.err.count("\n") == 1, r.err
    assert counts(isolated_env) == before
    assert json.loads(cli("presets", "show", "keep", "--json").out)["system"] == "kept"


def test_ask_with_a_preset_sends_its_settings_and_the_conversation_keeps_them(cli, server, isolated_env) -> None:
    assert cli("presets", "add", "terse", "--system", "One sentence.", "--model", "gpt-6.1-sol",
               "--max-tokens", "300").code == 0
    r = cli("ask", "-q", "--preset", "terse", "why is the sky blue?")
    assert r.code == 0, r.err
    assert cli("ask", "-q", "--continue", "and the sea?").code == 0
    for request in requests(server):
        assert system_of(request) == "One sentence." and request["model"] == "gpt-6.1-sol"
        assert request["max_completion_tokens"] == 300
    with db(isolated_env) as conn:
        row = conn.execute("SELECT preset, system_prompt, model_override, max_tokens FROM conversations").fetchone()
    assert tuple(row) == ("terse", "One sentence.", "gpt-6.1-sol", 300)


# regenerate and escalate ---------------------------------------------------------------------------------


def test_regenerate_keeps_the_earlier_reply_and_sends_the_same_question(cli, server, isolated_env) -> None:
    server.script(server.chat_path("openai"), Stream("openai", "first"), Stream("openai", "second"))
    assert cli("ask", "-q", "--task", "fast", "name a colour").code == 0
    r = cli("ask", "--regenerate")
    assert r.code == 0, r.err
    assert r.out == "second\n" and "regenerating the last reply of conversation 1" in r.err
    assert "alternative 2/2 of the last exchange" in r.err
    first, second = requests(server)
    assert second["messages"] == first["messages"] == [{"role": "user", "content": "name a colour"}]
    with db(isolated_env) as conn:
        rows = conn.execute("SELECT role, content, hidden, alt_group FROM messages ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [("user", "name a colour", 1, 1), ("assistant", "first", 1, 1),
                                        ("user", "name a colour", 0, 1), ("assistant", "second", 0, 1)]
    # the next turn follows what is shown: the second reply
    assert cli("ask", "-q", "--continue", "another").code == 0
    assert [m["content"] for m in requests(server)[-1]["messages"]] == ["name a colour", "second", "another"]


def test_escalate_asks_a_higher_tier_and_router_usage_counts_it(cli, server, isolated_env) -> None:
    assert cli("router", "profile", "set", "eco").code == 0
    assert cli("ask", "-q", "--task", "fast", "what is 2+2?").code == 0
    r = cli("ask", "--json", "--escalate")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    first, second = requests(server)
    assert RANK[TIERS[("openai", second["model"])]] > RANK[TIERS[("openai", first["model"])]]
    assert data["alternative"] == [2, 2]
    assert data["escalation"]["from_model"] == first["model"] and data["escalation"]["from_tier"] == "low"
    assert data["escalation"]["task"] == "fast" and data["escalation"]["how"] == "next_tier"

    # or to a model the user picks
    r = cli("ask", "--escalate", "--model", "gpt-6-astra")
    assert r.code == 0 and requests(server)[-1]["model"] == "gpt-6-astra"
    assert "alternative 3/3" in r.err

    usage = json.loads(cli("router", "usage", "--json").out)
    fast = usage["escalations"]["fast"]
    # one first choice, escalated (twice: the second time from the escalated reply)
    assert (fast["replies"], fast["escalated"], fast["escalations"], fast["rate"]) == (1, 1, 2, 1.0)
    assert sum(fast["paths"].values()) == 2
    text = cli("router", "usage").out
    assert "escalations by task" in text and "fast" in text and "gpt-6-astra (high)" in text


def test_nothing_to_regenerate_exits_2(cli, server, isolated_env) -> None:
    for flag in ("--regenerate", "--escalate"):
        r = cli("ask", flag)
        assert r.code == 2 and "there is no conversation" in r.err
    assert counts(isolated_env) == (0, 0, 0) and requests(server) == []


# budgets ---------------------------------------------------------------------------------------------------


def spend(home: Path, cost: float | None, profile: str = "balanced", *, n: int = 1) -> None:
    with db(home) as conn:
        for _ in range(n):
            conn.execute("INSERT INTO usage (created_at, source, profile, provider, model, cost_usd, outcome) "
                         "VALUES (?, 'ask', ?, 'openai', 'gpt-6.1-sol', ?, 'ok')", (time.time(), profile, cost))


def test_budget_set_show_clear(cli, isolated_env) -> None:
    assert "no budget set" in cli("budget").out
    assert cli("budget", "set", "--daily", "5", "--monthly", "50").code == 0
    assert cli("budget", "set", "--profile", "premium", "--daily", "1", "--over", "refuse").code == 0
    config = (isolated_env / "config.toml").read_text()
    assert "[budget]" in config and "[budget.premium]" in config and 'over = "refuse"' in config
    spend(isolated_env, 2.0)
    spend(isolated_env, None, n=3)  # a model without a price: counted as unknown, never as $0
    report = json.loads(cli("budget", "show", "--json").out)
    daily = next(x for x in report["limits"] if (x["scope"], x["period"]) == ("overall", "daily"))
    assert (daily["spent_usd"], daily["unknown_cost_requests"], daily["limit_usd"]) == (2.0, 3, 5.0)
    assert report["over"] == {"overall": "downgrade", "premium": "refuse"}
    shown = cli("budget", "show").out
    assert "≥ $2.00 (3 requests of unknown cost)" in shown and "premium daily budget" in shown
    status = cli("router", "status").out
    assert "daily budget" in status and "≥ $2.00" in status
    assert json.loads(cli("router", "status", "--json").out)["budget"]["set"] is True
    assert "monthly budget" in cli("router", "usage").out

    assert cli("budget", "clear", "--profile", "premium").code == 0
    assert "[budget.premium]" not in (isolated_env / "config.toml").read_text()
    assert cli("budget", "clear", "--daily").code == 0
    limits = json.loads(cli("budget", "--json").out)["limits"]
    assert [(x["scope"], x["period"]) for x in limits] == [("overall", "monthly")]
    assert cli("budget", "clear", "--all").code == 0
    assert "no budget set" in cli("budget").out


@pytest.mark.parametrize("args, words", [
    (("set",), "give --daily USD"),
    (("set", "--daily", "-1"), "--daily must be an amount in USD"),
    (("set", "--monthly", "lots"), "--monthly must be an amount in USD"),
    (("set", "--daily", "5", "--over", "maybe"), "--over must be one of: downgrade, refuse"),
    (("set", "--daily", "5", "--profile", "cheap"), "unknown profile 'cheap'"),
    (("clear", "--all", "--daily"), "--all removes every budget"),
])
def test_bad_budget_input_exits_2_and_changes_nothing(cli, isolated_env, args, words) -> None:
    assert cli("budget", "set", "--daily", "3").code == 0
    before = (isolated_env / "config.toml").read_text()
    r = cli("budget", *args)
    assert r.code == 2 and words in r.err and r.err.count("\n") == 1, r.err
    assert (isolated_env / "config.toml").read_text() == before


def test_ask_warns_at_80_percent_moves_to_eco_at_100_and_refuses_when_told(cli, server, isolated_env) -> None:
    assert cli("budget", "set", "--daily", "1").code == 0
    spend(isolated_env, 0.85)
    r = cli("ask", "--task", "general", "hello")
    assert r.code == 0 and "mesoclaw: budget: $0.85 of $1.00 today (85%)" in r.err
    assert requests(server)[-1]["model"] == "gpt-6.1-sol"  # balanced's choice, still

    spend(isolated_env, 0.20)
    r = cli("ask", "--json", "--task", "general", "hello again")
    assert r.code == 0
    assert requests(server)[-1]["model"] == "gpt-6-luna"  # eco's choice
    data = json.loads(r.out)
    assert data["profile"] == "eco" and "routed with eco instead of balanced" in data["budget"]

    assert cli("budget", "set", "--over", "refuse").code == 0
    sent = len(requests(server))
    r = cli("ask", "--task", "general", "once more")
    assert r.code == 6 and "requests are refused until tomorrow" in r.err
    assert len(requests(server)) == sent
