"""Presets as the service hands them out, and the checks of what a user gives for one. Pure."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.types import MesoclawError, parse_profile
from .conversation_records import ChatSettings

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
MAX_SYSTEM_CHARS = 100_000  # a system prompt is sent with every turn: a pasted book is a mistake
TEMPERATURE_RANGE = (0.0, 2.0)  # what every provider mesoclaw speaks to accepts


@dataclass(frozen=True)
class Preset:
    """A named system prompt, optionally with a profile or a model and generation settings."""

    name: str
    system: str | None = None
    profile: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None

    @property
    def settings(self) -> ChatSettings:
        """What a conversation keeps once the preset is applied to it (the whole of it: what the preset
        leaves unset is unset in the conversation too)."""
        return ChatSettings(self.system, self.profile, self.model, self.temperature, self.max_tokens, self.name)

    def summary(self) -> str:
        """One line: what the preset sets."""
        parts = [f"profile {self.profile}" if self.profile else "", f"model {self.model}" if self.model else "",
                 f"temperature {self.temperature:g}" if self.temperature is not None else "",
                 f"max {self.max_tokens:,} tokens" if self.max_tokens is not None else ""]
        if self.system:
            first = " ".join(self.system.split())
            parts.append(f"system: {first[:60]}{'…' if len(first) > 60 else ''}")
        return " · ".join(p for p in parts if p) or "nothing set"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "system": self.system, "profile": self.profile, "model": self.model,
                "temperature": self.temperature, "max_tokens": self.max_tokens}

    def columns(self) -> dict[str, Any]:
        return {"name": self.name, "system_prompt": self.system, "profile": self.profile, "model": self.model,
                "temperature": self.temperature, "max_tokens": self.max_tokens}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Preset:
        return cls(row["name"], row["system_prompt"], row["profile"], row["model"], row["temperature"],
                   row["max_tokens"])


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME.fullmatch(name):
        raise MesoclawError(f"a preset name is 1 to 40 letters, digits, '.', '_' or '-' (starting with a letter or "
                            f"digit), got {name!r}")
    return name


def check_system(text: str | None) -> str | None:
    """A system prompt as stored: None when blank (no system prompt)."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_SYSTEM_CHARS:
        raise MesoclawError(f"the system prompt is {len(text):,} characters; at most {MAX_SYSTEM_CHARS:,} (it is "
                            "sent with every turn)")
    return text


def check_temperature(value: float | str | None) -> float | None:
    if value is None or value == "":
        return None
    low, high = TEMPERATURE_RANGE
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        raise MesoclawError(f"temperature must be a number from {low:g} to {high:g}, got {value!r}")
    return number


def check_max_tokens(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value).replace("_", "").replace(",", ""))
    except ValueError:
        number = 0
    if number < 1:
        raise MesoclawError(f"max tokens must be a whole number of at least 1, got {value!r}")
    return number


def check_preset(name: str, *, system: str | None = None, profile: str | None = None, model: str | None = None,
                 temperature: float | str | None = None, max_tokens: int | str | None = None) -> Preset:
    """A preset from what a user gave, checked (the model is checked against the registry by the service)."""
    preset = Preset(check_name(name), check_system(system), parse_profile(profile).value if profile else None,
                    model.strip() if model and model.strip() else None, check_temperature(temperature),
                    check_max_tokens(max_tokens))
    if preset == Preset(preset.name):
        raise MesoclawError("a preset needs at least one of --system, --system-file, --profile, --model, "
                            "--temperature or --max-tokens")
    return preset
