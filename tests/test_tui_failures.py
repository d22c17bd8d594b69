"""What the chat says under a reply that failed, for every failure kind: the real app, the real engine,
and a real HTTP server on 127.0.0.1 in place of the provider."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from mesoclaw_tui.core.failures import FailureKind
from mesoclaw_tui.tui.app import MesoclawApp
from tests.fakes.provider_server import FakeProviderServer, Respond, Stream
from tests.tui_helpers import no_unexpected_errors, screen_text, settle, wait_for

CONTEXT_TOO_LONG = Respond(400, {"error": {"message": "This model's maximum context length is 128000 tokens.",
                                           "type": "invalid_request_error", "param": "messages",
                                           "code": "context_length_exceeded"}})
# kind -> (providers configured, the upstream's behaviour, the model chosen for the message, words shown)
CASES: dict[str, tuple[tuple[str, ...], Any, str | None, tuple[str, ...]]] = {
    "no_provider": ((), None, None, ("No reply: no provider is configured", "OPENAI_API_KEY")),
    "no_available_model": (("openai",), None, "claude-haiku-4.5",
                           ("No reply: claude-haiku-4.5 cannot be used now", "ANTHROPIC_API_KEY")),
    "context_too_large": (("openai",), CONTEXT_TOO_LONG, None,
                          ("No reply: the request is too long for the context window", "ctrl+n")),
    "bad_request": (("openai",), Respond(400, {"error": {"message": "temperature: must be <= 1"}}), None,
                    ("No reply: the provider refused the request", "temperature: must be <= 1")),
    "all_failed": (("openai",), Respond(503, {"error": {"message": "overloaded"}}), None,
                   ("No reply: every candidate failed.", "1. openai:")),
    "incomplete": (("openai",), Stream("openai", ["half ", "way"], error_after=1), None,
                   ("failed mid-reply",)),
    "cancelled": (("openai",), Stream("openai", ["kept ", "lost"], stall_after=1), None,
                  ("CANCELLED: the partial reply is kept",)),
    # with MESOCLAW_MAX_REPLY_CHARS=12 (set below)
    "reply_too_large": (("openai",), Stream("openai", n=50), None,
                        ("Cut off:", "passed the cap of 12 characters", "the text up to the cap is kept")),
    # with a spent budget that refuses (config.toml, written below)
    "budget_exceeded": (("openai",), None, None,
                        ("No reply: budget: the daily budget of $0.00 is reached", "refused until tomorrow")),
}
# The chat sends plain text: no tools, images or response format, so no capability can be missing.
NOT_FROM_THE_CHAT = {FailureKind.MISSING_CAPABILITY.value}


def test_every_kind_is_shown() -> None:
    assert set(CASES) | NOT_FROM_THE_CHAT == {k.value for k in FailureKind}
    from mesoclaw_tui.tui.screens.chat import FAILURE_TEXT

    class Refused:
        error = "no available model has image input, which this request needs"

    assert FAILURE_TEXT[FailureKind.MISSING_CAPABILITY](Refused()) == f"No reply: {Refused.error}"


@pytest.mark.parametrize("kind", CASES)
async def test_the_chat_says_why_a_reply_failed(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    providers, upstream, model, words = CASES[kind]
    with FakeProviderServer() as server:
        for name, value in (server.env(*providers, api_key="test-key") if providers else {}).items():
            monkeypatch.setenv(name, value)
        if upstream is not None:
            server.default("*/chat/completions", upstream)
        if kind == "reply_too_large":
            monkeypatch.setenv("MESOCLAW_MAX_REPLY_CHARS", "12")
        if kind == "budget_exceeded":
            home = Path(os.environ["MESOCLAW_HOME"])
            home.mkdir(parents=True, exist_ok=True)
            (home / "config.toml").write_text('[budget]\ndaily = 0\nover = "refuse"\n')
        app = MesoclawApp()
        async with app.run_test(size=(100, 40)) as pilot:
            await settle(app, pilot)
            if model:
                await app.screen.apply_model_choice(model, "next")
            await pilot.press(*"tell me about the weather", "enter")
            await wait_for(pilot, lambda: app.screen._reply_worker is not None, what="the reply to start")
            if kind == "cancelled":
                await wait_for(pilot, lambda: "kept" in screen_text(app), what="the first token")
                await pilot.press("escape")
            await wait_for(pilot, lambda: not app.screen.streaming, timeout=10, what="the reply to end")
            await pilot.pause()
            reply = list(app.screen.query("AssistantMessage"))[-1]
            assert reply.status == FailureKind(kind).status
            shown = str(reply.query_one(".error").render()) + "\n" + str(reply.query_one(".label").render())
            for word in words:
                assert word in shown, shown
            no_unexpected_errors(app)
