"""What screens and widgets may use of the app beyond Textual's own API, typed.

`host(node)` is mesoclaw's app as seen from any widget or screen: its service (once the database is
open), its engine, and the few app actions screens call. It is a Protocol, not the app class, so the
screens do not import the app module (which imports them): no import cycle, and no `type: ignore`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from ..engine import Engine
    from ..service import RouterService


class MesoclawHost(Protocol):
    service: RouterService | None  # None until the database is open, or when it could not be
    open_error: str | None  # why the database could not be opened

    @property
    def engine(self) -> Engine: ...

    async def ready(self) -> RouterService | None:
        """The service once it is open (None when it could not be opened)."""

    def report(self, error: BaseException, title: str = "Error") -> None:
        """An error a handler caught, as a notification (a bug's traceback goes to the log)."""

    async def set_profile(self, name: str) -> None: ...

    async def refresh_screens(self, *, config_only: bool = False) -> None:
        """Reload the screens that show the database (the visible ones now, the others when shown)."""

    async def refresh_budget(self, verdict: object = None) -> None:
        """The top bar's budget badge (from a reply's verdict, or checked afresh), and its toasts."""


def host(node: DOMNode) -> MesoclawHost:
    """The app `node` belongs to, as mesoclaw's app (MesoclawApp is the one app these widgets run in)."""
    return cast(MesoclawHost, node.app)
