"""Everything the engine reads from or writes to the database, in one place.

Each method is one step of a turn (load the history, save the prompt, note a provider's failure,
save the reply). They call the store through the service today; when the service grows methods
for conversations and usage, only this file changes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..core.types import ModelTarget
from .policy import MODEL_MISSING_S, Verdict
from .types import Reply, Turn

if TYPE_CHECKING:
    from ..service import RouterService

HISTORY_LIMIT = 200  # messages of a conversation sent as context at most
_CONTINUE_SCAN = 20  # `--continue` looks this far back for a conversation with an answer


class Records:
    def __init__(self, service: RouterService):
        self.service = service

    async def conversation(self, conversation_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """A conversation and its latest messages (oldest first), or None when there is no such one."""
        store = self.service.store
        conversation = await store.conversation(conversation_id)
        if conversation is None:
            return None
        return conversation, await store.messages(conversation_id, limit=HISTORY_LIMIT)

    async def last_answered_conversation(self) -> int | None:
        """`--continue`: the newest conversation with at least one reply. A run of failed asks
        (each a conversation with no answer) does not hide the one the user means."""
        store = self.service.store
        conversations = await store.list_conversations(limit=_CONTINUE_SCAN)
        for conversation in conversations:
            rows = await store.messages(conversation["id"], limit=HISTORY_LIMIT)
            if any(True for _ in answered_turns(rows)):
                return conversation["id"]
        return conversations[0]["id"] if conversations else None

    async def new_conversation(self, prompt: str) -> int:
        return await self.service.store.create_conversation(" ".join(prompt.split())[:60] or "New chat")

    def save_prompt(self, conversation_id: int, prompt: str, task: str) -> asyncio.Future[int]:
        """Written while the request goes out, not before it: the prompt is on disk within a millisecond
        or two, and the first token does not wait for the write. save_reply awaits it."""
        return asyncio.ensure_future(self.service.store.add_message(conversation_id, "user", prompt, task=task))

    async def provider_failed(self, target: ModelTarget, message: str, verdict: Verdict) -> None:
        store = self.service.store
        if verdict.model_missing:
            await store.mark_model_unavailable(target.provider, target.model, message, MODEL_MISSING_S)
        elif verdict.cool_provider:
            await store.record_provider_failure(target.provider, message, cooldown_s=verdict.cooldown_s,
                                                unusable_s=verdict.unusable_s)

    async def provider_answered(self, provider: str) -> None:
        """A success clears a provider's failures; only providers with some on record need the write."""
        service = self.service
        if provider in service.troubled:
            await service.store.record_provider_success(provider)
            service.troubled.discard(provider)

    async def save_reply(self, usage: dict[str, Any], message: dict[str, Any] | None,
                         saved_prompt: asyncio.Future[int] | None) -> tuple[int, int | None]:
        if saved_prompt is not None:
            await saved_prompt  # the prompt lands before its reply
        return await self.service.store.record_reply(usage, message)


# rows ---------------------------------------------------------------------------------------------------


def answered_turns(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The messages worth sending as context: each user message that got a reply (even a partial
    one) and that reply. A prompt whose every candidate failed is left out, so asking again does
    not send it twice."""
    for user, reply in zip(rows, rows[1:], strict=False):
        if user["role"] != "user" or reply["role"] != "assistant":
            continue
        if reply["content"] and reply["status"] in ("complete", "incomplete", "cancelled"):
            yield user
            yield reply


def usage_row(turn: Turn, reply: Reply, baseline_cost: float | None) -> dict[str, Any]:
    return {
        "created_at": time.time(), "source": turn.source, "task": reply.task.value if reply.task else None,
        "profile": reply.profile.value if reply.profile else None, "provider": reply.provider,
        "model": reply.model, "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
        "estimated": int(reply.estimated), "cost_usd": reply.cost_usd, "baseline_cost_usd": baseline_cost,
        "ttft_ms": reply.ttft_ms, "total_ms": reply.total_ms, "outcome": _USAGE_OUTCOME.get(reply.status, reply.status),
        "fallbacks": len(reply.fallbacks), "attempts": json.dumps([a.as_dict() for a in reply.attempts]),
        "conversation_id": reply.conversation_id,
    }


_USAGE_OUTCOME = {"complete": "ok"}


def message_row(turn: Turn, reply: Reply) -> dict[str, Any] | None:
    """The assistant message to save, if any: a failure is saved too (it explains the prompt above it)."""
    if not turn.persist or reply.conversation_id is None or not (reply.text or reply.failure):
        return None
    return {"conversation_id": reply.conversation_id, "role": "assistant", "content": reply.text,
            "provider": reply.provider, "model": reply.model, "task": reply.task.value if reply.task else None,
            "status": reply.status, "error": reply.error}
