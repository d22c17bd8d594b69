"""Everything the engine reads from or writes to the database, in one place.

Each method is one step of a turn (load the history, save the prompt, note a provider's failure,
save the reply). They go through the service's methods, never the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from ..core.types import MesoclawError, MesoclawFailure, ModelTarget
from .policy import MODEL_MISSING_S, Verdict
from .types import Reply, Turn

if TYPE_CHECKING:
    from ..service import RouterService
    from ..service.conversation_records import ChatSettings, Conversation, Message, ReplyMessage, UsageRecord

HISTORY_LIMIT = 200  # messages of a conversation sent as context at most
_CONTINUE_SCAN = 20  # `--continue` looks this far back for a conversation with an answer


class Records:
    def __init__(self, service: RouterService, *, write_behind: bool = False):
        self.service = service
        # A reply with no prompt saved before it is written after the caller has it (service/reply_writer.py),
        # and has no row ids: for callers that never use them (`mesoclaw serve`).
        self.write_behind = write_behind

    async def conversation(self, conversation_id: int, *, replacing: int | None = None
                           ) -> tuple[Conversation, list[Message]] | None:
        """A conversation and the answered turns to send as its context, or None when there is no such one.
        Replacing its last exchange (which starts at user message `replacing`), the context is what came
        before that exchange; a MesoclawError when it is not the last one."""
        conversation = await self.service.conversation(conversation_id)
        if conversation is None:
            return None
        if replacing is not None:
            exchange = await self.service.last_exchange(conversation_id)
            if exchange is None or exchange.prompt_id != replacing:
                raise MesoclawError(f"message {replacing} does not start the last exchange of conversation "
                                    f"{conversation_id}: only the last reply can be regenerated or edited")
        return conversation, await self.service.answered_history(conversation_id, HISTORY_LIMIT, before_id=replacing)

    async def last_answered_conversation(self) -> int | None:
        return await self.service.last_answered_conversation()

    async def new_conversation(self, prompt: str, settings: ChatSettings | None = None) -> int:
        return await self.service.create_conversation(" ".join(prompt.split())[:60] or "New chat", settings)

    async def keep_settings(self, conversation_id: int, settings: ChatSettings) -> None:
        await self.service.keep_settings(conversation_id, settings)

    def save_prompt(self, conversation_id: int, prompt: str, task: str, *,
                    replacing: int | None = None) -> asyncio.Future[int]:
        """Written while the request goes out, not before it: the prompt is on disk within a millisecond
        or two, and the first token does not wait for the write. save_reply awaits it. Replacing the last
        exchange, the write also hides that exchange as an alternative."""
        return asyncio.ensure_future(self.service.add_user_message(conversation_id, prompt, task=task,
                                                                   replacing=replacing))

    async def provider_failed(self, target: ModelTarget, message: str, verdict: Verdict) -> None:
        if verdict.model_missing:
            await self.service.mark_model_unavailable(target.provider, target.model, message, MODEL_MISSING_S)
        elif verdict.cool_provider:
            await self.service.record_provider_failure(target.provider, message, cooldown_s=verdict.cooldown_s,
                                                       unusable_s=verdict.unusable_s)

    async def provider_answered(self, provider: str) -> None:
        """A success clears a provider's failures; only providers with some on record need the write."""
        service = self.service
        if provider in service.troubled:
            await service.record_provider_success(provider)
            service.troubled.discard(provider)

    async def save_reply(self, usage: UsageRecord, message: ReplyMessage | None,
                         saved_prompt: asyncio.Future[int] | None) -> tuple[int | None, int | None]:
        if self.write_behind and saved_prompt is None:
            self.service.record_reply_later(usage, message)
            return None, None
        if saved_prompt is not None:
            try:
                prompt_id = await saved_prompt  # the prompt lands before its reply
            except (MesoclawError, MesoclawFailure) as exc:  # refused: the reply itself is still saved if it can be
                logging.getLogger("mesoclaw").warning("mesoclaw: the prompt was not saved: %s", exc)
            else:
                # A reply joins its prompt's group of alternatives, if any (an agent run's step has none).
                if message is not None and hasattr(message, "reply_to"):
                    message = replace(message, reply_to=prompt_id)
        recorded = await self.service.record_reply(usage, message)
        return recorded.usage_id, recorded.message_id


# records ------------------------------------------------------------------------------------------------


def usage_row(turn: Turn, reply: Reply, baseline_cost: float | None) -> UsageRecord:
    from ..service.conversation_records import UsageRecord

    return UsageRecord(
        source=turn.source, created_at=time.time(), outcome=_USAGE_OUTCOME.get(reply.status, reply.status),
        task=reply.task.value if reply.task else None, profile=reply.profile.value if reply.profile else None,
        provider=reply.provider, model=reply.model, input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens, estimated=reply.estimated, cost_usd=reply.cost_usd,
        baseline_cost_usd=baseline_cost, ttft_ms=reply.ttft_ms, total_ms=reply.total_ms,
        fallbacks=len(reply.fallbacks), attempts=tuple(a.as_dict() for a in reply.attempts),
        conversation_id=reply.conversation_id,
    )


_USAGE_OUTCOME = {"complete": "ok"}


def message_row(turn: Turn, reply: Reply) -> ReplyMessage | None:
    """The assistant message to save, if any: a failure is saved too (it explains the prompt above it)."""
    from ..service.conversation_records import ReplyMessage

    if not turn.persist or reply.conversation_id is None or not (reply.text or reply.failure):
        return None
    return ReplyMessage(reply.conversation_id, reply.text, reply.status, reply.provider, reply.model,
                        reply.task.value if reply.task else None, reply.error)
