"""A message far over the transcript's display limit (a huge paste, a reply at the reply cap): the
chat opens it at once, shows its start and says how much is not shown; the copy key still copies the
whole reply, and the database keeps every byte (issue 10: a 20 MB message froze the app for 25 s)."""

from __future__ import annotations

import time

from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from tests.tui_helpers import no_unexpected_errors, screen_text, settle

LINE = "a line of a very large pasted log file\n"


async def test_a_huge_message_shows_its_start_and_says_what_is_not_shown(isolated_env) -> None:
    paste = "FIRST LINE OF THE PASTE\n" + LINE * 60_000 + "the end of the paste"  # 2.3 MB
    reply = "START OF THE REPLY\n\n" + LINE * 30_000 + "THE LAST WORDS"
    async with await RouterService.open(None) as service:
        conversation_id = await service.store.create_conversation("a huge paste")
        await service.store.add_message(conversation_id, "user", paste)
        await service.store.record_reply({"created_at": time.time(), "source": "chat", "outcome": "ok",
                                          "conversation_id": conversation_id},
                                         {"conversation_id": conversation_id, "role": "assistant", "content": reply,
                                          "status": "complete"})
    app = MesoclawApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await app.screen.open_conversation(conversation_id)
        await settle(app, pilot)
        user = next(w for w in app.screen.transcript.messages if type(w).__name__ == "UserMessage")
        said = str(user.render())
        assert said.startswith("FIRST LINE OF THE PASTE") and "the end of the paste" not in said
        assert "more characters not shown" in said and f"({len(paste):,} in all)" in said
        shown = screen_text(app)  # the end of the transcript: the reply's start and its note
        assert "ctrl+g copies the whole reply" in shown and "THE LAST WORDS" not in shown
        copied: list[str] = []
        app.copy_to_clipboard = copied.append  # what OSC 52 would carry
        await pilot.press("ctrl+g")
        assert copied == [reply]  # the whole reply, not the part on screen
        no_unexpected_errors(app)
