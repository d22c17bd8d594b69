"""What the app keeps between runs (preferences), and the settings re-read when config.toml changes
or a provider is set up (the app's setup screen and `mesoclaw setup` both go through here).

A key given at setup goes to config.toml (mode 0600, through settings.update_config_file), never to
the database; the settings are then read again, so the provider is usable at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..core.provider_info import provider_info
from ..core.types import MesoclawError
from ..settings import ENV_NAME, ProviderSettings, Settings, load_settings

if TYPE_CHECKING:
    from ..store import Store

# The preferences the app remembers, and the values each may take.
PREFERENCES: dict[str, tuple[str, ...]] = {
    "theme": ("dark", "light"),
    "last_screen": ("chat", "router", "models"),
}


def key_problem(key: str) -> str | None:
    """Why a pasted API key cannot be one (said without repeating it), or None."""
    if not key:
        return "the key is empty"
    if any(c.isspace() for c in key):
        return "the key has spaces or line breaks in it (paste the key alone)"
    if not key.isprintable() or not key.isascii():
        return "the key has characters no API key has (control or non-ASCII characters)"
    if len(key) > 4096:
        return "the key is longer than 4096 characters"
    return None


class AppStateMixin:
    """Part of RouterService (which provides `store`, `settings` and `invalidate`)."""

    store: Store
    settings: Settings
    environ: Mapping[str, str] = os.environ  # what RouterService.open read the keys from

    if TYPE_CHECKING:
        def invalidate(self) -> None: ...

    async def preferences(self) -> dict[str, str]:
        """The remembered preferences with a known name and value (a hand edit may have left others)."""
        stored = await self.store.preferences()
        return {name: value for name, value in stored.items() if value in PREFERENCES.get(name, ())}

    async def set_preference(self, name: str, value: str) -> None:
        choices = PREFERENCES.get(name)
        if choices is None:
            raise MesoclawError(f"unknown preference '{name}' (choose one of: {', '.join(PREFERENCES)})")
        if value not in choices:
            raise MesoclawError(f"{name} cannot be '{value}' (choose one of: {', '.join(choices)})")
        await self.store.set_preference(name, value)

    def reload_settings(self) -> Settings:
        """Read config.toml and the environment again (config.toml changed). A bad file raises the
        same MesoclawError it does at start, and the settings in use stay as they were."""
        self.settings = load_settings(self.settings.paths, self.environ)
        self.invalidate()
        return self.settings

    async def configure_provider(self, provider: str, *, api_key: str | None = None,
                                 api_key_env: str | None = None) -> ProviderSettings:
        """Give a provider its key (kept in config.toml) or the name of the environment variable that
        holds it (a provider without keys, Ollama, is enabled), then use the new settings. Bad input
        raises a MesoclawError that never repeats the key."""
        import asyncio

        from ..settings import update_config_file

        info = provider_info(provider)
        pid = info.id
        if api_key is not None and api_key_env is not None:
            raise MesoclawError("give the key itself or the name of the environment variable that holds it, not both")
        if api_key is not None:
            api_key = api_key.strip()
            problem = key_problem(api_key)
            if problem:
                raise MesoclawError(problem)
            section: dict[str, object] = {"api_key": api_key}
        elif api_key_env is not None:
            name = api_key_env.strip()
            if not ENV_NAME.fullmatch(name):
                raise MesoclawError("an environment variable's NAME is letters, digits and _ (e.g. OPENAI_API_KEY)")
            section = {"api_key_env": name}
        elif not info.needs_key:  # Ollama: used once enabled (its host is OLLAMA_HOST or the default)
            section = {"enabled": True}
        else:
            raise MesoclawError(f"{info.name} needs an API key, or the name of the environment variable holding it")

        def change(data: dict) -> None:
            providers = data.setdefault("providers", {})
            # the new key replaces the old one; a provider set up is used even if it had been disabled
            table = {k: v for k, v in dict(providers.get(pid, {})).items()
                     if k not in ("api_key", "api_key_env") and not (k == "enabled" and v is False)}
            providers[pid] = {**table, **section}

        await asyncio.to_thread(update_config_file, self.settings.paths.config_path, change)
        return self.reload_settings().providers[pid]
