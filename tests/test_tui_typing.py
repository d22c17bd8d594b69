"""Keys typed faster than the app handles them are applied in the order they were typed, in every
text field of the app (issue 11, item 4), and a model list ranks an exact name first (item 1).

`burst` posts every key event at once, the way a terminal delivers a tmux send-keys or a fast typist
over SSH: the app reads them all before handling the first. Textual runs a field's own bindings
(backspace, ctrl+u, the arrows) only once the key has bubbled up to the app, so before the fix the
letters typed after a backspace overtook it (`claude lo` instead of `available`).
"""

from __future__ import annotations

import ast
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import events
from textual.keys import _character_to_key

from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from tests.fakes.provider_server import FakeProviderServer
from tests.tui_helpers import fake_providers, no_unexpected_errors, screen_text, settle, wait_for

TUI = Path(__file__).resolve().parents[1] / "mesoclaw_tui" / "tui"
BS = ["backspace"]


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderServer]:
    with fake_providers(monkeypatch, "openai") as server:
        yield server


def keys(*parts: str | list[str]) -> list[events.Key]:
    """A string: its characters typed; a list: key names pressed (["backspace"] * 10, ["ctrl+u"])."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out += [events.Key(ch if ch.isalnum() else _character_to_key(ch), ch) for ch in part]
        else:
            out += [events.Key(name, None) for name in part]
    return out


async def burst(app: MesoclawApp, pilot, strokes: list[events.Key]) -> None:
    """All the keys at once, without waiting for any to be handled; then let the app catch up."""
    for stroke in strokes:
        app.post_message(stroke)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if not any(w for w in app.workers if w.group not in ("dialog", "poll") and not w.is_finished):
            break
    await pilot.pause(0.1)


CLAUDE_THEN_AVAILABLE = keys("claude low", BS * 10, "available")


async def test_the_model_browser_search_takes_keys_in_order() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+f")
        await settle(app, pilot)
        search = app.screen.query_one("#search")
        await burst(app, pilot, CLAUDE_THEN_AVAILABLE)  # the keys of the report
        assert search.value == "available"
        await burst(app, pilot, keys(BS * 9, "claude low", BS * 10, "haiku"))
        assert search.value == "haiku"
        # the list shows what the field says, and the filter left the field alone
        assert app.screen.matches and all("haiku" in e.haystack for e in app.screen.matches)
        await burst(app, pilot, keys(["ctrl+u"], "gpt", ["left"] * 3, "o3 ", ["end"], "-6"))
        assert search.value == "o3 gpt-6"
        no_unexpected_errors(app)


async def test_the_chain_editor_takes_keys_in_order() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        await pilot.press("e")  # the code task's chain
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TextPrompt", what="the editor")
        await burst(app, pilot, keys(["ctrl+u"], "gpt-6-astra,gpt-6-lunx", BS, "a"))
        assert app.screen.query_one("#value").value == "gpt-6-astra,gpt-6-luna"
        await burst(app, pilot, keys(["enter"]))
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RouterScreen", what="the table")
        await settle(app, pilot)
        no_unexpected_errors(app)
    async with await RouterService.open(None) as service:
        assert (await service.get_router_config()).custom_routes["code"] == ("gpt-6-astra", "gpt-6-luna")


async def test_the_add_model_form_takes_keys_in_order() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+f")
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "AddModelForm", what="the form")
        form = app.screen
        typed = {"model": keys("my-modle", BS * 2, "el"), "context": keys("256", BS, "8k"),
                 "price-in": keys("1.5", ["home"], "$"), "price-out": keys("7", BS, "6")}
        for name, strokes in typed.items():
            form.query_one(f"#{name}").focus()
            await burst(app, pilot, strokes)
        values = {name: form.query_one(f"#{name}").value for name in typed}
        assert values == {"model": "my-model", "context": "258k", "price-in": "$1.5", "price-out": "6"}
        no_unexpected_errors(app)


async def test_the_rename_dialog_takes_keys_in_order() -> None:
    async with await RouterService.open(None) as service:
        conversation_id = await service.create_conversation("old title")
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConversationPicker", what="the list")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TextPrompt", what="the rename")
        await burst(app, pilot, keys(["ctrl+u"], "routing notez", BS, "s", ["enter"]))
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChatScreen", what="the chat")
        await settle(app, pilot)
        no_unexpected_errors(app)
    async with await RouterService.open(None) as service:
        assert (await service.conversation(conversation_id)).title == "routing notes"


async def test_the_chat_prompt_takes_keys_in_order() -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await wait_for(pilot, lambda: app.screen.query_one("#prompt").can_focus, what="the prompt")
        prompt = app.screen.query_one("#prompt")
        await burst(app, pilot, keys("claude low", BS * 10, "helo", ["left"], "l", ["end"], " world"))
        assert prompt.text == "hello world"
        no_unexpected_errors(app)


async def test_the_model_picker_takes_keys_in_order_and_picks_the_exact_name(openai_server) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ModelPicker", what="the picker")
        await burst(app, pilot, keys("gpt-4o-mini", BS * 5))
        assert app.screen.query_one("#filter").value == "gpt-4o"
        await burst(app, pilot, keys(["enter"]))
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChatScreen", what="the chat")
        assert app.screen.next_model == "gpt-4o"  # not gpt-4o-mini, which the old order put first
        no_unexpected_errors(app)


@pytest.mark.parametrize(("typed", "first"), [
    ("gpt-4o", "gpt-4o"),  # canonical name: before gpt-4o-mini
    ("openai:gpt-4o", "gpt-4o"),  # provider:id
    ("claude-opus-5-5", "claude-opus-5.5"),  # an alias (Anthropic's id)
    ("gpt-4o-mi", "gpt-4o-mini"),  # a prefix
    ("g6astra", "gpt-6-astra"),  # nothing matches the words: characters in order
])
async def test_every_model_list_ranks_an_exact_name_first(openai_server, typed: str, first: str) -> None:
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+o")  # the override picker of the router screen
        await settle(app, pilot)
        await pilot.press("o")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ModelPicker", what="the picker")
        await pilot.press(*typed)
        options = app.screen.query_one("#options")
        assert options.get_option_at_index(options.highlighted).id == first
        await pilot.press("escape")
        await pilot.press("ctrl+f")  # the model browser ranks the same way
        await settle(app, pilot)
        await pilot.press(*typed)
        top = app.screen.matches[0].model
        assert top.canonical == first
        assert f" {top.model_id} " in screen_text(app).split("\n")[5]  # the first row
        no_unexpected_errors(app)


def test_every_text_field_of_the_app_takes_keys_in_order() -> None:
    """No Input or TextArea is built in the app but through Field or a class mixing OrderedKeys in."""
    bare = []
    for path in TUI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "Input", "TextArea"):
                bare.append(f"{path.relative_to(TUI)}:{node.lineno}")
            if isinstance(node, ast.ClassDef):
                bases = [getattr(b, "id", getattr(b, "attr", "")) for b in node.bases]
                if {"Input", "TextArea"} & set(bases) and "OrderedKeys" not in bases:
                    bare.append(f"{path.relative_to(TUI)}:{node.lineno} class {node.name}")
    assert bare == []


def test_the_ranking_itself() -> None:
    from mesoclaw_tui.tui.model_match import ranked

    models = {"gpt-4o-mini": ("gpt-4o-mini",), "o4": ("o4", "openai/o4-4o"), "gpt-4o": ("gpt-4o", "openai:gpt-4o"),
              "chatgpt-4o": ("chatgpt-4o",)}
    names = models.__getitem__

    def haystack(name: str) -> str:
        return " ".join(models[name])

    assert ranked(models, "gpt-4o", names, haystack) == ["gpt-4o", "gpt-4o-mini", "chatgpt-4o"]
    assert ranked(models, "OPENAI:GPT-4O ", names, haystack) == ["gpt-4o"]  # case and spaces aside
    assert ranked(models, "4o", names, haystack) == ["gpt-4o-mini", "o4", "gpt-4o", "chatgpt-4o"]  # words: list order
    assert ranked(models, "gpt4o", names, haystack) == ["gpt-4o-mini", "gpt-4o", "chatgpt-4o"]  # in order, as a fallback
    assert ranked(models, "zz", names, haystack) == []
    assert ranked(models, "", names, haystack) == list(models)
