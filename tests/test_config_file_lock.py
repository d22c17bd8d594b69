"""config.toml under concurrent `providers set`: a lock around each read-modify-write, a unique temp
file, an atomic rename; every section kept, mode 0600, no temp file left behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib

from mesoclaw_tui.core.provider_info import PROVIDERS

from .conftest import PROVIDER_ENV, REPO


def test_many_providers_set_at_once_lose_no_section(isolated_env):
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env["MESOCLAW_HOME"] = str(isolated_env)
    providers = [p for p in PROVIDERS if p != "ollama"]  # six providers that take a key
    for rounds in range(3):
        procs = [subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", "providers", "set", pid,
                                   "--api-key-env", f"KEY_{pid.upper()}_{rounds}",
                                   "--base-url", f"https://{pid}.gw.example/v{rounds}"],
                                  cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for pid in providers]
        results = [(p.wait(60), p.stderr.read()) for p in procs]
        for proc in procs:
            proc.stdout.close()
            proc.stderr.close()
        assert all(code == 0 for code, _ in results), results
        config = isolated_env / "config.toml"
        data = tomllib.loads(config.read_text())
        assert sorted(data["providers"]) == sorted(providers)
        for pid in providers:
            assert data["providers"][pid] == {"api_key_env": f"KEY_{pid.upper()}_{rounds}",
                                              "base_url": f"https://{pid}.gw.example/v{rounds}"}
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert not [p.name for p in isolated_env.iterdir() if p.name.endswith(".tmp")]


def test_the_echo_shows_the_section_name_and_masks_a_url_password(cli, isolated_env):
    r = cli("providers", "set", "openai", "--base-url", "https://alice:s3cretPW@gw.example/v1")
    assert r.code == 0
    assert "[providers.openai]" in r.out and "base_url = https://***@gw.example/v1" in r.out
    assert "s3cretPW" not in r.out + r.err
    r = cli("providers", "set", "openai", "--clear")
    assert r.code == 0 and r.out.startswith("removed [providers.openai] from ")


def test_a_bad_config_file_is_left_as_it_was(cli, isolated_env):
    isolated_env.mkdir(parents=True)
    config = isolated_env / "config.toml"
    config.write_text("[providers.openai\n")
    r = cli("providers", "set", "groq", "--api-key-env", "MY_GROQ")
    assert r.code == 2 and "not valid TOML" in r.err
    assert config.read_text() == "[providers.openai\n"
