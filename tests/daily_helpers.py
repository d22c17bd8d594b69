"""Fixed data for the snapshots and screenshots of the daily tools: a conversation whose last exchange
has an alternative, presets, and a budget near its limit (no clock in view)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.tui_helpers import seed_demo

ALTERNATIVE_REPLY = "Sort with a key that folds case: `sorted(names, key=str.casefold)`."


async def seed_alternatives(service: Any) -> int:
    """The demo conversation, its last exchange regenerated once: the new reply is 2/2."""
    conversation_id = await seed_demo(service)
    exchange = await service.last_exchange(conversation_id)
    prompt_id = await service.store.add_alternative_prompt(conversation_id, exchange.prompt, "code",
                                                           exchange.prompt_id)
    usage = {"created_at": 0.0, "source": "chat", "task": "code", "profile": "balanced", "provider": "openai",
             "model": "gpt-6.1-sol", "input_tokens": 131, "output_tokens": 22, "estimated": 0, "cost_usd": 0.000482,
             "outcome": "ok", "conversation_id": conversation_id, "attempts": "[]"}
    await service.store.record_reply(usage, {"conversation_id": conversation_id, "role": "assistant",
                                             "content": ALTERNATIVE_REPLY, "provider": "openai",
                                             "model": "gpt-6.1-sol", "task": "code", "status": "complete",
                                             "reply_to": prompt_id})
    await service.set_system_prompt(conversation_id, "You are a concise Python mentor.")
    return conversation_id


async def seed_presets(service: Any) -> None:
    await service.add_preset("reviewer", system="You review code: bugs first, then style. Be brief.",
                             profile="premium", temperature=0.2)
    await service.add_preset("translator", system="Translate into French; keep the formatting.",
                             model="gpt-6-luna")


async def seed_budget(service: Any, home: Path) -> None:
    """A daily budget of $1.00 with $0.85 spent today: the app warns."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[budget]\ndaily = 1.00\nmonthly = 20.00\n")
    await service.store.record_reply({"created_at": time.time(), "source": "ask", "profile": "balanced",
                                      "provider": "openai", "model": "gpt-6.1-sol", "cost_usd": 0.85,
                                      "outcome": "ok"}, None)
