"""The base of the screens that show what is in the database (chat, router settings, model browser).

Such a screen loads once it is mounted. When the database changes (another process committed, or the
profile changed here) the app calls `reload` on the screens of the mode in view and marks the
others stale; a stale screen reloads when it is shown again.
"""

from __future__ import annotations

from textual.screen import Screen

from ..host import MesoclawHost, host


class LiveScreen(Screen):
    def __init__(self) -> None:
        super().__init__()
        self.stale = False

    @property
    def host(self) -> MesoclawHost:
        """Mesoclaw's app (its service, engine and actions), typed."""
        return host(self)

    async def load(self) -> None:
        """The first load, after mounting; by default the same as a reload."""
        await self.reload()

    async def reload(self, *, config_only: bool = False) -> None:
        """Show the database as it is now; config_only when only the router settings changed."""
        self.stale = False

    def on_mount(self) -> None:
        # Textual calls this after the subclass's own on_mount (handlers of every class in the MRO run).
        self.run_worker(self.load(), name="load", exit_on_error=False)

    def on_screen_resume(self) -> None:
        if self.stale:
            self.run_worker(self.reload(), name="reload", exit_on_error=False)
