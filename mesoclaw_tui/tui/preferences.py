"""What the app remembers between runs: the theme (f9) and the screen it was on. They are kept in the
database (`preferences`), read before the first frame with the profile (one stdlib read, see
service/peek.py) so the app opens as it was left, and written as they change.

Settings a user writes by hand (provider keys, [keys]) are config.toml's; a conversation's pinned
model is the conversation's own (conversations.model_override).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

DARK_THEME, LIGHT_THEME = "textual-dark", "textual-light"
THEMES = {"dark": DARK_THEME, "light": LIGHT_THEME}
MODES = ("chat", "router", "models")


def start_state(db: str | None) -> tuple[str, str, str]:
    """(profile, Textual theme, mode) as the database has them now; ("", dark, chat) when it cannot tell."""
    from ..service.peek import first_frame

    try:
        profile, preferences = first_frame(db)
    except Exception:  # a bad path or environment: the service reports it once it opens
        return "", DARK_THEME, "chat"
    mode = preferences.get("last_screen", "chat")
    return profile or "", THEMES.get(preferences.get("theme", ""), DARK_THEME), mode if mode in MODES else "chat"


def theme_name(theme: str) -> str:
    return "light" if theme == LIGHT_THEME else "dark"


def remember(app: App[Any], name: str, value: str) -> None:
    """Save a preference in the background; a database that cannot take it now only loses the preference."""
    app.run_worker(_save(app, name, value), group="remember", exit_on_error=False)


async def _save(app: App[Any], name: str, value: str) -> None:
    from .errors import write_log

    service = await app.ready()  # type: ignore[attr-defined]  (MesoclawApp's: the service once open)
    if service is None:
        return
    try:
        await service.set_preference(name, value)
    except Exception as exc:  # never worth a toast: the choice itself took effect
        write_log(app, exc)
