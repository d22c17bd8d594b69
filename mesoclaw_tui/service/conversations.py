"""Conversations, their messages and the usage of every reply, as the faces and the engine use them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..core.types import MesoclawError

if TYPE_CHECKING:
    from ..store import Store
    from .conversation_records import (
        ChatSettings,
        Conversation,
        Message,
        RecordedReply,
        ReplyMessage,
        TranscriptPage,
        UsageRecord,
    )

# The dataclasses are imported by each method, not here: opening the service (which the app waits
# for before it shows the profile) then defines none of them.

HISTORY_LIMIT = 200  # messages of a conversation sent as context at most
CONTINUE_SCAN = 20  # conversations `--continue` looks through for one with an answer


class ConversationsMixin:
    """Part of RouterService (which provides `store`)."""

    store: Store

    async def create_conversation(self, title: str = "New chat", settings: ChatSettings | None = None) -> int:
        """A new conversation, keeping `settings` (a system prompt, a preset's) for every turn."""
        return await self.store.create_conversation(title, **(settings.columns() if settings else {}))

    async def conversation(self, conversation_id: int) -> Conversation | None:
        from .conversation_records import Conversation

        row = await self.store.conversation(conversation_id)
        return Conversation.from_row(row) if row else None

    async def require_conversation(self, conversation_id: int) -> Conversation:
        conversation = await self.conversation(conversation_id)
        if conversation is None:
            raise MesoclawError(f"no conversation {conversation_id}")
        return conversation

    async def list_conversations(self, limit: int = 200) -> list[Conversation]:
        """Newest first, each with its message count."""
        from .conversation_records import Conversation

        return [Conversation.from_row(r) for r in await self.store.list_conversations(limit)]

    async def last_conversation_id(self) -> int | None:
        return await self.store.last_conversation_id()

    async def last_answered_conversation(self) -> int | None:
        """`--continue`: the newest conversation with at least one reply. A run of failed asks
        (each a conversation with no answer) does not hide the one the user means."""
        conversations = await self.store.list_conversations(limit=CONTINUE_SCAN)
        for conversation in conversations:
            if await self.answered_history(conversation["id"]):
                return conversation["id"]
        return conversations[0]["id"] if conversations else None

    async def rename_conversation(self, conversation_id: int, title: str) -> str:
        title = title.strip()
        if not title:
            raise MesoclawError("a title cannot be empty")
        await self.store.update_conversation(conversation_id, title=title)
        return title

    async def pin_model(self, conversation_id: int, model: str | None) -> None:
        """The model that answers every message of the conversation (None: the router chooses)."""
        await self.store.update_conversation(conversation_id, model_override=model)

    async def delete_conversation(self, conversation_id: int) -> None:
        await self.store.delete_conversation(conversation_id)

    # messages -------------------------------------------------------------------------------------

    async def messages(self, conversation_id: int, *, limit: int | None = None,
                       before_id: int | None = None) -> list[Message]:
        """Oldest first; with limit, the latest `limit` (before before_id)."""
        from .conversation_records import Message

        rows = await self.store.messages(conversation_id, limit=limit, before_id=before_id)
        return [Message.from_row(r) for r in rows]

    async def answered_history(self, conversation_id: int, limit: int = HISTORY_LIMIT,
                               before_id: int | None = None) -> list[Message]:
        """The context to send with the next prompt: answered turns among the latest `limit` shown
        messages (before before_id: the exchange an alternative replaces is not its own context)."""
        from .conversation_records import answered_turns

        return answered_turns(await self.messages(conversation_id, limit=limit, before_id=before_id))

    async def transcript(self, conversation_id: int, *, limit: int, before_id: int | None = None) -> TranscriptPage:
        """The latest `limit` messages (before before_id) with their replies' usage, oldest first."""
        from .conversation_records import TranscriptEntry, TranscriptPage

        rows, older = await self.store.transcript(conversation_id, limit=limit, before_id=before_id)
        entries = [TranscriptEntry.from_row(r) for r in rows]
        if any(e.alt_group is not None for e in entries):
            from .escalation import numbered

            entries = numbered(entries, await self.store.group_prompts(
                sorted({e.alt_group for e in entries if e.alt_group is not None})))
        return TranscriptPage(entries, older)

    async def add_user_message(self, conversation_id: int, content: str, *, task: str | None = None,
                               replacing: int | None = None) -> int:
        """A prompt; replacing the last exchange (which starts at user message `replacing`), that exchange
        is kept as an alternative, hidden, in the same transaction."""
        if replacing is not None:
            return await self.store.add_alternative_prompt(conversation_id, content, task, replacing)
        return await self.store.add_message(conversation_id, "user", content, task=task)

    async def record_reply(self, usage: UsageRecord, message: ReplyMessage | None = None) -> RecordedReply:
        """A reply's usage row and its assistant message (if any), written together.

        The reply has already been generated (and paid for): a database that cannot take it (still
        locked after the busy timeout and the store's retries, a full disk) must not throw it away.
        The failure is logged once and the reply goes on to the user with no ids."""
        from ..store.errors import StoreError
        from .conversation_records import RecordedReply

        try:
            usage_id, message_id = await self.store.record_reply(usage.columns(),
                                                                 message.columns() if message else None)
        except StoreError as exc:
            logging.getLogger("mesoclaw").warning("mesoclaw: the reply was not saved: %s", exc)
            return RecordedReply(None, None)
        return RecordedReply(usage_id, message_id)

    async def usage_records(self, since: float | None = None) -> list[UsageRecord]:
        from .conversation_records import UsageRecord

        return [UsageRecord.from_row(r) for r in await self.store.usage_rows(since)]
