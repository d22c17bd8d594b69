"""Presets, and what a conversation keeps for every turn: its system prompt and a preset's settings
(part of RouterService)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..core.types import MesoclawError

if TYPE_CHECKING:
    from ..store import Store
    from .conversation_records import ChatSettings, Conversation
    from .preset_records import Preset

# The values (preset_records.py) are imported by each method: opening the service defines none of them.


class PresetsMixin:
    """Part of RouterService (which provides the store and model names)."""

    store: Store

    if TYPE_CHECKING:
        async def normalise_model_name(self, name: str) -> str: ...
        async def require_conversation(self, conversation_id: int) -> Conversation: ...

    async def presets(self) -> list[Preset]:
        from .preset_records import Preset

        return [Preset.from_row(r) for r in await self.store.presets()]

    async def preset(self, name: str) -> Preset | None:
        from .preset_records import Preset

        row = await self.store.preset(name.strip())
        return Preset.from_row(row) if row else None

    async def require_preset(self, name: str) -> Preset:
        preset = await self.preset(name)
        if preset is None:
            names = [p.name for p in await self.presets()]
            choices = f"presets: {', '.join(names)}" if names else "there are none yet"
            raise MesoclawError(f"no preset '{name.strip()}' ({choices}; `mesoclaw presets add NAME --system …` "
                                "makes one)")
        return preset

    async def add_preset(self, name: str, *, system: str | None = None, profile: str | None = None,
                         model: str | None = None, temperature: float | str | None = None,
                         max_tokens: int | str | None = None, replace: bool = False) -> tuple[Preset, bool]:
        """Store a preset, checked whole first (its model against the registry); returns it and whether
        it replaced one. One that exists is refused unless replace is given (then replaced whole)."""
        from .preset_records import check_preset

        preset = check_preset(name, system=system, profile=profile, model=model, temperature=temperature,
                              max_tokens=max_tokens)
        if preset.model is not None:
            from dataclasses import replace as with_

            preset = with_(preset, model=await self.normalise_model_name(preset.model))
        existed = await self.store.preset(preset.name) is not None
        if not await self.store.save_preset(preset.columns(), time.time(), replace=replace):
            raise MesoclawError(f"a preset named '{preset.name}' exists: give --replace to replace it "
                                f"(`mesoclaw presets show {preset.name}` shows it)")
        return preset, existed

    async def remove_preset(self, name: str) -> None:
        if not await self.store.remove_preset(name.strip()):
            await self.require_preset(name)  # says which presets there are

    # what a conversation keeps -----------------------------------------------------------------------

    async def keep_settings(self, conversation_id: int, settings: ChatSettings) -> None:
        """The conversation keeps these settings (all of them: unset ones are cleared) from now on."""
        await self.store.update_conversation(conversation_id, **settings.columns())

    async def set_system_prompt(self, conversation_id: int, text: str | None) -> str | None:
        """The conversation's system prompt from now on (blank: none); the rest it keeps is unchanged."""
        from .preset_records import check_system

        system = check_system(text)
        await self.store.update_conversation(conversation_id, system_prompt=system)
        return system

    async def apply_preset(self, conversation_id: int, name: str) -> Preset:
        """The preset's settings replace what the conversation kept (system prompt, profile, model,
        temperature, max tokens)."""
        preset = await self.require_preset(name)
        await self.require_conversation(conversation_id)
        await self.keep_settings(conversation_id, preset.settings)
        return preset
