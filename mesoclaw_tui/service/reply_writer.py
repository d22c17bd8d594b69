"""Write-behind for replies nobody needs the row ids of (`mesoclaw serve`'s): the reply goes to its
client first, its usage row is written just after, with whatever else has queued meanwhile, in one
statement (store: record_replies).

Never lost on a clean stop: `flush()` (RouterService.close calls it) waits until every queued reply is
written. A crash (SIGKILL, power loss) loses only the replies queued and not yet committed: the
writer starts on the first one at once, so that is at most the replies answered during one write
transaction (a millisecond or two; longer only while another process holds the database's write lock,
up to its busy timeout). docs/architecture.md says so too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store
    from .conversation_records import ReplyMessage, UsageRecord

MAX_BATCH = 256  # replies written in one transaction at most


class ReplyWriter:
    def __init__(self, store: Store):
        self.store = store
        self._queue: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        self._task: asyncio.Task[None] | None = None
        self.written = 0  # replies committed (for tests and benchmarks)

    def add(self, usage: UsageRecord, message: ReplyMessage | None) -> None:
        """Queue one reply's rows; the write starts on the next turn of the loop if none is running."""
        self._queue.append((usage.columns(), message.columns() if message else None))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def flush(self) -> None:
        """Until every reply queued so far is in the database (or its failure logged)."""
        while self._task is not None and not self._task.done() or self._queue:
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._drain())
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                # Shielded: a cancelled caller (a stopping server) must not abandon a batch half sent.
                await asyncio.shield(self.store.record_replies(batch))
            except Exception as exc:  # as record_reply: the replies went out; the log says
                # they were not saved (a StoreError names the database's problem), and the writer goes on.
                logging.getLogger("mesoclaw").warning("mesoclaw: %d replies were not saved: %s", len(batch), exc)
            else:
                self.written += len(batch)
