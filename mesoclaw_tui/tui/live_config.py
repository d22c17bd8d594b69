"""config.toml, followed while the app runs: a key set with `mesoclaw providers set` or `mesoclaw setup`
in another shell, or a [keys] line edited, takes effect within a second, as a change to the
database does.

The app's 0.5 s poll asks `ConfigWatch.changed()` (one stat of the file: its time, size and inode,
since writers replace it whole); on a change the settings are read again in the service, the keymap
is applied again, and the screens reload. A file that cannot be used now is said once, and what was
in use stays.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App


class ConfigWatch:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.stamp = self._stamp()

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:  # no config.toml (yet): a state like any other
            return None
        return info.st_mtime_ns, info.st_size, info.st_ino

    def changed(self) -> bool:
        stamp = self._stamp()
        if stamp == self.stamp:
            return False
        self.stamp = stamp
        return True


def apply_keys(app: App[Any]) -> str | None:
    """Give the app the keys config.toml's [keys] names (the defaults where it names none). A [keys]
    table that cannot be used is said in a toast, and the defaults stay: returns that problem."""
    from .keys import configured

    service = getattr(app, "service", None)
    if service is None:
        return None
    keymap, problem = configured(service.settings.paths.config_path)
    from .widgets.bars import AppBar

    app.set_keymap(keymap)
    for screen in app.screen_stack:
        screen.refresh_bindings()
        for bar in screen.query(AppBar):
            bar.refresh()  # its "^r" is the profile key
    if problem:
        app.notify(problem, title="config.toml: [keys] not used", severity="error", timeout=15)
    return problem


async def config_changed(app: App[Any]) -> None:
    """config.toml changed: the settings, the keys and every screen that shows them."""
    from ..core.types import MesoclawError, MesoclawFailure

    service = getattr(app, "service", None)
    if service is None:
        return
    try:
        service.reload_settings()
    except (MesoclawError, MesoclawFailure) as exc:
        app.notify(f"{exc}; the settings read before stay in use", title="config.toml not used",
                   severity="error", timeout=15)
        return
    apply_keys(app)
    await app.refresh_screens()  # type: ignore[attr-defined]  (MesoclawApp's)
    await app.refresh_budget()  # type: ignore[attr-defined]  ([budget] lives in config.toml)
    await _provider_hint(app, bool(service.settings.configured()))


async def _provider_hint(app: App[Any], configured: bool) -> None:
    """The chat's "no provider" notice goes once a provider is configured."""
    if not configured:
        return
    try:
        stack = app.get_screen_stack("chat")
    except KeyError:  # the chat was never shown
        return
    for screen in stack:
        for notice in screen.query("#no-provider"):
            await notice.remove()
