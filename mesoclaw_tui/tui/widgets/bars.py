"""The one-line bar at the top of every screen: where you are and which profile routes."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ..format import PROFILE_COLOURS


class AppBar(Widget):
    """`mesoclaw │ Chat │ <context> …  profile BALANCED ^r`: the profile is always in sight."""

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

    def __init__(self, screen_name: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.screen_name = screen_name

    def on_mount(self) -> None:
        self.watch(self.app, "profile", self._profile_changed, init=True)

    def _profile_changed(self, profile: str) -> None:
        self.profile = profile

    def render(self) -> Text:
        width = self.size.width
        right = Text.assemble(
            ("profile ", "dim"),
            (f" {self.profile.upper() or '…'} ", f"bold reverse {PROFILE_COLOURS.get(self.profile, '')}".strip()),
            (" ^r ", "dim"),
        )
        left = Text.assemble((" mesoclaw ", "bold"), ("│ ", "dim"), (self.screen_name, "bold"))
        if self.context:
            left.append(" │ ", style="dim")
            room = max(0, width - left.cell_len - right.cell_len - 1)
            context = self.context if len(self.context) <= room else self.context[: max(0, room - 1)] + "…"
            left.append(context)
        gap = max(1, width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right)
