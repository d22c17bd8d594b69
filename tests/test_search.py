"""Full-text search across conversations (FTS5, kept in step by triggers; LIKE without FTS5), a
conversation's running cost, preferences, and the migration of a schema 4 file to schema 5."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mesoclaw_tui.service import RouterService
from mesoclaw_tui.service.search import fts_query, like_snippet, query_words, snippet_pieces
from mesoclaw_tui.store import SCHEMA_VERSION, Store

from .old_databases import v4_script


async def converse(service: RouterService, title: str, *texts: str) -> int:
    conversation_id = await service.create_conversation(title)
    for text in texts:
        await service.add_user_message(conversation_id, text)
    return conversation_id


async def test_search_ranks_conversations_by_relevance_and_quotes_the_match(service) -> None:
    once = await converse(service, "Once", "a long note about many things, and routing once")
    often = await converse(service, "Often", "routing", "routing and routing again")
    await converse(service, "Never", "nothing relevant here")
    result = await service.search_conversations("routing")
    assert result.ranked and result.note is None
    assert [h.conversation_id for h in result.hits] == [often, once]
    assert result.hits[0].matches == 2
    quote = result.hits[1]
    assert quote.snippet_text.endswith("routing once")
    start, end = quote.highlights[0]
    assert quote.snippet_text[start:end] == "routing"


async def test_every_word_must_match_as_a_word_or_its_start_in_any_order(service) -> None:
    both = await converse(service, "Both", "Python sorting with a key function")
    await converse(service, "One", "Python only")
    hits = (await service.search_conversations("sort pyth")).hits
    assert [h.conversation_id for h in hits] == [both]
    # FTS5 syntax typed by a user is searched for as words, never parsed as a query
    for text in ('"', "NOT", "a:b", "sort*", "(", "-x", "'"):
        await service.search_conversations(text)
    accented = await converse(service, "Food", "Pastéis de nata")
    assert [h.conversation_id for h in (await service.search_conversations("pasteis")).hits] == [accented]


async def test_the_index_follows_edits_and_deletions_of_messages(service) -> None:
    conversation_id = await converse(service, "Edited", "the word is apricot")
    assert (await service.search_conversations("apricot")).hits
    async with service.store.write() as db:  # as an edit-and-resend would change the text
        await db.execute("UPDATE messages SET content = 'the word is banana' WHERE conversation_id = ?",
                         (conversation_id,))
    assert not (await service.search_conversations("apricot")).hits
    assert (await service.search_conversations("banana")).hits
    async with service.store.write() as db:  # another engineer's column: the triggers do not care
        await db.execute("ALTER TABLE messages ADD COLUMN extra TEXT")
        await db.execute("UPDATE messages SET extra = 'x'")
    assert (await service.search_conversations("banana")).hits
    await service.delete_conversation(conversation_id)
    assert not (await service.search_conversations("banana")).hits
    async with service.store.write() as db:
        check = await db.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
        await check.close()


async def test_without_fts5_search_matches_substrings_and_says_so(service, monkeypatch) -> None:
    first = await converse(service, "A", "Routing first")
    second = await converse(service, "B", "routing again")
    monkeypatch.setattr(service.store, "_fts", False)  # as a SQLite built without FTS5 leaves it
    result = await service.search_conversations("ROUT")
    assert not result.ranked and "FTS5" in (result.note or "")
    assert [h.conversation_id for h in result.hits] == [second, first]  # newest message first
    assert [t for t, matched in result.hits[1].snippet if matched] == ["Rout"]
    assert not (await service.search_conversations("100%")).hits  # LIKE's wildcards are literal


async def test_a_database_without_fts5_opens_and_searches_by_substring(tmp_path, monkeypatch) -> None:
    import mesoclaw_tui.store.opening as opening

    monkeypatch.setattr(opening, "has_fts5", lambda conn: False)
    async with await RouterService.open(str(tmp_path / "nofts.db")) as service:
        await converse(service, "A", "plain words")
        result = await service.search_conversations("words")
        assert not result.ranked and len(result.hits) == 1
    with sqlite3.connect(tmp_path / "nofts.db") as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert not any("fts" in name for name in names) and "preferences" in names


def test_query_words_and_quotes_are_pure_text() -> None:
    assert query_words('Fix "the" the: route-map!') == ["fix", "the", "route", "map"]
    assert fts_query(["fix", "route"]) == '"fix"* "route"*'
    assert snippet_pieces("…a\n\nb \ue000hit\ue001 c") == (("…a b ", False), ("hit", True), (" c", False))
    pieces = like_snippet("x" * 200 + " Needle here", ["needle"])
    assert pieces[0][0].startswith("…") and ("Needle", True) in pieces


async def test_a_conversations_running_cost_counts_unpriced_replies_as_unknown(service) -> None:
    conversation_id = await converse(service, "Costs", "hi")
    base = {"created_at": 0.0, "source": "chat", "outcome": "ok", "conversation_id": conversation_id,
            "estimated": 0, "fallbacks": 0, "attempts": "[]"}
    await service.store.record_reply({**base, "input_tokens": 10, "output_tokens": 20, "cost_usd": 0.002}, None)
    await service.store.record_reply({**base, "input_tokens": 5, "output_tokens": 5, "cost_usd": None,
                                      "estimated": 1}, None)
    await service.store.record_reply({**base, "outcome": "failed"}, None)  # nothing answered: not a reply
    usage = await service.conversation_usage(conversation_id)
    assert (usage.replies, usage.tokens, usage.cost_usd, usage.unpriced, usage.estimated) == (2, 40, 0.002, 1, True)
    assert (await service.conversation_usage(conversation_id + 1)).replies == 0


async def test_preferences_keep_known_names_and_values(service) -> None:
    from mesoclaw_tui.core.types import MesoclawError

    await service.set_preference("theme", "light")
    await service.set_preference("last_screen", "router")
    with pytest.raises(MesoclawError, match="choose one of: dark, light"):
        await service.set_preference("theme", "purple")
    with pytest.raises(MesoclawError, match="unknown preference"):
        await service.set_preference("font", "big")
    await service.store.set_preference("theme", "neon")  # a hand edit
    assert await service.preferences() == {"last_screen": "router"}


async def test_a_schema_4_file_migrates_and_its_messages_are_searchable(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(v4_script("messages"))
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
    store = await Store.open(path)
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 4
        assert conn.execute("SELECT title FROM conversations WHERE id = 2").fetchone()[0] == "Trip to Lisbon"
    async with await RouterService.open(str(path)) as service:
        hits = (await service.search_conversations("sardines")).hits
        assert [(h.conversation_id, h.message_id) for h in hits] == [(2, 4)]
        assert (await service.search_conversations("lower")).hits[0].conversation_id == 1
        usage = await service.conversation_usage(1)
        assert (usage.tokens, usage.cost_usd) == (50, 0.00034)
        new = await service.create_conversation("after")  # the triggers index what comes next
        await service.add_user_message(new, "sardines again")
        assert {h.conversation_id for h in (await service.search_conversations("sardines")).hits} == {2, new}
