"""Profile -> task -> chain of models, exactly the seed's table, with each profile's fallback."""

from __future__ import annotations

from .types import RoutingProfile, TaskType

E, B, P = RoutingProfile.ECO, RoutingProfile.BALANCED, RoutingProfile.PREMIUM
C, G, F, CR, A = TaskType.CODE, TaskType.GENERAL, TaskType.FAST, TaskType.CREATIVE, TaskType.ANALYSIS

CHAINS: dict[RoutingProfile, dict[TaskType, tuple[str, ...]]] = {
    E: {
        C: ("gemini-2.0-flash", "gpt-4o-mini", "llama-3.1-70b"),
        G: ("gpt-4o-mini", "gemini-2.0-flash"),
        F: ("gemini-2.0-flash", "gpt-4o-mini"),
        CR: ("gemini-2.0-flash", "gpt-4o-mini"),
        A: ("gemini-2.0-flash", "gpt-4o-mini"),
    },
    B: {
        C: ("claude-sonnet-4.5", "gpt-4o", "gemini-2.0-flash"),
        G: ("gpt-4o", "claude-haiku-4.5"),
        F: ("gemini-2.0-flash", "gpt-4o-mini"),
        CR: ("claude-sonnet-4.5", "gpt-4o"),
        A: ("claude-sonnet-4.5", "gpt-4o"),
    },
    P: {
        C: ("claude-opus-4.5", "gpt-4o", "o3"),
        G: ("claude-opus-4.5", "gpt-4o"),
        F: ("claude-sonnet-4.5", "gpt-4o"),
        CR: ("claude-opus-4.5", "gpt-4o"),
        A: ("claude-opus-4.5", "o3"),
    },
}

FALLBACKS: dict[RoutingProfile, str] = {
    E: "gpt-4o-mini",
    B: "gpt-4o-mini",
    P: "claude-sonnet-4.5",
}


def chain_for(profile: RoutingProfile, task: TaskType) -> tuple[str, ...]:
    return CHAINS[profile][task]


def fallback_for(profile: RoutingProfile) -> str:
    return FALLBACKS[profile]
