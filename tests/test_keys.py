"""The [keys] registry (tui/keys.py) is the list of rebindable actions: every binding with an id in the
app is in it with the same default key, every action in it is a binding somewhere, and docs/tui.md
names each one. A bad [keys] table is one error naming the valid choices."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import mesoclaw_tui.tui.screens as screens
from mesoclaw_tui.tui.app import MesoclawApp
from mesoclaw_tui.tui.keys import ACTIONS, KeysError, keymap

from .conftest import REPO


def bindings_with_ids() -> dict[str, set[str]]:
    """{binding id: its keys} over the app and every screen and widget class of the app."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    for module in pkgutil.iter_modules(screens.__path__):
        importlib.import_module(f"{screens.__name__}.{module.name}")
    importlib.import_module("mesoclaw_tui.tui.widgets.attachments")
    found: dict[str, set[str]] = {}
    classes = [MesoclawApp, *_subclasses(DOMNode)]
    for cls in classes:
        if not cls.__module__.startswith("mesoclaw_tui"):
            continue
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                found.setdefault(binding.id, set()).update(k.strip() for k in binding.key.split(","))
    return found


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_every_binding_with_an_id_is_a_named_action_with_its_default_key() -> None:
    found = bindings_with_ids()
    assert set(found) == set(ACTIONS), "add the action to tui/keys.py ACTIONS (or give the binding an id)"
    for name, action in ACTIONS.items():
        assert action.default.split(",")[0] in found[name], name


def test_docs_name_every_action() -> None:
    text = (REPO / "docs" / "tui.md").read_text()
    missing = [name for name in ACTIONS if f"`{name}`" not in text]
    assert not missing, f"docs/tui.md does not list: {missing}"


@pytest.mark.parametrize(("table", "problem"), [
    ({"nope": "f5"}, "unknown action 'nope' (choose one of: profile_cycle, screen_chat"),
    ({"attach": "ctrl+i"}, "sends ctrl+i as tab"),
    ({"attach": "x"}, "a plain character would be taken from what you type"),
    ({"attach": "ctrl+k"}, "ctrl+k is given to both pick_model and attach"),
    ({"quit": "f1"}, "f1 is the chat's second key"),
    ({"attach": "hyper+banana"}, "is not a key"),
    ({"attach": "enter"}, "enter edits, moves or sends"),
    ({"attach": ""}, "must be a key as text"),
    ("f5", "[keys] must be a table"),
])
def test_a_bad_keys_table_is_one_error_naming_the_choices(table, problem) -> None:
    with pytest.raises(KeysError, match=None) as caught:
        keymap(table)
    assert problem in str(caught.value)


def test_a_good_keys_table_becomes_the_keymap() -> None:
    assert keymap({"attach": "f12", "copy_code": "ctrl+y, f11", "router_override": "?",
                   "pick_model": "ctrl+u", "profile_cycle": "ctrl+k"}) == {
        "attach": "f12", "copy_code": "ctrl+y,f11", "router_override": "question_mark",
        "pick_model": "ctrl+u", "profile_cycle": "ctrl+k"}
