"""`mesoclaw ask --regenerate` / `--escalate`: the last exchange of a conversation re-asked, kept beside
the reply it replaces as an alternative (as the app's f5 and f6 do); and `--preset NAME`.

--regenerate asks again the same way: the same task and profile, the router choosing (or the model
the conversation pins). --escalate asks a model of a higher tier: the router's first choice under
the profiles above the reply's, or the model given with --model; the escalation is recorded, so
`router usage` says how often each task's first choice was escalated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.types import MesoclawError
from . import output as out

REGENERATE, ESCALATE = "regenerate", "escalate"


@dataclass
class Redo:
    """What --regenerate or --escalate re-asks, once the conversation is known."""

    how: str  # REGENERATE or ESCALATE
    conversation_id: int
    exchange: Any  # service Exchange
    plan: Any = None  # service EscalationPlan, for --escalate

    def fields(self) -> dict[str, Any]:
        """The Turn's fields: the exchange's prompt, sent as an alternative of it."""
        return self.exchange.again(self.plan)


def check_redo(how: str | None, prompt: str | None, attachments: tuple[str, ...], continue_last: bool) -> None:
    """Refuse what --regenerate/--escalate cannot take, before anything is opened."""
    if how is None:
        return
    if prompt:
        raise MesoclawError(f"--{how} asks the last message again: give no prompt (to change the message, ask anew)")
    if attachments:
        raise MesoclawError(f"--{how} sends the stored message again; it cannot take attachments")
    if continue_last:
        raise MesoclawError(f"--{how} works on the last conversation already (or give --conversation ID)")


async def prepare(service: Any, how: str, conversation_id: int | None, model: str | None) -> Redo:
    """The conversation (the given one, or the last with an answer), its last exchange and, for an
    escalation, where it goes. A MesoclawError when there is nothing to re-ask."""
    if conversation_id is None:
        conversation_id = await service.last_answered_conversation()
        if conversation_id is None:
            raise MesoclawError(f"there is no conversation to {how} yet: ask something first")
    else:
        await service.require_conversation(conversation_id)
    exchange = await service.require_last_exchange(conversation_id)
    plan = await service.plan_escalation(exchange, model) if how == ESCALATE else None
    return Redo(how, conversation_id, exchange, plan)


async def settle(service: Any, redo: Redo, reply: Any) -> dict[str, Any]:
    """After the reply: record an escalation that happened (its prompt was stored), and say where the
    exchange now stands among its alternatives. Returns what `--json` adds."""
    replaced = reply.message_id is not None
    if redo.plan is not None and replaced:
        await service.record_escalation(redo.plan, reply.usage_id)
    exchange = await service.last_exchange(redo.conversation_id)
    extra: dict[str, Any] = {"alternative": [exchange.position, exchange.count] if exchange and replaced else None}
    if redo.plan is not None:
        extra["escalation"] = redo.plan.as_dict()
    return extra


def describe(redo: Redo) -> str:
    """The stderr line said before the request."""
    if redo.plan is not None:
        return f"escalating {redo.plan.describe()}"
    return f"regenerating the last reply of conversation {redo.conversation_id}"


def said_after(extra: dict[str, Any]) -> str | None:
    if extra.get("alternative"):
        position, count = extra["alternative"]
        return f"alternative {position}/{count} of the last exchange (the earlier ones are kept)"
    return None


def err(message: str) -> None:
    out.echo(f"mesoclaw: {message}", err=True)
