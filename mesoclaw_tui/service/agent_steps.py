"""An agent run's steps in its conversation: each step's message is written by the engine with its
usage row (`Turn.reply_message`); here, its tool calls as they run, and the step a run stopped on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store import Store
    from .agent_records import StepToolCall

log = logging.getLogger("mesoclaw")


class AgentStepsMixin:
    """Part of RouterService (which provides `store`).

    A step's reply has been generated and paid for, and its tools may already have changed files:
    a database that cannot take the record (still locked after the busy timeout, a full disk) must
    not stop the run. The failure is logged and the run goes on (the step then has no id)."""

    store: Store

    async def set_step_tool_calls(self, message_id: int, calls: Sequence[StepToolCall]) -> None:
        """What became of a step's calls so far (written after each one)."""
        from ..store.errors import StoreError
        from .agent_records import dump_tool_calls

        try:
            await self.store.update_agent_step(message_id, tool_calls=dump_tool_calls(calls))
        except StoreError as exc:
            log.warning("mesoclaw: a tool call's result was not saved: %s", exc)

    async def end_agent_step(self, message_id: int, status: str, error: str | None) -> None:
        """The run stopped on this step (a limit, the user): its status and why."""
        from ..store.errors import StoreError

        try:
            await self.store.update_agent_step(message_id, status=status, error=error)
        except StoreError as exc:
            log.warning("mesoclaw: the end of an agent run was not saved: %s", exc)
