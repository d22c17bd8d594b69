"""`mesoclaw router import`: a strict, typed schema (every violation one line naming its key, exit 2,
nothing changed), a bounded file, and a partial file that changes only what it names."""

from __future__ import annotations

import json

import pytest


def settings(cli) -> str:
    return cli("router", "export", "--json").out


@pytest.fixture
def configured(cli):
    cli("router", "profile", "set", "premium")
    cli("router", "task", "code", "--set", "o3")
    cli("router", "chain", "analysis", "--set", "gpt-4o,o3")
    cli("router", "models", "add", "groq", "qwen/qwen3-32b", "--tier", "low")
    return settings(cli)


MODEL = '[[models]]\nprovider = "groq"\nmodel = "my-model"\ntier = "low"\n'


@pytest.mark.parametrize(("line", "said"), [
    ('model = ["a"]', 'models[1].model must be a string, got an array of 1'),
    ("model = 12345", "models[1].model must be a string, got 12345"),
    ("context_window = true", "models[1].context_window must be an integer, got true"),
    ("context_window = 1.9", "models[1].context_window must be an integer, got 1.9"),
    ('context_window = "128000"', "models[1].context_window must be an integer, got the string '128000'"),
    ("max_output = 0", "models[1].max_output must be a positive integer up to 100,000,000, got 0"),
    ("input_price = true\noutput_price = 1", "models[1].input_price must be a number, got true"),
    ('model = "evil\\u001b]0;title\\u0007"', "models[1].model must be free of control characters"),
    ('model = "nul\\u0000byte"', "models[1].model must be free of control characters"),
    (f'model = "{"m" * 300}"', "models[1].model must be a non-empty string of at most 256 characters, got a string "
                              "of 300 characters"),
    ('colour = "red"', "models[1].colour is not a known key"),
])
def test_a_wrong_type_is_one_line_naming_the_key(cli, configured, tmp_path, line, said):
    body = MODEL if not line.startswith("model =") else MODEL.replace('model = "my-model"\n', "")
    path = tmp_path / "bad.toml"
    path.write_text(body + line + "\n")
    r = cli("router", "import", str(path))
    assert r.code == 2
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mesoclaw: {path}: {said}"), r.err
    assert "\x1b" not in r.err and "\x00" not in r.err
    assert settings(cli) == configured


def test_every_violation_is_said_each_on_its_own_line(cli, configured, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[router]\nprofile = 3\n[router.task_overrides]\ncode = true\n'
                    '[[models]]\nprovider = "groq"\nmodel = "a"\ntier = "low"\ncontext_window = true\n'
                    '[[models]]\nprovider = "groq"\nmodel = "b"\ntier = "huge"\n')
    r = cli("router", "import", str(path))
    assert r.code == 2
    assert r.err.splitlines() == [
        f"mesoclaw: {path}: models[1].context_window must be an integer, got true",
        f"mesoclaw: {path}: models[2].tier must be one of low, medium, high, got the string 'huge'",
        f"mesoclaw: {path}: router.profile must be a string, got 3",
        f"mesoclaw: {path}: router.task_overrides.code must be a string, got true",
    ]
    assert settings(cli) == configured


def test_a_file_over_the_size_limit_is_refused_without_reading_it_whole(cli, configured, tmp_path):
    path = tmp_path / "huge.toml"
    with open(path, "w") as fh:
        fh.write('[router]\nprofile = "eco"\n[[models]]\nprovider = "groq"\nmodel = "a"\ntier = "low"\nbest_for = "')
        fh.write("x" * 50_000_000)
        fh.write('"\n')
    r = cli("router", "import", str(path))
    assert r.code == 2 and r.err.count("\n") == 1
    assert f"{path} is larger than 1024 KB, the most `router import` reads" in r.err
    assert settings(cli) == configured


def test_deep_nesting_is_one_line_not_a_recursion_error(cli, configured, tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text('[router]\nprofile = "eco"\nx = ' + "[" * 5000 + "]" * 5000 + "\n")
    r = cli("router", "import", str(path))
    assert r.code == 2 and r.err == f"mesoclaw: {path} is nested too deeply to be a mesoclaw export\n"
    assert settings(cli) == configured


def test_a_partial_file_changes_only_what_it_names(cli, configured, tmp_path):
    path = tmp_path / "eco.toml"
    path.write_text('[router]\nprofile = "eco"\n')
    r = cli("router", "import", str(path))
    assert r.code == 0 and r.out == f"imported {path}: profile eco\n"
    after = json.loads(settings(cli))
    before = json.loads(configured)
    assert after["router"]["profile"] == "eco"
    assert after["router"]["task_overrides"] == before["router"]["task_overrides"] == {"code": "o3"}
    assert after["router"]["custom_routes"] == before["router"]["custom_routes"]
    assert after["models"] == before["models"] and len(after["models"]) == 1


def test_a_full_replace_needs_replace_and_says_what_it_removed(cli, configured, tmp_path):
    path = tmp_path / "mini.toml"
    path.write_text('[router]\nprofile = "eco"\n[router.task_overrides]\nfast = "gpt-4o-mini"\n')
    r = cli("router", "import", "--replace", str(path), "--json")
    assert r.code == 0
    assert json.loads(r.out) == {
        "imported": str(path), "replace": True,
        "changed": ["profile eco", "task override fast = gpt-4o-mini"],
        "removed": ["task override code = o3", "custom route analysis = gpt-4o, o3", "user model groq:qwen/qwen3-32b"],
    }
    after = json.loads(settings(cli))
    assert after["router"] == {"profile": "eco", "task_overrides": {"fast": "gpt-4o-mini"}, "custom_routes": {}}
    assert after["models"] == []


def test_an_export_imports_back_exactly(cli, configured, tmp_path):
    path = tmp_path / "all.toml"
    assert cli("router", "export", str(path)).code == 0
    cli("router", "reset")
    cli("router", "models", "remove", "groq", "qwen/qwen3-32b")
    assert cli("router", "import", str(path)).code == 0
    assert settings(cli) == configured
