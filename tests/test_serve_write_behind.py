"""`mesoclaw serve` answers before it writes the reply's usage row, and never loses the row: it lands
right after, and stopping the server writes whatever is still queued (service/reply_writer.py). And it
skips the database before routing for up to SETTINGS_MAX_AGE_S, yet sees another process's change."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import httpx

from mesoclaw_tui.server import BackgroundServer
from tests.waiting import eventually, eventually_async

CHAT = {"model": "mesoclaw/auto", "messages": [{"role": "user", "content": "hello there"}]}


def serve_rows(home: Path) -> list[str]:
    with sqlite3.connect(home / "mesoclaw.db") as conn:
        return [row[0] for row in conn.execute("SELECT outcome FROM usage WHERE source = 'serve' ORDER BY id")]


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


class WriteLock:
    """Another process's write transaction on the database (as a busy CLI command holds it): no other
    connection can commit until it is released. Readers go on (WAL)."""

    def __init__(self, home: Path):
        self.conn = sqlite3.connect(home / "mesoclaw.db", isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_the_reply_does_not_wait_for_its_usage_row(fake, isolated_env) -> None:
    with BackgroundServer() as server:
        httpx.post(f"{server.base_url}/chat/completions", json=CHAT, timeout=30).raise_for_status()  # warm
        eventually(lambda: serve_rows(isolated_env) == ["ok"], what="the warm-up's row")
        lock = WriteLock(isolated_env)
        try:
            # With the row written before the reply, this would wait out the store's busy timeout (30 s),
            # then answer without a row.
            reply = httpx.post(f"{server.base_url}/chat/completions", json=CHAT, timeout=20)
            assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]
            assert serve_rows(isolated_env) == ["ok"]  # not written yet: the database is still locked
        finally:
            lock.release()
        assert eventually(lambda: serve_rows(isolated_env) == ["ok", "ok"], what="the row after the lock")


def test_stopping_the_server_writes_the_rows_still_queued(fake, isolated_env) -> None:
    server = BackgroundServer().start()
    try:
        httpx.post(f"{server.base_url}/chat/completions", json=CHAT, timeout=30).raise_for_status()
        eventually(lambda: serve_rows(isolated_env) == ["ok"], what="the warm-up's row")
        lock = WriteLock(isolated_env)
        try:
            httpx.post(f"{server.base_url}/chat/completions", json=CHAT, timeout=20).raise_for_status()
            stopping = threading.Thread(target=server.stop)
            stopping.start()
            eventually(lambda: not answers(server.url), what="the server to stop listening")
            # now it is shutting down, with the row still waiting for the lock
            assert serve_rows(isolated_env) == ["ok"]
        finally:
            lock.release()
        stopping.join(30)
        assert not stopping.is_alive()
    finally:
        server.stop()
    assert serve_rows(isolated_env) == ["ok", "ok"]


async def test_closing_the_service_waits_for_the_queued_rows(isolated_env) -> None:
    """What serve does when it stops (running.serve closes its service): a row queued behind another
    process's write lock is written once the lock goes, before the database is closed."""
    import asyncio
    import time

    from mesoclaw_tui.service import RouterService
    from mesoclaw_tui.service.conversation_records import UsageRecord

    service = await RouterService.open()
    lock = WriteLock(isolated_env)
    try:
        for outcome in ("ok", "cancelled", "ok"):
            service.record_reply_later(UsageRecord("serve", time.time(), outcome=outcome, provider="openai"))
        # the writer is waiting for the lock (inside its transaction's BEGIN) when closing begins
        await eventually_async(lambda: getattr(service.store, "_write_lock", None) and service.store._write_lock.locked(), what="the writer to start")
        closing = asyncio.create_task(service.close())
        await asyncio.sleep(0)
        assert not closing.done() and serve_rows(isolated_env) == []
    finally:
        await asyncio.to_thread(lock.release)
    await closing
    assert sorted(serve_rows(isolated_env)) == ["cancelled", "ok", "ok"]


async def test_a_large_batch_lands_whole(isolated_env) -> None:
    """More queued rows than one INSERT takes, and replies with a message among them: every one lands."""
    import time

    from mesoclaw_tui.service import RouterService
    from mesoclaw_tui.service.conversation_records import ReplyMessage, UsageRecord

    async with await RouterService.open() as service:
        conversation = await service.create_conversation("batch")
        for i in range(123):
            service.record_reply_later(UsageRecord("serve", time.time(), output_tokens=i))
        service.record_reply_later(UsageRecord("chat", time.time(), conversation_id=conversation),
                                   ReplyMessage(conversation, "the answer", "complete", "openai", "gpt-4o", None, None))
        await service.flush_replies()
        assert len(serve_rows(isolated_env)) == 123
        with sqlite3.connect(isolated_env / "mesoclaw.db") as conn:
            assert sorted(r[0] for r in conn.execute("SELECT output_tokens FROM usage WHERE source = 'serve'")) \
                == list(range(123))
            assert conn.execute("SELECT content FROM messages WHERE conversation_id = ?", (conversation,)).fetchall() \
                == [("the answer",)]


def test_a_profile_set_by_another_process_is_used_soon(fake, isolated_env) -> None:
    """serve reads whether the database changed at most every SETTINGS_MAX_AGE_S (running.py): a
    profile set by another process (here: the CLI's way, another connection) routes requests within it."""
    import asyncio

    from mesoclaw_tui.service import RouterService

    def profile_used() -> str:
        reply = httpx.post(f"{server.base_url}/chat/completions", json=CHAT, timeout=30)
        return reply.headers["x-mesoclaw-profile"]

    async def set_profile(name: str) -> None:
        async with await RouterService.open() as other:
            await other.set_router_profile(name)

    with BackgroundServer() as server:
        assert profile_used() == "balanced"
        asyncio.run(set_profile("eco"))
        assert eventually(lambda: profile_used() == "eco", what="the new profile")
