"""Opening a conversation of 1,000 messages (replies with Markdown: lists, code).

Times how long from asking the chat to open it until its latest messages are on screen (the
transcript is laid out and drawn), median of several openings, and how many widgets that mounted
(target: <= 300 ms; only the latest page is mounted, older pages load on scrolling up).

The huge-message case (issue 10): a conversation whose user message is 20 MB of text and whose reply
is 4 MB (the default reply cap): from asking the chat to open it until it is on screen (target
<= 300 ms; the app shows the start of a message over its display limit and says how to get the whole).

The search case: the database also holds 50 other conversations of 40 messages each (3,000 messages
indexed in all); the clock runs from typing a word into the conversation list's search box until
the list shows the match (the last key of the word to the match listed, the list's 0.15 s debounce
included), and then from enter until the 1,000-message conversation is on screen at its match (the
very first message, "the tangerine question": the search opens a conversation at the message it
quotes, here the far-back case, the page that ends with it).

    python3 benchmarks/tui_long_conversation.py [MESSAGES] [RUNS]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_report as report  # noqa: E402

REPLY = """Here is how to do it ({n}):

1. read the chain for the task
2. skip what is not configured

```python
for name in chain:
    print(name)  # {n}
```

That is all — **{n}**.
"""


async def seed_others(conversations: int = 50, messages: int = 40) -> None:
    """Other conversations for the search to look through (none says "tangerine")."""
    from mesoclaw_tui.service import RouterService

    async with await RouterService.open(None) as service:
        for c in range(conversations):
            conversation_id = await service.store.create_conversation(f"other conversation {c}")
            for m in range(messages):
                await service.store.add_message(conversation_id, "user", f"message {m} about routing and models {c}")


async def seed(count: int) -> int:
    from mesoclaw_tui.service import RouterService

    async with await RouterService.open(None) as service:
        store = service.store
        conversation_id = await store.create_conversation("a long conversation")
        await store.add_message(conversation_id, "user", "the tangerine question, at the very start")
        for i in range(count // 2):
            await store.add_message(conversation_id, "user", f"question number {i}: how does routing work?")
            usage = {"created_at": 0.0, "source": "chat", "task": "analysis", "profile": "balanced",
                     "provider": "openai", "model": "gpt-4o", "input_tokens": 20 + i, "output_tokens": 60,
                     "estimated": 0, "cost_usd": 0.0007, "outcome": "ok", "fallbacks": 0, "attempts": "[]",
                     "conversation_id": conversation_id}
            await store.record_reply(usage, {"conversation_id": conversation_id, "role": "assistant",
                                             "content": REPLY.format(n=i), "provider": "openai", "model": "gpt-4o",
                                             "task": "analysis", "status": "complete"})
        return conversation_id


async def seed_huge() -> int:
    from mesoclaw_tui.service import RouterService

    line = "a line of a very large pasted log file, with words in it to wrap and draw\n"
    async with await RouterService.open(None) as service:
        store = service.store
        conversation_id = await store.create_conversation("a huge paste")
        await store.add_message(conversation_id, "user", line * (20_000_000 // len(line)) + "the end of the paste")
        usage = {"created_at": 0.0, "source": "chat", "task": "analysis", "profile": "balanced", "provider": "openai",
                 "model": "gpt-4o", "outcome": "ok", "conversation_id": conversation_id}
        await store.record_reply(usage, {"conversation_id": conversation_id, "role": "assistant", "provider": "openai",
                                         "content": "- " + line * (4_000_000 // len(line)), "model": "gpt-4o",
                                         "task": "analysis", "status": "complete"})
        return conversation_id


async def open_huge(app, pilot, conversation_id: int, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        await app.screen.open_conversation(None)
        await pilot.pause()
        started = time.perf_counter()
        await app.screen.open_conversation(conversation_id)
        drawn = asyncio.Event()
        app.call_after_refresh(drawn.set)
        await drawn.wait()
        timings.append(time.perf_counter() - started)
    return timings


async def run(count: int, runs: int) -> None:
    from mesoclaw_tui.tui.app import MesoclawApp

    huge_id = await seed_huge()
    await seed_others()
    conversation_id = await seed(count)
    last_words = f"**{count // 2 - 1}**"
    app = MesoclawApp()
    timings = []
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready()
        await app.workers.wait_for_complete()
        screen = app.screen
        for _ in range(runs):
            await screen.open_conversation(None)  # an empty chat, then the long one
            await pilot.pause()
            started = time.perf_counter()
            await screen.open_conversation(conversation_id)
            drawn = asyncio.Event()
            app.call_after_refresh(drawn.set)
            await drawn.wait()
            timings.append(time.perf_counter() - started)
            text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
            assert last_words.strip("*") in text, "the latest message is not on screen"
        mounted = len(screen.transcript.messages)
        found, opened = await search_and_open(app, pilot, conversation_id, "the tangerine question", runs)
        huge = await open_huge(app, pilot, huge_id, runs)
    print(report.machine())
    print(f"conversation of {count:,} messages: latest messages on screen after "
          f"{report.spread(timings, 1000, 'ms', 0)}; {mounted} message widgets mounted")
    report.target("latest messages on screen (median)", statistics.median(timings) * 1000, 300, "ms", digits=0)
    print(f"search (3,000 messages indexed): the match listed {report.spread(found, 1000, 'ms', 0)} after the "
          f"last key (0.15 s of it the debounce); the conversation on screen {report.spread(opened, 1000, 'ms', 0)} "
          "after enter")
    report.target("searched conversation on screen at its match after enter (median)", statistics.median(opened) * 1000, 300,
                  "ms", digits=0)
    print(f"a 20 MB message and a 4 MB reply: on screen after {report.spread(huge, 1000, 'ms', 0)}")
    report.target("conversation with a 20 MB message on screen (median)", statistics.median(huge) * 1000, 300,
                  "ms", digits=0)


async def search_and_open(app, pilot, conversation_id: int, match: str, runs: int) -> tuple[list, list]:
    """ctrl+l, / and a word; then enter opens the conversation at the match, and the clock stops when
    `match` is drawn. The search waits out its debounce (the list searches 0.15 s after the last key),
    which is counted."""
    found, opened = [], []
    for _ in range(runs):
        await app.screen.open_conversation(None)
        await pilot.pause()
        await pilot.press("ctrl+l")
        while type(app.screen).__name__ != "ConversationPicker":
            await pilot.pause(0.005)
        await pilot.press("slash", *"tangerin")
        started = time.perf_counter()
        app.simulate_key("e")
        options = app.screen.query_one("#options")
        while not (options.option_count == 1 and "tangerine" in str(options.get_option_at_index(0).prompt)):
            await asyncio.sleep(0.002)
        found.append(time.perf_counter() - started)
        started = time.perf_counter()
        app.simulate_key("enter")  # as the terminal sends it (pilot.press would also wait for the app to idle)
        while type(app.screen).__name__ != "ChatScreen" or app.screen.conversation_id != conversation_id:
            await asyncio.sleep(0.002)
        while True:
            drawn = asyncio.Event()
            app.call_after_refresh(drawn.set)
            await drawn.wait()
            text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
            if match in text:
                break
        opened.append(time.perf_counter() - started)
    return found, opened


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    with tempfile.TemporaryDirectory() as home:
        os.environ["MESOCLAW_HOME"] = home
        asyncio.run(run(count, runs))


if __name__ == "__main__":
    main()
