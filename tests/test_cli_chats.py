"""`mesoclaw chats …`: list, search, show, export, rm, import; bad input exits 2 and changes nothing.
`ask --conversation ID` continues a listed conversation."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest

from mesoclaw_tui.service import RouterService
from tests.fakes.provider_server import FakeProviderServer, Stream
from tests.tui_helpers import seed_demo


def seed(*conversations: tuple[str, list[str]]) -> list[int]:
    async def go() -> list[int]:
        ids = []
        async with await RouterService.open(None) as service:
            for title, texts in conversations:
                conversation_id = await service.create_conversation(title)
                for text in texts:
                    await service.add_user_message(conversation_id, text)
                ids.append(conversation_id)
        return ids

    return asyncio.run(go())


def demo() -> int:
    async def go() -> int:
        async with await RouterService.open(None) as service:
            return await seed_demo(service)

    return asyncio.run(go())


def stored() -> list[dict]:
    async def go() -> list[dict]:
        async with await RouterService.open(None) as service:
            return [{"id": c.id, "title": c.title, "messages": c.message_count}
                    for c in await service.list_conversations()]

    return asyncio.run(go())


def test_list_shows_the_newest_conversations_first(cli) -> None:
    assert "no conversations yet" in cli("chats", "list").out
    first, second = seed(("First chat", ["hello"]), ("Second chat", ["a", "b"]))
    r = cli("chats", "list", "--json")
    assert r.code == 0
    rows = json.loads(r.out)
    assert [(row["id"], row["title"], row["messages"]) for row in rows] == [(second, "Second chat", 2),
                                                                             (first, "First chat", 1)]
    assert [row["id"] for row in json.loads(cli("chats", "list", "--limit", "1", "--json").out)] == [second]
    assert "Second chat" in cli("chats", "list").out


def test_search_ranks_matches_and_quotes_them(cli) -> None:
    weak, strong, _ = seed(("Weak", ["a long story that mentions a kubernetes cluster only once, in passing"]),
                           ("Strong", ["kubernetes", "kubernetes pods and kubernetes services"]),
                           ("Other", ["nothing here"]))
    hits = json.loads(cli("chats", "list", "--search", "kube", "--json").out)
    assert [h["id"] for h in hits] == [strong, weak]
    assert hits[0]["matches"] == 2
    start, end = hits[1]["highlights"][0]
    assert hits[1]["snippet"][start:end] == "kubernetes"
    table = cli("chats", "list", "-s", "kubernetes cluster").out
    assert "Weak" in table and "Strong" not in table and "Other" not in table
    assert "no conversation holds" in cli("chats", "list", "--search", "zebra").out
    r = cli("chats", "list", "--search", "  ")
    assert r.code == 2 and "needs a word" in r.err


def test_show_prints_every_message_with_its_model_and_cost(cli) -> None:
    conversation_id = demo()
    r = cli("chats", "show", str(conversation_id))
    assert r.code == 0
    assert "Sorting a list in Python" in r.out and "How do I sort a list of names" in r.out
    assert "openai:gpt-6.1-sol" in r.out and "18 in / 96 out" in r.out and "CANCELLED" in r.out
    document = json.loads(cli("chats", "show", str(conversation_id), "--json").out)
    assert [m["role"] for m in document["messages"]] == ["user", "assistant", "user", "assistant"]
    assert document["messages"][1]["usage"]["cost_usd"] == 0.000996
    r = cli("chats", "show", "999")
    assert r.code == 2 and "no conversation 999" in r.err and r.out == ""


def test_export_writes_markdown_or_json_and_never_overwrites_without_force(cli, tmp_path: Path) -> None:
    conversation_id = demo()
    md = cli("chats", "export", str(conversation_id))
    assert md.code == 0 and md.out.startswith("# Sorting a list in Python")
    assert "## You" in md.out and "```python" in md.out
    target = tmp_path / "chat.json"
    r = cli("chats", "export", str(conversation_id), "--format", "json", "-o", str(target))
    assert r.code == 0 and "wrote conversation" in r.err
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    document = json.loads(target.read_text())
    assert document["format"] == "mesoclaw-conversation" and len(document["messages"]) == 4
    target.write_text("precious")
    r = cli("chats", "export", str(conversation_id), "--format", "json", "-o", str(target))
    assert r.code == 2 and "--force" in r.err and target.read_text() == "precious"
    assert cli("chats", "export", str(conversation_id), "-o", str(target), "--force").code == 0
    assert target.read_text().startswith("# Sorting")
    assert json.loads(cli("chats", "export", str(conversation_id), "--json").out)["format"] == "mesoclaw-conversation"
    written = cli("chats", "export", str(conversation_id), "--json", "-o", str(tmp_path / "w.md"))
    assert json.loads(written.out) == {"written": str(tmp_path / "w.md"), "id": conversation_id, "format": "md"}
    r = cli("chats", "export", str(conversation_id), "--format", "pdf")
    assert r.code == 2 and "'md', 'json'" in r.err


def test_export_to_stdout_makes_control_characters_visible_and_json_stays_exact(cli, tmp_path: Path) -> None:
    (conversation_id,) = seed(("Hostile", ["\x1b]52;c;aGk=\x07 evil"]))
    md = cli("chats", "export", str(conversation_id))
    assert "\x1b" not in md.out and "␛" in md.out
    js = cli("chats", "export", str(conversation_id), "-f", "json")
    assert "\x1b" not in js.out
    assert json.loads(js.out)["messages"][0]["content"] == "\x1b]52;c;aGk=\x07 evil"
    cli("chats", "export", str(conversation_id), "-f", "md", "-o", str(tmp_path / "x.md"))
    assert "\x1b]52" in (tmp_path / "x.md").read_text()  # a file gets the exact text


def test_import_round_trips_an_export_as_a_new_conversation(cli, tmp_path: Path) -> None:
    conversation_id = demo()
    target = tmp_path / "chat.json"
    cli("chats", "export", str(conversation_id), "-f", "json", "-o", str(target))
    r = cli("chats", "import", str(target), "--json")
    assert r.code == 0
    new_id = json.loads(r.out)["id"]
    assert new_id != conversation_id
    original = json.loads(cli("chats", "show", str(conversation_id), "--json").out)
    copy = json.loads(cli("chats", "show", str(new_id), "--json").out)
    strip = [{k: v for k, v in m.items() if k != "usage"} for m in original["messages"]]
    assert [{k: v for k, v in m.items() if k != "usage"} for m in copy["messages"]] == strip
    assert all("usage" not in m for m in copy["messages"])  # spent once: not counted again
    assert copy["conversation"]["title"] == "Sorting a list in Python"
    hits = json.loads(cli("chats", "list", "--search", "case insensitively", "--json").out)
    assert {h["id"] for h in hits} == {conversation_id, new_id}


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d.update(format="other"), 'format: must be "mesoclaw-conversation"'),
    (lambda d: d.update(version=2), "version: must be 1"),
    (lambda d: d["messages"][1].update(role="robot"), "messages[1].role: must be one of user, assistant, system"),
    (lambda d: d["messages"][2].update(content=None), "messages[2].content: must be text"),
    (lambda d: d["messages"][0].update(colour="red"), "messages[0]: unknown key 'colour'"),
    (lambda d: d["messages"][3].update(status="exploded"), "messages[3].status: must be one of"),
    (lambda d: d["messages"][1].update(model="gpt\x1b[2J"), "messages[1].model: not a model id"),
    (lambda d: d["messages"][1]["usage"].update(cost_usd="free"), "messages[1].usage.cost_usd"),
    (lambda d: d["conversation"].update(title=""), "conversation.title: must not be empty"),
    (lambda d: d.update(messages={}), "messages: must be a list"),
    (lambda d: d["messages"][0].update(created_at="yesterday"), "messages[0].created_at: must be a time"),
])
def test_a_bad_import_exits_2_naming_the_problem_and_adds_nothing(cli, tmp_path: Path, change, problem) -> None:
    conversation_id = demo()
    document = json.loads(cli("chats", "show", str(conversation_id), "--json").out)
    change(document)
    target = tmp_path / "bad.json"
    target.write_text(json.dumps(document))
    before = stored()
    r = cli("chats", "import", str(target))
    assert r.code == 2, r.err
    assert problem in r.err and r.err.count("\n") == 1 and "Traceback" not in r.err
    assert stored() == before


def test_import_refuses_what_is_not_a_conversation_file(cli, tmp_path: Path) -> None:
    for content, problem in ((b"\xff\xfe", "not UTF-8"), (b"{", "not valid JSON"), (b"[]", "must be a JSON object")):
        (tmp_path / "f").write_bytes(content)
        r = cli("chats", "import", str(tmp_path / "f"))
        assert r.code == 2 and problem in r.err
    r = cli("chats", "import", str(tmp_path / "missing.json"))
    assert r.code == 2 and "no such file" in r.err
    assert stored() == []


def test_rm_needs_yes_when_it_cannot_ask(cli) -> None:
    keep, gone = seed(("Keep", ["a"]), ("Gone", ["b"]))
    r = cli("chats", "rm", str(gone))  # stdin is not a terminal here
    assert r.code == 2 and "--yes" in r.err
    assert len(stored()) == 2
    r = cli("chats", "rm", "12345", "--yes")
    assert r.code == 2 and "no conversation 12345" in r.err
    assert cli("chats", "rm", str(gone), "--yes").code == 0
    assert [c["id"] for c in stored()] == [keep]
    assert not json.loads(cli("chats", "list", "--search", "b", "--json").out)


def test_rm_asks_on_a_terminal(isolated_env: Path) -> None:
    """In a real terminal (a pty): `n` keeps the conversation, `y` deletes it."""
    import pty
    import subprocess
    import sys

    (conversation_id,) = seed(("Ask me", ["a"]))
    env = {k: v for k, v in os.environ.items()}
    for answer, kept in (("n", True), ("y", False)):
        leader, follower = pty.openpty()
        process = subprocess.Popen([sys.executable, "-m", "mesoclaw_tui", "chats", "rm", str(conversation_id)],
                                   stdin=follower, stdout=follower, stderr=follower, env=env)
        os.close(follower)
        seen = b""
        while b"[y/N]" not in seen:
            seen += os.read(leader, 1024)
        assert "Ask me" in seen.decode()
        os.write(leader, answer.encode() + b"\n")
        assert process.wait(timeout=30) == (1 if kept else 0)
        os.close(leader)
        assert bool(stored()) is kept


def test_ask_continues_a_conversation_by_id(cli, monkeypatch) -> None:
    first, _ = seed(("Old", []), ("Newer", []))
    with FakeProviderServer() as server:
        for name, value in server.env("openai", api_key="test-key").items():
            monkeypatch.setenv(name, value)
        server.default("*/chat/completions", Stream("openai", "the first answer"))
        assert cli("ask", "--conversation", str(first), "remember the word apricot").code == 0
        server.default("*/chat/completions", Stream("openai", "apricot"))
        assert cli("ask", "--conversation", str(first), "which word?").code == 0
        sent = server.requests_to(server.chat_path("openai"))[-1].json["messages"]
        assert [m["content"] for m in sent if m["role"] == "user"] == ["remember the word apricot", "which word?"]
        r = cli("ask", "--conversation", "999", "hello")
        assert r.code == 2 and "no conversation 999" in r.err
        r = cli("ask", "--continue", "--conversation", str(first), "hello")
        assert r.code == 2 and "not both" in r.err
    titles = {c["id"]: c["messages"] for c in stored()}
    assert titles[first] == 4


def test_chats_is_headless(isolated_env: Path) -> None:
    """`chats list` loads neither Textual nor httpx (it starts as fast as the other headless commands)."""
    seed(("A", ["b"]))
    code = ("import sys; from mesoclaw_tui.cli.main import main; main(['chats', 'list', '--search', 'b']); "
            "print(sorted(m for m in ('textual', 'httpx') if m in sys.modules))")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "MESOCLAW_HOME": str(isolated_env)})
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
