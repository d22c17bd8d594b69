"""`mesoclaw ask --schema` and `-a/--attach`, and a reply that is complete but not a whole answer:
a real subprocess against the fake provider server."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from .conftest import run_mesoclaw
from .fakes.provider_server import Stream

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\0" * 32


@pytest.fixture
def env(provider_server, isolated_env):
    return {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", api_key="sk-test-ask-0001")}


def conversations(home: Path) -> int:
    if not (home / "mesoclaw.db").exists():
        return 0
    with sqlite3.connect(home / "mesoclaw.db") as conn:
        return conn.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]


def test_schema_prints_the_replys_json(env, provider_server, tmp_path):
    chat = provider_server.chat_path("openai")
    provider_server.script(chat, Stream("openai", ['{"city": ', '"Paris"}']))
    r = run_mesoclaw("ask", "-q", "--schema", json.dumps(SCHEMA), "where is the Louvre?", env=env)
    assert (r.returncode, r.stdout, r.stderr) == (0, '{"city": "Paris"}\n', "")
    sent = provider_server.last_request.json["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"] == SCHEMA
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(SCHEMA))
    provider_server.script(chat, Stream("openai", ['```json\n{"city": "Paris"}\n```']))
    r = run_mesoclaw("ask", "--json", "--schema", str(schema_file), "where is the Louvre?", env=env)
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["json"] == {"city": "Paris"} and data["finish_reason"] == "stop"


@pytest.mark.parametrize("reply, why", [("Sure! The Louvre is in Paris.", "the reply is not JSON"),
                                        ('["Paris"]', "not of the schema's type (object)")])
def test_a_reply_that_is_not_the_schemas_json_exits_1(env, provider_server, reply, why):
    provider_server.script(provider_server.chat_path("openai"), Stream("openai", [reply]))
    r = run_mesoclaw("ask", "-q", "--schema", json.dumps(SCHEMA), "where is the Louvre?", env=env)
    assert r.returncode == 1 and r.stdout == reply + "\n"
    assert why in r.stderr and r.stderr.count("\n") == 1


def test_a_bad_schema_is_bad_input_and_changes_nothing(env, isolated_env, tmp_path):
    for schema in ("{not json", str(tmp_path / "missing.json"), "[1, 2]"):
        r = run_mesoclaw("ask", "--schema", schema, "hi", env=env)
        assert r.returncode == 2 and r.stderr.startswith("mesoclaw: --schema") and r.stderr.count("\n") == 1
    assert conversations(isolated_env) == 0


def test_attached_images_and_text_files_are_sent_and_the_prompt_stored(env, provider_server, isolated_env,
                                                                        tmp_path):
    (tmp_path / "pixel.png").write_bytes(PNG)
    (tmp_path / "notes.md").write_text("The meeting moved to Tuesday.\n")
    r = run_mesoclaw("ask", "-q", "--model", "gpt-6-luna", "-a", str(tmp_path / "notes.md"), "--attach",
                     str(tmp_path / "pixel.png"), "summarize these", env=env)
    assert r.returncode == 0, r.stderr
    text, image = provider_server.last_request.json["messages"][-1]["content"]
    assert text["text"] == ('summarize these\n\n<file name="notes.md">\nThe meeting moved to Tuesday.\n</file>'
                            "\n\n[attached image: pixel.png]")
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
        stored = conn.execute("SELECT content FROM messages WHERE role = 'user'").fetchone()[0]
    assert stored == text["text"]


def test_attachments_mesoclaw_cannot_send_are_refused_before_anything_is_stored(provider_server, isolated_env,
                                                                                 tmp_path):
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("ollama")}
    (tmp_path / "big.png").write_bytes(PNG + b"\0" * (5 * 1024 * 1024))
    (tmp_path / "program.bin").write_bytes(b"\x7fELF\x02\x01\x01\0\0\0")
    (tmp_path / "book.txt").write_text("word " * 120_000)  # ~150K tokens: over Ollama's 128K windows
    cases = [("big.png", "over the 5 MB limit for an image"), ("program.bin", "not a text file (UTF-8) or an image"),
             ("book.txt", "is too big for every model: the largest context window is 128,000 tokens"),
             ("nothing-here.txt", "cannot read")]
    for name, words in cases:
        r = run_mesoclaw("ask", "-a", str(tmp_path / name), "summarize", env=env)
        assert r.returncode == 2 and words in r.stderr and r.stderr.count("\n") == 1, (name, r.stderr)
    assert conversations(isolated_env) == 0
    assert not [request for request in provider_server.requests if request.method == "POST"]


@pytest.mark.parametrize("finish, reason, words", [("length", "length", "cut off at the max tokens limit"),
                                                   ("content_filter", "content_filter", "content filter")])
def test_a_reply_that_is_not_a_whole_answer_exits_1(env, provider_server, finish, reason, words):
    provider_server.default(provider_server.chat_path("openai"), Stream("openai", "The answer is", finish=finish))
    r = run_mesoclaw("ask", "--max-tokens", "3", "--task", "fast", "tell me everything", env=env)
    assert r.returncode == 1 and r.stdout == "The answer is\n"
    assert words in r.stderr.splitlines()[-1]
    r = run_mesoclaw("ask", "--json", "--max-tokens", "3", "--task", "fast", "tell me everything", env=env)
    data = json.loads(r.stdout)
    assert r.returncode == 1 and (data["status"], data["finish_reason"]) == ("complete", reason)
    assert data["attempts"][-1]["finish_reason"] == reason
