"""Alternatives and escalations as the service hands them out, and what is worked out from them
without a database: an exchange's place among its alternatives, the model an escalation goes to,
and how often each task's first choice was escalated. Pure.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..core.types import CostTier, ModelTarget, RoutingDecision, RoutingProfile
from .conversation_records import Message, TranscriptEntry, UsageRecord

TIER_RANK = {CostTier.LOW: 0, CostTier.MEDIUM: 1, CostTier.HIGH: 2}
NEXT_TIER, PICKED = "next_tier", "picked"  # how an escalation chose its model
_ANSWERED = ("ok", "incomplete")  # usage outcomes of a reply the user could have escalated


@dataclass(frozen=True)
class Exchange:
    """A conversation's last exchange: its prompt and reply, and its place among its alternatives."""

    conversation_id: int
    prompt_id: int
    prompt: str
    task: str | None  # the prompt's task
    reply: Message | None
    profile: str | None  # the profile the reply was routed with (its usage row)
    group: int | None
    prompts: tuple[int, ...]  # the first user message of each alternative, in order

    @property
    def position(self) -> int:
        return self.prompts.index(self.prompt_id) + 1 if self.prompt_id in self.prompts else 1

    @property
    def count(self) -> int:
        return max(1, len(self.prompts))

    def again(self, plan: EscalationPlan | None = None) -> dict[str, Any]:
        """The engine Turn's fields that ask this exchange again as an alternative of it: the same way
        (its task and profile; the router chooses, or the model the conversation pins), or, with an
        escalation's plan, of the model it goes to."""
        fields: dict[str, Any] = {"conversation_id": self.conversation_id, "alternative_of": self.prompt_id}
        if plan is not None:
            return fields | {"task": plan.task, "profile": plan.to_profile, "model": plan.to_model}
        task = (self.reply.task if self.reply else None) or self.task
        return fields | {"task": task, "profile": self.profile}


def numbered(entries: Sequence[TranscriptEntry], groups: Mapping[int, Sequence[int]]) -> list[TranscriptEntry]:
    """Each entry of a group of alternatives with its place in it ("2 of 3"): a user message is the
    alternative it starts, a reply belongs to the last one started before it."""
    out = []
    for entry in entries:
        prompts = groups.get(entry.alt_group) if entry.alt_group is not None else None
        if prompts:
            started = [p for p in prompts if p <= entry.id]
            index = prompts.index(started[-1]) + 1 if started else 1
            entry = replace(entry, alternative=(index, len(prompts)))
        out.append(entry)
    return out


# escalation --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationPlan:
    """Re-asking the last exchange of a model of a higher tier: where from, where to."""

    exchange: Exchange
    task: str
    how: str  # NEXT_TIER or PICKED
    from_profile: str | None
    from_provider: str | None
    from_model: str | None
    from_tier: str | None
    to_profile: str
    to_model: str  # the name the turn asks for (canonical, or provider:id)
    to_tier: str | None
    to_label: str = ""  # where it is expected to go first (provider:model)

    def describe(self) -> str:
        source = f"{self.from_provider}:{self.from_model}" if self.from_provider else "no model"
        before = ", ".join(x for x in (self.from_tier, self.from_profile) if x)
        after = ", ".join(x for x in (self.to_tier, self.to_profile) if x)
        return (f"{self.task}: {source}" + (f" ({before})" if before else "") + f" → {self.to_model}"
                + (f" ({after})" if after else ""))

    def columns(self, usage_id: int | None, now: float | None = None) -> dict[str, Any]:
        return {"created_at": time.time() if now is None else now, "conversation_id": self.exchange.conversation_id,
                "task": self.task, "how": self.how, "from_profile": self.from_profile,
                "from_provider": self.from_provider, "from_model": self.from_model, "from_tier": self.from_tier,
                "to_profile": self.to_profile, "to_model": self.to_model, "to_tier": self.to_tier,
                "from_usage_id": self.exchange.reply.usage_id if self.exchange.reply else None, "usage_id": usage_id}

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.columns(None, 0).items() if k not in ("created_at", "usage_id", "from_usage_id")}


def profiles_to_try(profile: RoutingProfile) -> list[RoutingProfile]:
    """Where a higher tier is looked for: every profile above the reply's, nearest first, then its own
    (whose chain may hold a higher tier than the model that answered after a fallback)."""
    order = list(RoutingProfile)
    return order[order.index(profile) + 1:] + [profile]


def next_tier(current: CostTier | None, decisions: Iterable[tuple[RoutingProfile, RoutingDecision]]
              ) -> tuple[RoutingProfile, ModelTarget] | None:
    """The first candidate, of the decisions in order, of a tier above `current` (None: unknown, so
    any tier is above it)."""
    rank = TIER_RANK[current] if current is not None else -1
    for profile, decision in decisions:
        for candidate in decision.candidates:
            if TIER_RANK[candidate.cost_tier] > rank:
                return profile, candidate
    return None


# how often each task's first choice was escalated ------------------------------------------------------


def escalation_summary(escalations: Iterable[Mapping[str, Any]], usage: Iterable[UsageRecord]) -> dict[str, Any]:
    """Per task: the router's first choices (chat and ask answers that were not themselves escalations),
    how many of them the user escalated (`escalated`, and `rate` of the first choices), how many
    escalations there were in all (an escalated reply escalated again counts here only), and from
    which model (tier) to which."""
    rows = list(escalations)
    escalated_usage = {r["usage_id"] for r in rows if r.get("usage_id") is not None}
    first_choices: dict[str, set[int | None]] = {}
    for record in usage:
        if record.source in ("chat", "ask") and record.outcome in _ANSWERED and record.id not in escalated_usage:
            first_choices.setdefault(record.task or "-", set()).add(record.id)
    tasks: dict[str, dict[str, Any]] = {}
    for row in rows:
        task = tasks.setdefault(row["task"] or "-", {"escalations": 0, "from": set(), "paths": {}})
        task["escalations"] += 1
        if row.get("from_usage_id") not in escalated_usage:  # the router's first choice was escalated
            task["from"].add(row.get("from_usage_id") or -row["id"])
        source = f"{row['from_provider']}:{row['from_model']}" if row["from_provider"] else "(no answer)"
        path = f"{source} ({row['from_tier'] or '?'}) → {row['to_model']} ({row['to_tier'] or '?'})"
        task["paths"][path] = task["paths"].get(path, 0) + 1
    summary = {}
    for name in sorted(set(tasks) | set(first_choices)):
        found = tasks.get(name, {"escalations": 0, "from": set(), "paths": {}})
        replies = len(first_choices.get(name, ()))
        escalated = len(found["from"])
        summary[name] = {"replies": replies, "escalated": escalated, "escalations": found["escalations"],
                         "rate": round(escalated / replies, 4) if replies else None,
                         "paths": dict(sorted(found["paths"].items(), key=lambda kv: -kv[1]))}
    return summary
