"""The app's named actions and the keys config.toml gives them:

    [keys]
    profile_cycle = "ctrl+r"
    attach = "f12"
    copy_code = "ctrl+y,f11"        # several keys: comma-separated

Each action is a Textual Binding with an `id` (its name here); the keys configured become the app's
keymap (`App.set_keymap`), so the footer, the palette and the top bar show them as configured. A
binding someone adds is rebindable once it has an `id` and a line in ACTIONS (a test checks both
ways). The whole [keys] table is checked before any of it is used: an unknown action, a key a
terminal cannot send apart from another, a plain letter for an action that works while you type,
or two actions on one key is one error naming the valid choices, and the default keys stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Where an action's key works. "app" keys work on every screen; "chat" keys work while you type.
SCOPES = ("app", "chat", "router", "models")
TYPING_SCOPES = ("app", "chat")  # priority bindings, live while the prompt has the focus


@dataclass(frozen=True)
class KeyAction:
    default: str
    scope: str
    does: str


ACTIONS: dict[str, KeyAction] = {
    "profile_cycle": KeyAction("ctrl+r", "app", "cycle the routing profile eco → balanced → premium"),
    "screen_chat": KeyAction("ctrl+t", "app", "go to the chat"),
    "screen_router": KeyAction("ctrl+o", "app", "go to the router settings"),
    "screen_models": KeyAction("ctrl+f", "app", "go to the model browser"),
    "jobs": KeyAction("ctrl+e", "app", "scheduled jobs"),
    "theme": KeyAction("f9", "app", "light / dark theme"),
    "palette": KeyAction("ctrl+p", "app", "the command palette"),
    "quit": KeyAction("ctrl+q", "app", "quit"),
    "cancel_reply": KeyAction("escape", "chat", "cancel the reply that is streaming"),
    "pick_model": KeyAction("ctrl+k", "chat", "choose the model yourself"),
    "new_chat": KeyAction("ctrl+n", "chat", "new conversation"),
    "conversations": KeyAction("ctrl+l", "chat", "conversations: search, open, rename, delete"),
    "copy_reply": KeyAction("ctrl+g", "chat", "copy the last reply"),
    "copy_code": KeyAction("ctrl+y", "chat", "pick a code block of the last reply and copy it"),
    "attach": KeyAction("ctrl+u", "chat", "attach a file to the next message"),
    "system_prompt": KeyAction("f4", "chat", "this conversation's system prompt; apply a preset"),
    "regenerate": KeyAction("f5", "chat", "ask the last message again (the reply is kept as an alternative)"),
    "escalate": KeyAction("f6", "chat", "ask the last message again of the next tier's model"),
    "previous_alternative": KeyAction("f7", "chat", "the previous alternative of the last reply"),
    "next_alternative": KeyAction("f8", "chat", "the next alternative of the last reply"),
    "toggle_agent": KeyAction("f10", "chat", "agent mode on/off for this conversation (tool-using runs)"),
    "router_override": KeyAction("o", "router", "override the selected task's model"),
    "router_clear_override": KeyAction("x", "router", "clear the selected task's override"),
    "router_edit_chain": KeyAction("e", "router", "edit the selected task's custom chain"),
    "router_clear_chain": KeyAction("c", "router", "clear the selected task's custom chain"),
    "models_override": KeyAction("o", "models", "use the selected model as a task's override"),
    "models_provider": KeyAction("p", "models", "next provider filter"),
    "models_add": KeyAction("ctrl+n", "models", "add a model"),
}

# Keys that edit, move or send in the prompt and the lists: never given to an action.
RESERVED = frozenset({"enter", "tab", "shift+tab", "backspace", "up", "down", "left", "right", "ctrl+j",
                      "pageup", "pagedown", "home", "end", "space"})
# A terminal sends these as the very bytes of another key.
SAME_BYTES = {"ctrl+m": "enter", "ctrl+i": "tab", "ctrl+h": "backspace", "ctrl+left_square_bracket": "escape"}
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
NAMED = frozenset({"escape", "insert", "delete", *(f"f{n}" for n in range(1, 25)), *RESERVED})
# Keys bound without a name (second keys of the screens), which no action may take.
FIXED = {"f1": "the chat's second key", "f2": "the router settings' second key",
         "f3": "the model browser's second key"}


class KeysError(ValueError):
    """A [keys] table that cannot be used: one line, naming the valid choices."""


def keymap(table: Any) -> dict[str, str]:
    """The keymap of a [keys] table (action name -> keys), checked whole; KeysError otherwise."""
    from textual.keys import _normalize_key_list

    if not isinstance(table, Mapping):
        raise KeysError("[keys] must be a table of action = \"key\" lines")
    chosen: dict[str, str] = {}
    for name, value in table.items():
        if name not in ACTIONS:
            raise KeysError(f"[keys] unknown action '{name}' (choose one of: {', '.join(ACTIONS)})")
        if not isinstance(value, str) or not value.strip():
            raise KeysError(f"[keys] {name} must be a key as text, e.g. \"{ACTIONS[name].default}\"")
        keys = [_key(name, key.strip()) for key in value.split(",")]
        chosen[name] = _normalize_key_list(",".join(keys))
    _refuse_clashes(chosen)
    return chosen


def _valid_bases() -> frozenset[str]:
    from textual.keys import _character_to_key

    return NAMED | {_character_to_key(chr(c)) for c in range(33, 127)}


def _key(name: str, key: str) -> str:
    """One key, checked: modifiers and a key name, or one printable character."""
    from textual.keys import _character_to_key

    *modifiers, base = key.split("+") if len(key) > 1 else [key]
    lowered = key.lower()
    if lowered in SAME_BYTES or lowered == "ctrl+[":
        raise KeysError(f"[keys] {name} = \"{key}\": a terminal sends {key} as "
                        f"{SAME_BYTES.get(lowered, 'escape')}; choose another key")
    base_name = _character_to_key(base) if len(base) == 1 else base.lower()
    if any(m not in MODIFIERS for m in modifiers) or base_name not in _valid_bases():
        raise KeysError(f"[keys] {name} = \"{key}\" is not a key: write modifiers ({', '.join(MODIFIERS)}) and a "
                        "key joined by +, e.g. ctrl+r, f5, alt+x (keys: a letter, digit or sign, escape, "
                        "delete, insert, f1-f24)")
    if lowered in RESERVED:
        raise KeysError(f"[keys] {name} = \"{key}\": {key} edits, moves or sends; choose another key")
    if key in FIXED:
        raise KeysError(f"[keys] {name} = \"{key}\": {key} is {FIXED[key]}; choose another key")
    if not modifiers and len(base) == 1 and ACTIONS[name].scope in TYPING_SCOPES:
        raise KeysError(f"[keys] {name} = \"{key}\": a plain character would be taken from what you type; use a "
                        "modifier (ctrl+…, alt+…) or a function key")
    return key


def _refuse_clashes(chosen: Mapping[str, str]) -> None:
    """Two actions that can be live at once (the same screen, or the app and a screen) on one key."""
    from textual.keys import _normalize_key_list

    owners: dict[tuple[str, str], str] = {(scope, key): what for key, what in FIXED.items() for scope in SCOPES[1:]}
    for name, action in ACTIONS.items():
        for key in (chosen.get(name) or _normalize_key_list(action.default)).split(","):
            for scope in SCOPES[1:] if action.scope == "app" else (action.scope,):
                other = owners.get((scope, key))
                if other is not None:
                    raise KeysError(f"[keys] {key} is given to both {other} and {name}: give one of them another key")
                owners[(scope, key)] = name


def key_of(app: Any, name: str) -> str:
    """The key an action has now (the first, if several), as the footer writes it."""
    keys = getattr(app, "_keymap", {}).get(name) or ACTIONS[name].default
    first = keys.split(",")[0]
    return app.get_key_display(_binding(first)) if hasattr(app, "get_key_display") else first


def _binding(key: str) -> Any:
    from textual.binding import Binding

    return Binding(key, "")


def configured(path: Any) -> tuple[dict[str, str], str | None]:
    """The keymap config.toml's [keys] gives (empty without one), and the problem that kept it from
    being used, if any."""
    from ..core.types import MesoclawError, MesoclawFailure
    from ..settings import read_config_file

    try:
        table = read_config_file(path).get("keys")
    except (MesoclawError, MesoclawFailure) as exc:
        return {}, str(exc)
    if table is None:
        return {}, None
    try:
        return keymap(table), None
    except KeysError as exc:
        return {}, f"{path}: {exc}"
