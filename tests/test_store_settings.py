"""The database (migrations keep data, WAL, schema shipped) and settings (keys, base URLs, config.toml)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat

import pytest

from mesoclaw_tui.core.provider_info import parse_ollama_host
from mesoclaw_tui.settings import load_settings, resolve_paths
from mesoclaw_tui.store import SCHEMA_VERSION, Store, schema_text, split_statements

from .conftest import REPO, run_mesoclaw
from .old_databases import v4_script

FIXTURE_V1 = REPO / "tests" / "fixtures" / "mesoclaw-schema-v1.sql"
FIXTURE_V3 = REPO / "tests" / "fixtures" / "mesoclaw-schema-v3.sql"


def test_schema_holds_the_seeds_router_config_table():
    text = schema_text()
    assert "id INTEGER PRIMARY KEY CHECK (id = 1)" in text
    assert "active_profile TEXT NOT NULL DEFAULT 'balanced'" in text
    assert "INSERT OR IGNORE INTO router_config (id, active_profile) VALUES (1, 'balanced');" in text
    assert all(s.endswith(";") for s in split_statements(text))


async def test_fresh_database_is_wal_with_the_current_version(tmp_path):
    store = await Store.open(tmp_path / "new.db")
    try:
        mode = (await (await store.conn.execute("PRAGMA journal_mode")).fetchone())[0]
        version = (await (await store.conn.execute("PRAGMA user_version")).fetchone())[0]
        config = await store.read_router_config()
    finally:
        await store.close()
    assert mode == "wal" and version == SCHEMA_VERSION and config.active_profile == "balanced"


def test_schema_v1_database_migrates_without_loss(tmp_path, cli, isolated_env):
    path = isolated_env / "mesoclaw.db"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(FIXTURE_V1.read_text())
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
    view = json.loads(cli("router", "status", "--json").out)
    assert view["profile"] == "premium"
    assert view["overrides"] == {"code": "o3"}
    assert view["custom_routes"] == {"analysis": ["gpt-4o", "claude-opus-4.5"]}
    models = json.loads(cli("router", "models", "--provider", "groq", "--json").out)
    mine = [m for m in models if m["model"] == "qwen/qwen3-32b" and m["source"] == "user"]
    assert mine and (mine[0]["input_price"], mine[0]["price_source"]) == (0.29, "user")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        listing_columns = {r[1] for r in conn.execute("PRAGMA table_info(provider_models)")}
    assert {"conversations", "messages", "usage", "provider_state"} <= tables
    assert {"price_source", "price_as_of", "price_approx"} <= listing_columns


def test_schema_v3_database_gains_price_sources_without_loss(tmp_path, cli, isolated_env, monkeypatch):
    """Schema 4 adds where a listed or user-added model's prices come from; rows written before keep
    their data, and a listing from before is priced from the data when read."""
    path = isolated_env / "mesoclaw.db"
    cli("router", "profile", "set", "eco")  # a current database, then taken back to schema 3
    with sqlite3.connect(path) as conn:
        for table in ("provider_models", "user_models"):
            for column in ("price_source", "price_as_of", "price_approx"):
                conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("INSERT INTO user_models (provider, model_id, canonical, cost_tier, input_price, output_price) "
                     "VALUES ('openrouter', 'acme/own', 'own', 'low', 1.0, 2.0)")
        conn.execute("INSERT INTO provider_state (provider, refreshed_at) VALUES ('openai', 1764547200)")
        conn.executemany("INSERT INTO provider_models (provider, model_id, listed_at) VALUES ('openai', ?, 1764547200)",
                         [(m,) for m in ("gpt-6-astra", "gpt-6.1-sol", "gpt-6.1-terra", "gpt-6-luna", "gpt-5")])
        conn.execute("PRAGMA user_version = 3")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0000")
    assert json.loads(cli("router", "profile", "--json").out)["profile"] == "eco"
    rows = {m["model"]: m for m in json.loads(cli("router", "models", "--json").out)}
    assert (rows["acme/own"]["input_price"], rows["acme/own"]["price_source"]) == (1.0, "user")
    assert (rows["gpt-5"]["input_price"], rows["gpt-5"]["price_source"]) == (1.25, "genai-prices 0.2.3")
    assert rows["gpt-4o-mini"]["status"] == "not listed by provider"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        user_columns = {r[1] for r in conn.execute("PRAGMA table_info(user_models)")}
    assert {"price_source", "price_as_of", "price_approx"} <= user_columns


async def test_schema_v3_database_migrates_to_heartbeat_counters_without_loss(tmp_path):
    """Schema 4 adds the heartbeat counters of claims and the lease (ALTER TABLE ADD COLUMN) and marks
    the file as mesoclaw's (application_id); a v3 file in use keeps its job, claim, run and lease."""
    from mesoclaw_tui.store.opening import APPLICATION_ID

    path = tmp_path / "v3.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(FIXTURE_V3.read_text())
    store = await Store.open(path)
    try:
        job = await store.job("standup")
        lease = await store.lease()
        run = await store.job_run(1)
    finally:
        await store.close()
    assert job["claimed_by"] == "scheduler:box:42:abc" and job["claim_beat"] == 0 and job["claim_renew_s"] is None
    assert lease["holder"] == "scheduler:box:42:abc" and lease["beat"] == 0 and lease["renew_s"] is None
    assert run["status"] == "running"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 4
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("SELECT active_profile FROM router_config").fetchone()[0] == "eco"


async def test_schema_v4_database_gains_system_prompts_alternatives_presets_and_budgets_without_loss(tmp_path):
    """Schema 5 adds what a conversation keeps (system prompt, preset settings) and alternatives
    (ALTER TABLE ADD COLUMN), and the presets and escalations tables and the spend index (schema.sql):
    a v4 file keeps its conversation, messages, usage and job, and every old message is shown."""
    from mesoclaw_tui.service import RouterService

    path = tmp_path / "v4.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(v4_script("exchanges"))
    service = RouterService(await Store.open(path), load_settings(resolve_paths(str(path), {}), {}))
    try:
        conversation = await service.require_conversation(1)
        page = await service.transcript(1, limit=10)
        history = await service.answered_history(1)
        exchange = await service.last_exchange(1)
        spend = await service.spend(now=1764547300)
        presets = await service.presets()
        job = await service.job("standup")
    finally:
        await service.close()
    assert conversation.title == "Sorting in Python" and conversation.system_prompt is None
    assert conversation.settings.preset is None and conversation.profile is None
    assert [e.content for e in page.entries] == ["How do I sort a list?", "Use sorted().", "And in place?",
                                                 "list.sort()."]
    assert all(e.alternative == (0, 0) for e in page.entries) and len(history) == 4
    assert exchange is not None and exchange.prompt == "And in place?" and exchange.count == 1
    month, _day = spend["premium"]
    assert month.known == pytest.approx(0.00022) and month.unknown == 1  # the unpriced reply is not $0
    assert presets == [] and job is not None and job.name == "standup"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"usage_spend", "escalations_by_time"} <= indexes
        hidden = conn.execute("SELECT COUNT(*) FROM messages WHERE hidden = 0").fetchone()[0]
    assert hidden == 4


def test_newer_database_is_refused_cleanly(cli, isolated_env):
    cli("router", "profile")
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    r = cli("router", "status")
    assert r.code == 1 and "newer mesoclaw" in r.err
    # and the process ends (its database thread closed), as a script or cron line needs
    done = run_mesoclaw("router", "status", env={"MESOCLAW_HOME": str(isolated_env)}, timeout=30)
    assert done.returncode == 1 and "newer mesoclaw" in done.stderr


def test_not_a_database_is_one_line(cli, isolated_env):
    isolated_env.mkdir(parents=True)
    (isolated_env / "mesoclaw.db").write_bytes(b"this is not sqlite" * 100)
    r = cli("router", "status")
    assert r.code == 1 and "is not a SQLite database: move it aside" in r.err and r.err.count("\n") == 1


def test_paths_follow_mesoclaw_home_and_db(tmp_path):
    paths = resolve_paths(None, {"MESOCLAW_HOME": str(tmp_path)})
    assert paths.db_path == tmp_path / "mesoclaw.db" and paths.config_path == tmp_path / "config.toml"
    assert resolve_paths(str(tmp_path / "x.db"), {}).db_path == tmp_path / "x.db"


def test_keys_and_base_urls_from_env_and_config(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[providers.openai]\napi_key = "sk-from-config-1234"\nbase_url = "https://gw.example/v1"\n'
        '[providers.groq]\napi_key_env = "MY_GROQ"\n[providers.ollama]\nenabled = true\n'
        '[providers.anthropic]\napi_key = "sk-ant-config"\nenabled = false\n')
    env = {"MESOCLAW_HOME": str(tmp_path), "MY_GROQ": "gsk-mine-5678", "GEMINI_API_KEY": "g-1",
           "GOOGLE_API_KEY": "g-2", "MESOCLAW_OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1"}
    s = load_settings(resolve_paths(None, env), env)
    p = s.providers
    assert p["openai"].api_key == "sk-from-config-1234" and p["openai"].key_source == "config.toml"
    assert p["openai"].base_url == "https://gw.example/v1" and p["openai"].masked_key == "…1234"
    assert p["groq"].api_key == "gsk-mine-5678" and p["groq"].key_source == "env MY_GROQ"
    assert p["google"].api_key == "g-2"  # GOOGLE_API_KEY wins, as in google-genai
    assert p["ollama"].configured and not p["anthropic"].configured
    assert p["openrouter"].base_url == "http://127.0.0.1:9/api/v1"
    assert "sk-from-config" not in repr(p["openai"])
    env["OPENAI_API_KEY"] = "sk-env-wins-0000"
    assert load_settings(resolve_paths(None, env), env).providers["openai"].key_source == "env OPENAI_API_KEY"


@pytest.mark.parametrize("value,expected", [
    ("0.0.0.0", "http://0.0.0.0:11434"),
    ("127.0.0.1:1234", "http://127.0.0.1:1234"),
    ("http://box", "http://box:80"),
    ("https://box", "https://box:443"),
    ("http://box:8080/ollama", "http://box:8080/ollama"),
    ("[::1]:9000", "http://[::1]:9000"),
    ("ollama.com", "https://ollama.com:443"),
    ("host:notaport", "http://host:11434"),
])
def test_ollama_host_parsing_matches_ollama(value, expected):
    assert parse_ollama_host(value) == expected


def test_bad_config_file_is_one_line_exit_2(cli, isolated_env):
    isolated_env.mkdir(parents=True)
    (isolated_env / "config.toml").write_text("[providers.azure]\napi_key = 'x'\n")
    r = cli("router", "status")
    assert r.code == 2 and "unknown provider [providers.azure]" in r.err


def test_providers_set_writes_a_private_config(cli, isolated_env, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("sk-stdin-key-4242\n"))
    r = cli("providers", "set", "openai", "--api-key-stdin", "--base-url", "https://gw.example/v1")
    assert r.code == 0 and "sk-stdin-key-4242" not in r.out and "…4242" in r.out
    path = isolated_env / "config.toml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    providers = json.loads(cli("providers", "--json").out)
    openai = next(p for p in providers if p["provider"] == "openai")
    assert openai["configured"] and openai["key_source"] == "config.toml" and openai["key"] == "…4242"
    assert openai["base_url"] == "https://gw.example/v1"
    r = cli("providers", "set", "openai", "--base-url", "ftp://x")
    assert r.code == 2


def test_bad_database_migration_state_is_never_a_traceback(cli, isolated_env):
    cli("router", "profile")
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        conn.execute("DELETE FROM router_config")
    r = cli("router", "status")
    assert r.code == 1 and "router reset" in r.err
    assert cli("router", "reset").code == 0 and cli("router", "status").code == 0


def test_store_rejects_missing_file_gracefully(cli, tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    os.chmod(target, 0o500)
    try:
        r = cli("--db", str(target / "sub" / "x.db"), "router", "status")
    finally:
        os.chmod(target, 0o700)
    # as root the directory is still writable; either way no traceback
    assert "Traceback" not in r.err


def test_a_key_pasted_as_a_variable_name_is_refused_and_never_echoed(cli, isolated_env):
    secret = "sk-proj-REALSECRET0123456789"
    r = cli("providers", "set", "openai", "--api-key-env", secret)
    assert r.code == 2 and "NAME of an environment variable" in r.err
    assert secret not in r.out + r.err and not (isolated_env / "config.toml").exists()
    r = cli("providers", "set", "openai")
    assert r.code == 2 and "nothing to set" in r.err


@pytest.mark.parametrize("body,needle", [
    ("[providers.openai]\napi_key = 12345\n", "api_key must be a non-empty string"),
    ("[providers.openai]\nbase_url = \"ftp://x\"\n", "base_url must start with http"),
    ("[providers.ollama]\nenabled = \"yes\"\n", "enabled must be true or false"),
])
def test_config_values_are_type_checked(cli, isolated_env, body, needle):
    isolated_env.mkdir(parents=True)
    (isolated_env / "config.toml").write_text(body)
    r = cli("providers")
    assert r.code == 2 and needle in r.err


def test_a_password_in_a_base_url_is_masked_everywhere(cli, monkeypatch, isolated_env):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdef123456")
    monkeypatch.setenv("MESOCLAW_OPENAI_BASE_URL", "http://alice:hunter2PASS@127.0.0.1:9/v1")
    outputs = [cli("providers").out, cli("providers", "--json").out, cli("router", "status", "--json").out]
    r = cli("ask", "--model", "gpt-4o", "hello")  # connection refused: the error names the URL
    outputs.append(r.out + r.err)
    assert r.code == 4
    assert all("hunter2PASS" not in o for o in outputs)
    assert "***@127.0.0.1:9" in outputs[1]
    for path in isolated_env.iterdir():
        assert b"hunter2PASS" not in path.read_bytes()


def test_export_to_stdout_and_import_from_stdin_with_a_dash(cli, monkeypatch):
    import io

    cli("router", "profile", "set", "eco")
    exported = cli("router", "export", "-").out
    assert 'profile = "eco"' in exported
    cli("router", "reset")
    monkeypatch.setattr("sys.stdin", io.StringIO(exported))
    assert cli("router", "import", "-").code == 0
    assert json.loads(cli("router", "profile", "--json").out)["profile"] == "eco"
    r = cli("router", "export", "/nonexistent-dir/x.toml")
    assert r.code == 2 and "cannot write" in r.err


def test_status_warns_when_a_task_names_a_model_that_is_retiring_and_then_retired(cli, monkeypatch, fixed_today):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-000000")
    cli("router", "task", "analysis", "--set", "o3")
    fixed_today("2026-12-01")  # o3 retires 2026-12-11
    view = json.loads(cli("router", "status", "--json").out)
    assert view["tasks"]["analysis"]["primary"]["model"] == "o3"
    assert view["notes"] == ["analysis override: o3 is deprecated, retires 2026-12-11; successor gpt-6.1-sol; "
                             "`mesoclaw router task analysis --set gpt-6.1-sol` to name it"]
    fixed_today("2026-12-11")  # retired: never routed to again, and status says what answers instead
    view = json.loads(cli("router", "status", "--json").out)
    assert view["tasks"]["analysis"]["primary"]["model"] == "gpt-6.1-sol"
    assert not any(e["provider_model"] == "o3" and e["available"] for e in view["tasks"]["analysis"]["chain"])
    assert view["notes"][0].startswith("analysis override: o3 retired 2026-12-11 -> gpt-6.1-sol answers in its place")
    assert "note: analysis override: o3 retired 2026-12-11" in cli("router", "status").out
