"""What a stored conversation keeps for every turn (its system prompt, a preset's settings), applied to
a turn, and what it keeps after one. Pure."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .types import Turn

if TYPE_CHECKING:
    from ..service.conversation_records import ChatSettings


def _blank_none(text: str | None) -> str | None:
    return text if text and text.strip() else None


def with_kept(turn: Turn, kept: ChatSettings | None) -> Turn:
    """The turn as it is sent: what it does not give, its preset gives, or else what its conversation
    keeps (a blank system prompt is none)."""
    base = turn.preset.settings if turn.preset is not None else kept
    if base is None:
        return turn if turn.system is None or _blank_none(turn.system) else replace(turn, system=None)
    return replace(
        turn, system=_blank_none(turn.system) if turn.system is not None else base.system,
        profile=turn.profile or base.profile, model=turn.model or base.model,
        temperature=turn.temperature if turn.temperature is not None else base.temperature,
        max_tokens=turn.max_tokens or base.max_tokens)


def kept_after(turn: Turn, kept: ChatSettings | None) -> ChatSettings | None:
    """What the conversation keeps once this turn's prompt is stored; None when that is what it kept
    already. A preset replaces all of it; a system prompt replaces the system prompt."""
    from ..service.conversation_records import ChatSettings

    if turn.preset is not None:
        after = turn.preset.settings
        if turn.system is not None:
            after = replace(after, system=_blank_none(turn.system))
    elif turn.system is not None:
        after = replace(kept or ChatSettings(), system=_blank_none(turn.system))
    else:
        return None
    return None if after == (kept or ChatSettings()) else after
