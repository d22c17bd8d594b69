"""Text fields whose keys are applied in the order they were typed.

Textual inserts a typed character in the focused Input or TextArea at once, but runs a key bound to
the field itself (backspace, delete, the arrows, home, end, ctrl+u, enter…) only after its event has
bubbled up to the app: one message queue per ancestor later. Keys that arrive together (tmux
send-keys, a paste of keystrokes, a fast typist over SSH) are then applied out of order: `claude low`,
ten backspaces and `available` read `claude lo`, the backspaces landing after the letters. (Textual
issue 6605; the fix proposed upstream, PR 6631, does what `OrderedKeys` does.)

`OrderedKeys` runs the field's own bindings as the key reaches the field, before the next key is
read. Bindings of the screen or the app still bubble as usual. Every text field of the app is one of
these: `Field` (an Input) or a TextArea subclass that mixes it in (the chat's prompt).
"""

from __future__ import annotations

from typing import Any

from textual import events


class OrderedKeys:
    """Mixed into an Input or TextArea (before it): the widget's own key bindings run in order."""

    async def on_key(self, event: events.Key) -> None:
        widget: Any = self
        active = widget.screen.active_bindings.get(event.key)
        # Only a binding of this very widget, enabled and not a priority one (those ran before the
        # key reached the widget); anything else goes the usual way.
        if active is None or active.node is not widget or active.binding.priority or not active.enabled:
            return
        # False when the action declined the key (SkipAction: `down` in a one-line Input is not a
        # scroll): then the key goes on to the screen's bindings as it would have.
        if await widget.app.run_action(active.binding.action, widget):
            event.stop()
            event.prevent_default()
