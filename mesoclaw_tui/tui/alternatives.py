"""Regenerate, escalate and edit in the chat: the last exchange asked again, and kept beside the one it
replaces as an alternative (f7 / f8 flip between them; the label of each says "2/3").

The chat streams the new reply the way it streams any other (ChatScreen._send with a Redo); this
module says what the turn is, takes the replaced exchange off the screen before, and after the reply
records an escalation and shows the conversation as stored (with each alternative's place).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..service import EscalationPlan, Exchange

REGENERATE, ESCALATE, EDIT = "regenerate", "escalate", "edit"


@dataclass(frozen=True)
class Redo:
    """The last exchange asked again: regenerated (same route), escalated (a higher tier), or edited."""

    kind: str  # REGENERATE, ESCALATE or EDIT
    exchange: Exchange
    plan: EscalationPlan | None = None  # ESCALATE: where it goes

    def turn_fields(self) -> dict[str, Any]:
        """The Turn's fields beside its text: an edited message is routed afresh, as a new one is."""
        if self.kind == EDIT:
            return {"conversation_id": self.exchange.conversation_id, "alternative_of": self.exchange.prompt_id}
        return self.exchange.again(self.plan)

    @property
    def label(self) -> str:
        """The reply's label until the first event: what is happening."""
        if self.plan is not None:
            return f"escalating to {self.plan.to_model}…"
        return "regenerating…" if self.kind == REGENERATE else "asking the edited message…"


async def take_off_screen(transcript: Any, exchange: Exchange) -> None:
    """Remove the widgets of the exchange being replaced: its prompt (the last user message shown, when
    it is that one) and everything after it."""
    from .widgets.messages import UserMessage

    messages = transcript.messages
    starts = [i for i, w in enumerate(messages) if isinstance(w, UserMessage)]
    if not starts:
        return
    first = messages[starts[-1]]
    if first.message_id not in (None, exchange.prompt_id):
        return  # what is on screen is not that exchange: leave it (the reload after the reply corrects it)
    await transcript.remove_children(messages[starts[-1]:])


async def settle(service: Any, redo: Redo, reply: Any) -> str | None:
    """After the reply: record an escalation that happened (its prompt was stored) and say where the
    exchange stands among its alternatives (None when nothing was replaced)."""
    if reply.message_id is None:
        return None
    if redo.plan is not None:
        await service.record_escalation(redo.plan, reply.usage_id)
    exchange = await service.last_exchange(redo.exchange.conversation_id)
    if exchange is None or exchange.count < 2:
        return None
    return f"Alternative {exchange.position}/{exchange.count}: {{previous}} / {{next}} flip between them."
