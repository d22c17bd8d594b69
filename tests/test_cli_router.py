"""`mesoclaw router …` as users and scripts run it: output, JSON shapes, exit codes, nothing changed on error."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from .conftest import REPO, run_mesoclaw


def db_path(home):
    return home / "mesoclaw.db"


def test_profile_show_set_and_persist(cli):
    assert json.loads(cli("router", "profile", "--json").out)["profile"] == "balanced"
    r = cli("router", "profile", "set", "eco")
    assert r.code == 0 and "eco" in r.out
    assert json.loads(cli("router", "profile", "--json").out)["profile"] == "eco"
    # a separate process sees it (the TUI and the CLI share one database)
    assert json.loads(run_mesoclaw("router", "profile", "--json").stdout)["profile"] == "eco"


def test_bad_profile_is_one_line_exit_2_and_changes_nothing(cli):
    cli("router", "profile", "set", "premium")
    r = cli("router", "profile", "set", "cheap")
    assert r.code == 2
    assert r.err.count("\n") == 1 and "eco, balanced, premium" in r.err
    assert json.loads(cli("router", "profile", "--json").out)["profile"] == "premium"


def test_task_override_set_show_clear(cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-1234567890")
    r = cli("router", "task", "code", "--set", "gpt-6-astra", "--json")
    view = json.loads(r.out)
    assert view["override"] == "gpt-6-astra"
    assert view["primary"] == {"provider": "openai", "model": "gpt-6-astra", "canonical": "gpt-6-astra"}
    assert view["chain"][0]["stage"] == "override"
    assert set(view) >= {"task", "primary", "chain", "override"}
    r = cli("router", "task", "code", "--clear", "--json")
    assert json.loads(r.out)["override"] is None
    assert json.loads(r.out)["primary"]["model"] == "gpt-6.1-sol"  # balanced code chain, OpenAI only


def test_task_override_accepts_seed_spelling_and_stores_canonical(cli):
    r = cli("router", "task", "creative", "--set", "claude-sonnet-4-5-20250219", "--json")
    assert json.loads(r.out)["override"] == "claude-sonnet-4.5"


@pytest.mark.parametrize("args,needle", [
    (("router", "task", "coding"), "code, general, fast, creative, analysis"),
    (("router", "task", "code", "--set", "gpt-5-ultra"), "mesoclaw router models"),
    (("router", "models", "--provider", "azure"), "openai, anthropic, google, groq, ollama, openrouter, vercel"),
    (("router", "models", "--tier", "cheap"), "low, medium, high"),
    (("router", "chain", "code", "--set", "gpt-4o,nope"), "unknown model 'nope'"),
    (("router", "models", "add", "openai", "x", "--tier", "mid"), "low, medium, high"),
    (("router", "nonsense",), "No such command"),
    (("router", "task", "code", "--set", ""), "empty model name"),
    (("router", "chain", "code", "--set", "gpt-4o,,o3"), "empty entry"),
    (("router", "models", "add", "openai", "x", "--tier", "low", "--price-in", "nan", "--price-out", "inf"),
     "must be a positive number"),
    (("router", "models", "add", "openai", "x", "--tier", "low", "--context", "99999999999999999999"),
     "context_window must be a positive number"),
    (("router", "models", "add", "openai", "gpt-4o", "--tier", "low"), "built-in model"),
])
def test_bad_input_exit_2_one_line(cli, args, needle):
    before = cli("router", "export", "--json").out
    r = cli(*args)
    assert r.code == 2, r
    assert r.err.strip().count("\n") == 0 and needle in r.err
    assert "Traceback" not in r.err + r.out
    assert cli("router", "export", "--json").out == before


def test_custom_chain_set_and_clear(cli, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-abcdef")
    view = json.loads(cli("router", "chain", "analysis", "--set", "claude-haiku-5.5,claude-opus-5.5", "--json").out)
    assert view["custom_route"] == ["claude-haiku-5.5", "claude-opus-5.5"]
    assert view["primary"]["model"] == "claude-haiku-5-5"
    view = json.loads(cli("router", "chain", "analysis", "--clear", "--json").out)
    assert view["custom_route"] is None and view["primary"]["model"] == "claude-sonnet-5-5"


def test_models_list_filters_and_shape(cli, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test_0000")
    rows = json.loads(cli("router", "models", "--json").out)
    assert len(rows) >= 30
    keys = {"provider", "model", "cost_tier", "context_window", "input_price", "output_price", "best_for",
            "available", "source", "price_source", "as_of", "approx", "status", "lifecycle", "retires", "successor",
            "capabilities", "note"}
    assert all(keys <= set(r) for r in rows)
    groq = json.loads(cli("router", "models", "--provider", "groq", "--json").out)
    assert {r["model"] for r in groq} == {"openai/gpt-oss-120b", "openai/gpt-oss-20b", "qwen/qwen3.8-27b",
                                          "llama-3.3-70b-versatile", "llama-3.1-8b-instant", "mixtral-8x7b-32768"}
    available = json.loads(cli("router", "models", "--available", "--json").out)
    assert {r["provider"] for r in available} == {"groq"}
    # Groq decommissioned its Llama models: listed, marked retired, never available
    assert {r["model"] for r in available} == {"openai/gpt-oss-120b", "openai/gpt-oss-20b", "qwen/qwen3.8-27b"}
    high = json.loads(cli("router", "models", "--tier", "high", "--json").out)
    assert {r["model"] for r in high} >= {"gpt-6-astra", "claude-opus-5-5"}
    # every builtin that can be routed to has a price (user models may not); a retired one is never routed to
    unknown = [r["model"] for r in rows if r["input_price"] is None and r["lifecycle"] != "retired"]
    assert unknown == []


def test_user_model_add_is_listed_routable_and_removable(cli, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test-9999")
    r = cli("router", "models", "add", "openrouter", "mistralai/mistral-large", "--tier", "medium",
            "--context", "128000", "--price-in", "2", "--price-out", "6")
    assert r.code == 0
    rows = json.loads(cli("router", "models", "--provider", "openrouter", "--json").out)
    mine = [r for r in rows if r["model"] == "mistralai/mistral-large"]
    assert mine and mine[0]["source"] == "user" and mine[0]["input_price"] == 2.0 and mine[0]["available"]
    view = json.loads(cli("router", "task", "general", "--set", "mistral-large", "--json").out)
    assert view["primary"] == {"provider": "openrouter", "model": "mistralai/mistral-large",
                               "canonical": "mistral-large"}
    # an unknown price stays unknown, never $0
    cli("router", "models", "add", "openai", "ft:gpt-4o:acme", "--tier", "medium")
    row = [r for r in json.loads(cli("router", "models", "--json").out) if r["model"] == "ft:gpt-4o:acme"][0]
    assert row["input_price"] is None
    assert "unknown" in cli("router", "models", "--provider", "openai").out
    assert cli("router", "models", "remove", "openai", "ft:gpt-4o:acme").code == 0
    r = cli("router", "models", "remove", "openai", "gpt-4o")
    assert r.code == 2 and "built-in models cannot be removed" in r.err


def test_price_needs_both_sides(cli):
    r = cli("router", "models", "add", "openai", "foo", "--tier", "low", "--price-in", "1")
    assert r.code == 2 and "--price-out" in r.err


def test_status_json_shape_and_human(cli, monkeypatch):
    view = json.loads(cli("router", "status", "--json").out)
    assert view["profile"] == "balanced" and set(view["tasks"]) == {"code", "general", "fast", "creative",
                                                                     "analysis"}
    assert all(t["primary"] is None for t in view["tasks"].values())
    assert view["providers"]["openai"] == {"configured": False, "key_source": "",
                                           "base_url": "https://api.openai.com/v1"}
    entry = view["tasks"]["code"]["chain"][0]
    assert set(entry) >= {"model", "provider", "available", "reason"}
    assert "ANTHROPIC_API_KEY" in entry["reason"]
    human = cli("router", "status").out
    assert "no provider is configured" in human and "OPENAI_API_KEY" in human
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:11434")
    view = json.loads(cli("router", "status", "--json").out)
    assert view["providers"]["ollama"]["configured"] is True
    assert view["tasks"]["code"]["primary"]["provider"] == "ollama"


def test_piped_output_is_plain(cli):
    out = cli("router", "models").out
    assert "\x1b[" not in out and "provider" in out


def test_export_import_roundtrip(cli, tmp_path):
    cli("router", "profile", "set", "premium")
    cli("router", "task", "fast", "--set", "gpt-4o-mini")
    cli("router", "chain", "code", "--set", "o3,gpt-4o")
    cli("router", "models", "add", "groq", "qwen/qwen3-32b", "--tier", "low", "--context", "131072")
    exported = tmp_path / "router.toml"
    assert cli("router", "export", str(exported)).code == 0
    text = exported.read_text()
    assert 'profile = "premium"' in text and "qwen/qwen3-32b" in text
    before = cli("router", "export", "--json").out
    assert cli("router", "reset").code == 0
    assert json.loads(cli("router", "profile", "--json").out)["profile"] == "balanced"
    assert cli("router", "import", str(exported)).code == 0
    assert cli("router", "export", "--json").out == before


@pytest.mark.parametrize("body,needle", [
    ('[router]\nprofile = "turbo"\n', "router.profile must be one of eco, balanced, premium, got the string 'turbo'"),
    ('[router]\nprofile = "eco"\n[router.task_overrides]\ncoding = "gpt-4o"\n', "unknown task 'coding'"),
    ('[router]\nprofile = "eco"\n[router.task_overrides]\ncode = "gpt-9"\n', "unknown model 'gpt-9'"),
    ('[router]\nprofile = "eco"\n[router.custom_routes]\ncode = ["gpt-4o", "nope-1"]\n', "unknown model 'nope-1'"),
    ('[router]\nprofile = "eco"\n[[models]]\nprovider = "acme"\nmodel = "x"\ntier = "low"\n', "models[1].provider must be one of openai"),
    ('', "names nothing to import"),
    ('format = 2\n[router]\nprofile = "eco"\n', "format must be 1"),
    ('[router]\n[[models]]\nprovider = "groq"\nmodel = "a"\ntier = "low"\ninput_price = nan\n'
     'output_price = 1.0\n', "models[1].input_price must be a number from 0 to 10,000 (USD per 1M tokens), got nan"),
    ('[router]\n[[models]]\nprovider = "groq"\nmodel = "a"\ntier = "low"\n'
     '[[models]]\nprovider = "groq"\nmodel = "a"\ntier = "high"\n', "twice"),
    ('[router]\n[[models]]\nprovider = "openai"\nmodel = "gpt-4o"\ntier = "low"\n', "built-in model"),
    ('this is = not = toml', "not valid TOML"),
])
def test_import_of_bad_file_changes_nothing(cli, tmp_path, body, needle):
    cli("router", "profile", "set", "premium")
    cli("router", "task", "code", "--set", "o3")
    before = cli("router", "export").out
    bad = tmp_path / "bad.toml"
    bad.write_text(body)
    r = cli("router", "import", str(bad))
    assert r.code == 2 and needle in r.err and r.err.count("\n") == 1
    assert cli("router", "export").out == before


def test_corrupt_json_column_is_one_line_exit_1(cli, isolated_env):
    cli("router", "profile")
    with sqlite3.connect(db_path(isolated_env)) as conn:
        conn.execute("UPDATE router_config SET task_overrides = '{\"code\": ' WHERE id = 1")
    r = cli("router", "status")
    assert r.code == 1 and "task_overrides" in r.err and "mesoclaw router reset" in r.err
    assert r.err.count("\n") == 1
    assert cli("router", "reset").code == 0
    assert cli("router", "status").code == 0


HEAVY = ("textual", "httpx", "rich", "pydantic", "genai_prices", "mesoclaw_tui.core.price_data")


@pytest.mark.parametrize("refreshed", [False, True])
def test_headless_commands_import_neither_textual_nor_httpx_nor_the_price_data(cli, isolated_env, refreshed):
    """Nor pydantic, genai-prices or the generated price data (~200 KB): a refresh prices what it
    lists when it lists it, so reading the registry afterwards needs none of it."""
    cli("router", "profile")
    if refreshed:  # as `router models refresh` leaves it: a listing with a new model, priced from the data
        with sqlite3.connect(db_path(isolated_env)) as conn:
            conn.execute("INSERT INTO provider_state (provider, refreshed_at) VALUES ('openai', 1764547200)")
            conn.execute("INSERT INTO provider_models (provider, model_id, input_price, output_price, listed_at, "
                         "price_source, price_as_of) VALUES ('openai', 'gpt-5', 1.25, 10.0, 1764547200, "
                         "'genai-prices 0.2.3 (openai:gpt-5)', '2026-11-03')")
            conn.execute("INSERT INTO user_models (provider, model_id, canonical, cost_tier, input_price, output_price, "
                         "price_source, price_as_of) VALUES ('openrouter', 'mistralai/mistral-large', 'mistral-large', "
                         "'medium', 2.0, 6.0, 'genai-prices 0.2.3 (openrouter:mistralai/mistral-large)', '2026-11-03')")
    code = textwrap.dedent(f"""
        import sys
        from mesoclaw_tui.cli.main import main
        for args in (["router", "status", "--json"], ["router", "models", "--json"], ["router", "profile"],
                     ["router", "models", "--outdated", "--json"]):
            assert main(args) == 0
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] in ("[]", "['rich']")
    if refreshed:
        assert '"price_source": "genai-prices 0.2.3 (openai:gpt-5)"' in out


def test_concurrent_writers_lose_nothing(isolated_env):
    """Two processes alternating 200 set/clear on different tasks: every last write survives."""
    script = textwrap.dedent("""
        import sys
        from mesoclaw_tui.cli.main import main
        task, model = sys.argv[1], sys.argv[2]
        for i in range(200):
            args = ["router", "task", task, "--set", model] if i % 2 == 0 else ["router", "task", task, "--clear"]
            if main(args + ["--json"]) != 0:
                sys.exit(1)
        sys.exit(main(["router", "task", task, "--set", model, "--json"]))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, task, model], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, cwd=REPO)
             for task, model in (("code", "o3"), ("fast", "gpt-4o-mini"))]
    errors = [p.communicate(timeout=240)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert not any("locked" in e for e in errors)
    with sqlite3.connect(db_path(isolated_env)) as conn:
        overrides = json.loads(conn.execute("SELECT task_overrides FROM router_config").fetchone()[0])
    assert overrides == {"code": "o3", "fast": "gpt-4o-mini"}


def test_db_option_overrides_location(cli, tmp_path):
    other = tmp_path / "elsewhere" / "m.db"
    r = cli("--db", str(other), "router", "profile", "set", "eco")
    assert r.code == 2 and "is not a directory" in r.err and not other.parent.exists()
    other.parent.mkdir()
    assert cli("--db", str(other), "router", "profile", "set", "eco").code == 0
    assert other.exists() and oct(other.stat().st_mode & 0o777) == "0o600"
    assert json.loads(cli("router", "profile", "--json").out)["profile"] == "balanced"


@pytest.mark.parametrize("keys", [("OPENAI_API_KEY",), ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"),
                                  ("OPENROUTER_API_KEY",)])
def test_each_chain_entry_shows_once_and_its_availability_agrees_with_its_reason(cli, monkeypatch, keys):
    """Issue 11: `{"provider":"openrouter","available":true,"reason":"not configured: …"}` and a chain
    shown as `gemini… ✗ → gpt… ✓ → gpt… ✓` (the fallback repeating the chain) never happen."""
    for key in keys:
        monkeypatch.setenv(key, "k-test-0000")
    cli("router", "chain", "analysis", "--set", "claude-sonnet-5.5,gpt-6-astra")
    cli("router", "task", "code", "--set", "gpt-6.1-sol")
    for profile in ("eco", "balanced", "premium"):
        cli("router", "profile", "set", profile)
        for task, view in json.loads(cli("router", "status", "--json").out)["tasks"].items():
            shown = [e["resolves_to"] or e["model"] for e in view["chain"]]
            assert len(shown) == len(set(shown)), (profile, task, shown)
            for entry in view["chain"]:
                assert entry["available"] == entry["reason"].startswith("kept"), (profile, task, entry)
            assert json.loads(cli("router", "task", task, "--json").out)["chain"] == view["chain"]
    fast = json.loads(cli("router", "task", "fast", "--json").out)["chain"]  # premium: sonnet, sol; fallback sonnet
    assert [e["model"] for e in fast if e["stage"] != "tier"].count("claude-sonnet-5.5") == 1
