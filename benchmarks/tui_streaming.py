"""Streaming a long Markdown reply into the chat.

A local server streams a 20,000-token Markdown reply (headings, code fences, lists, a table) at
1,000 tokens/s in OpenAI's wire format; the real app (headless, run_test) shows it through the
real engine. Prints:

1. how long after the server sent the last token it is on screen (target <= 150 ms);
2. key-press handling latency while the reply streams: a key is typed into the prompt every
   ~100 ms and timed until it is handled and the screen refreshed (p95 target <= 50 ms).

    python3 benchmarks/tui_streaming.py [TOKENS] [TOKENS_PER_SECOND]
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_report as report  # noqa: E402

END_MARKER = "THE-END-OF-THE-REPLY"


PROSE = ("The router classifies each prompt into a task, looks up the active profile's chain for that "
         "task, and tries the candidates in order, skipping any provider that is not configured, cooling "
         "down or missing the model. ").split(" ")
CODE = ["```python\n", "def route(profile, task, registry):\n", "    chain = profile.chain_for(task)\n",
        "    for name in chain:\n", "        for model in registry.resolve(name):\n",
        "            if model.available:\n", "                return model\n", "    return profile.fallback\n",
        "```\n\n"]
LIST = ["- **eco** prefers low-cost models\n", "- **balanced** weighs quality against cost\n",
        "- **premium** goes for the most capable\n\n"]
TABLE = ["| profile | code | general | fast |\n", "|---|---|---|---|\n",
         "| eco | gemini-2.0-flash | gpt-4o-mini | gemini-2.0-flash |\n",
         "| balanced | claude-sonnet-4.5 | gpt-4o | gemini-2.0-flash |\n",
         "| premium | claude-opus-4.5 | claude-opus-4.5 | claude-sonnet-4.5 |\n\n"]


def markdown_tokens(count: int) -> list[str]:
    """`count` word-sized deltas of a long answer as a model writes it: sections of prose with a
    list and a code fence, and one table."""
    tokens: list[str] = []
    n = 0
    while len(tokens) < count - 1:
        n += 1
        tokens.append(f"## Part {n}\n\n")
        for _ in range(3):  # three paragraphs of ~35 words
            tokens.extend(w + " " for w in PROSE if w)
            tokens[-1] = tokens[-1].rstrip() + "\n\n"
        tokens.extend(LIST if n % 2 else CODE)
        if n == 3:
            tokens.extend(TABLE)
    return [*tokens[: count - 1], END_MARKER]


class StreamServer:
    """A minimal OpenAI-compatible SSE server, on its own thread and event loop (so its pacing does
    not compete with the app's), that notes when it sent the last token."""

    def __init__(self, tokens: list[str], rate: float) -> None:
        self.tokens = tokens
        self.rate = rate
        self.last_sent = 0.0
        self.done = threading.Event()

    def start(self) -> int:
        ready = threading.Event()
        port: list[int] = []

        def serve() -> None:
            async def main() -> None:
                server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
                port.append(server.sockets[0].getsockname()[1])
                ready.set()
                async with server:
                    await server.serve_forever()

            asyncio.run(main())

        threading.Thread(target=serve, daemon=True).start()
        ready.wait()
        return port[0]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        headers = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in headers.split(b"\r\n")
                       if line.lower().startswith(b"content-length")), 0)
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
        start = time.perf_counter()
        for i, token in enumerate(self.tokens):
            # paced against the clock, so slow ticks do not stretch the stream
            delay = start + i / self.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            chunk = {"choices": [{"index": 0, "delta": {"content": token}}]}
            writer.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            if i == len(self.tokens) - 1:
                await writer.drain()
                self.last_sent = time.perf_counter()
        usage = {"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": len(self.tokens)}}
        writer.write(b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n")
        await writer.drain()
        writer.close()
        self.done.set()


async def run(count: int, rate: float) -> None:
    from textual import events
    from textual.widgets import TextArea

    from mesoclaw_tui.tui.app import MesoclawApp
    from mesoclaw_tui.tui.widgets.messages import AssistantMessage
    from mesoclaw_tui.tui.widgets.prompt import PromptInput

    tokens = markdown_tokens(count)
    server = StreamServer(tokens, rate)
    port = server.start()
    os.environ.update({"OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
                       "MESOCLAW_OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"})
    handled: dict[str, float] = {}
    drawn: dict[str, float] = {}
    original = TextArea._on_key  # the prompt's own handler (PromptInput.on_key) only takes enter and ctrl+j

    async def timed_on_key(self, event: events.Key) -> None:
        await original(self, event)
        key = event.character or ""
        if isinstance(self, PromptInput) and key in pending:  # handled; then wait for the frame that shows it
            handled[key] = time.perf_counter()
            self.call_after_refresh(lambda k=key: drawn.setdefault(k, time.perf_counter()))

    TextArea._on_key = timed_on_key  # type: ignore[method-assign]
    pending: dict[str, float] = {}
    app = MesoclawApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready()
        await app.workers.wait_for_complete()
        while not app.screen.query(PromptInput):  # it replaces its slot right after the first frame
            await asyncio.sleep(0.01)
        prompt = app.screen.query_one(PromptInput)
        prompt.text = "write a long guide to routing"
        await pilot.press("enter")
        while not app.screen.query(AssistantMessage):
            await asyncio.sleep(0.01)
        view = app.screen.query(AssistantMessage).last()
        letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" * 20)
        latencies: list[float] = []
        handling: list[float] = []
        shown_at = None
        while shown_at is None:
            await asyncio.sleep(0.1)
            if not server.done.is_set():
                key = next(letters) + str(len(pending))
                char = key[0]
                pending[char] = time.perf_counter()
                handled.pop(char, None)
                drawn.pop(char, None)
                app.post_message(events.Key(char, char))  # what the driver does for a keypress
                while char not in drawn and time.perf_counter() - pending[char] < 2:
                    await asyncio.sleep(0.001)
                if char in drawn:
                    latencies.append(drawn[char] - pending[char])
                    handling.append(handled[char] - pending[char])
                pending.pop(char)
            if server.done.is_set():
                # on screen: the reply has drawn the last token and a frame has been drawn since
                while END_MARKER not in view.drawn_text:
                    await asyncio.sleep(0.001)
                drawn = asyncio.Event()
                app.call_after_refresh(drawn.set)
                await drawn.wait()
                shown_at = time.perf_counter()
        await app.workers.wait_for_complete()
        segments = view.segments
    def p95(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[max(0, int(len(ordered) * 0.95) - 1)]

    print(report.machine())
    print(f"{count:,} tokens at {rate:,.0f} tokens/s drawn as {segments + 1} Markdown parts")
    report.target("last token on screen after it was sent (one stream)", (shown_at - server.last_sent) * 1000, 150,
                  "ms", digits=1)
    for name, values in (("handled", handling), ("on screen", latencies)):
        print(f"  key press -> {name:<9} during the stream : {report.spread(values, 1000, 'ms', 1)}")
        report.target(f"key press -> {name} during the stream, p95", p95(values) * 1000, 50, "ms", digits=1)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 1_000.0
    with tempfile.TemporaryDirectory() as home:
        os.environ["MESOCLAW_HOME"] = home
        asyncio.run(run(count, rate))


if __name__ == "__main__":
    main()
