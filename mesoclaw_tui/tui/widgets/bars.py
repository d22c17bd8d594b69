"""The bars of every screen: the top bar (where you are, which profile routes) and the footer."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget

from ..format import PROFILE_COLOURS, colour
from ..safe import neutralise


def budget_style(level: str) -> str:
    """The budget badge's style: dim, then yellow near a limit (80%), reversed red past it (without
    colour: bold, then reversed; the badge's ⚠ says it as well)."""
    return {"warn": f"bold {colour('yellow')}", "over": f"bold reverse {colour('red')}"}.get(level, "dim").strip()



class AppBar(Widget):
    """`mesoclaw │ Chat │ <context> … <meter>  profile BALANCED ^r`: the profile is always in sight;
    the meter is what the conversation has cost so far (the chat sets it)."""

    DEFAULT_CSS = """
    AppBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    context: reactive[str] = reactive("")
    profile: reactive[str] = reactive("")
    meter: reactive[str] = reactive("")
    budget: reactive[tuple[str, str]] = reactive(("", "ok"))  # the app's budget_badge: (text, level)

    def __init__(self, screen_name: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.screen_name = screen_name

    def on_mount(self) -> None:
        self.watch(self.app, "profile", self._profile_changed, init=True)
        if hasattr(self.app, "budget_badge"):
            self.watch(self.app, "budget_badge", self._budget_changed, init=True)

    def _profile_changed(self, profile: str) -> None:
        self.profile = profile

    def _budget_changed(self, budget: tuple[str, str]) -> None:
        self.budget = budget

    def render(self) -> Text:
        from ..keys import key_of

        width = self.size.width
        # With a meter or a budget at 80 columns, the word "profile" gives its room to the title (the
        # coloured chip and its key still say what it is).
        budget, level = self.budget
        spare = width - 100 if (self.meter or budget) and self.context else 1
        right = Text.assemble(
            (f"{self.meter}  " if self.meter else "", ""),
            (f"{budget}" if budget else "", budget_style(level)),
            ("  " if budget else "", ""),
            ("profile " if spare > 0 else "", "dim"),
            (f" {self.profile.upper() or '…'} ", f"bold reverse {PROFILE_COLOURS.get(self.profile, '')}".strip()),
            (f" {key_of(self.app, 'profile_cycle')} ", "dim"),
        )
        left = Text.assemble((" mesoclaw ", "bold"), ("│ ", "dim"), (self.screen_name, "bold"))
        if self.context:  # a conversation's title: the start of a prompt, which may be a pasted file
            left.append(" │ ", style="dim")
            room = max(0, width - left.cell_len - right.cell_len - 1)
            context = neutralise(self.context)
            context = context if len(context) <= room else context[: max(0, room - 1)] + "…"
            left.append(context)
        gap = max(1, width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right)


class KeyBar(Widget):
    """The footer: the keys of the screen in front, as one line of text.

    Textual's Footer builds a widget per key and rebuilds them all each time the bindings change
    (several times at start); with no mouse to click keys, one rendered line does the same job and
    took ~50 ms off the first paint. Too many keys for the width end in "…", the palette key stays.
    """

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .keybar--key { color: $footer-key-foreground; text-style: bold; }
    KeyBar > .keybar--description { color: $footer-description-foreground; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"keybar--key", "keybar--description"}

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        text_style = self.get_component_rich_style("keybar--description")
        dim = Style(dim=True)
        seen: set[str] = set()
        keys = Text(no_wrap=True, overflow="ellipsis")
        palette = Text()
        for active in self.screen.active_bindings.values():
            binding, enabled = active.binding, active.enabled
            if binding.action in ("command_palette", "app.command_palette") and self.app.ENABLE_COMMAND_PALETTE:
                palette = Text.assemble((f" {self.app.get_key_display(binding)}", key_style),
                                        (" palette ", text_style))
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            extra = dim if not enabled else Style()
            keys.append(f" {self.app.get_key_display(binding)}", key_style + extra)
            keys.append(f" {binding.description} ", text_style + extra)
        room = max(0, self.size.width - palette.cell_len - 1)
        keys.truncate(room, overflow="ellipsis", pad=True)
        return Text.assemble(keys, ("▏", text_style + dim) if palette else "", palette)
