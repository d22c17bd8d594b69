"""Profile -> task -> chain of models, on today's models, keeping the seed's table as the template.

`SEED_CHAINS` is the seed's table as written in 2025 (its names still resolve; a retired one
routes to its successor). `CHAINS` puts today's model of the same family and the same cost tier
in each of the seed's places: the seed's intent per task, on models that exist. Checked 2026-12-01.
"""

from __future__ import annotations

from .types import RoutingProfile, TaskType

E, B, P = RoutingProfile.ECO, RoutingProfile.BALANCED, RoutingProfile.PREMIUM
C, G, F, CR, A = TaskType.CODE, TaskType.GENERAL, TaskType.FAST, TaskType.CREATIVE, TaskType.ANALYSIS

SEED_CHAINS: dict[RoutingProfile, dict[TaskType, tuple[str, ...]]] = {
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
SEED_FALLBACKS: dict[RoutingProfile, str] = {E: "gpt-4o-mini", B: "gpt-4o-mini", P: "claude-sonnet-4.5"}

# Each seed model -> today's model of its family at the seed model's cost tier (priced today).
CURRENT: dict[str, str] = {
    "gemini-2.0-flash": "gemini-3.5-flash-lite",  # Google's low-cost Flash
    "gpt-4o-mini": "gpt-6-luna",
    "gpt-4o": "gpt-6.1-sol",
    "o3": "gpt-6-astra",
    "claude-haiku-4.5": "claude-haiku-5.5",
    "claude-sonnet-4.5": "claude-sonnet-5.5",
    "claude-opus-4.5": "claude-opus-5.5",
    "llama-3.1-70b": "llama-3.1-70b",  # local: nothing retires it
}

CHAINS: dict[RoutingProfile, dict[TaskType, tuple[str, ...]]] = {
    profile: {task: tuple(CURRENT[name] for name in names) for task, names in tasks.items()}
    for profile, tasks in SEED_CHAINS.items()
}
FALLBACKS: dict[RoutingProfile, str] = {profile: CURRENT[name] for profile, name in SEED_FALLBACKS.items()}


def chain_for(profile: RoutingProfile, task: TaskType) -> tuple[str, ...]:
    return CHAINS[profile][task]


def fallback_for(profile: RoutingProfile) -> str:
    return FALLBACKS[profile]
