"""Why a reply failed, as a value: the engine sets it once, and every face maps it by a table.

The faces keep their own tables beside their code: `cli/ask.py` (exit code and message),
`server/wire.py` (HTTP status and OpenAI error code), `tui/screens/chat.py` (the text shown under
the reply) and `scheduler.py` (a job run's status). A test checks each table covers every kind,
so a kind added here must be given a row in each of them.
"""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    NO_PROVIDER = "no_provider"  # no provider is configured at all
    NO_AVAILABLE_MODEL = "no_available_model"  # nothing in the chain (or the named model) can be used now
    CONTEXT_TOO_LARGE = "context_too_large"  # the request is larger than every usable model's context window
    # The request needs something (tools, parallel tool calls, a JSON schema, image input) that no
    # available model has: another try will not help, a different request or provider will.
    MISSING_CAPABILITY = "missing_capability"
    BAD_REQUEST = "bad_request"  # a provider refused the request itself (its 400): another model would too
    ALL_FAILED = "all_failed"  # every candidate failed before its first token
    INCOMPLETE = "incomplete"  # the reply broke off after its first token; the partial text is kept
    CANCELLED = "cancelled"  # the user (or the client) stopped it; the partial text is kept
    # The reply passed the cap on a reply's size: the stream was ended there, the text so far kept.
    REPLY_TOO_LARGE = "reply_too_large"
    # A budget is spent and says `refuse` (or eco's own budget is spent too): nothing was sent.
    BUDGET_EXCEEDED = "budget_exceeded"

    @property
    def status(self) -> str:
        """The stored status of a reply that failed so: incomplete, cancelled or failed."""
        return _STATUS.get(self, "failed")


_STATUS = {FailureKind.INCOMPLETE: "incomplete", FailureKind.CANCELLED: "cancelled",
           FailureKind.REPLY_TOO_LARGE: "incomplete"}


def reply_status(failure: FailureKind | None) -> str:
    """complete, incomplete, cancelled or failed: the status a reply is stored with."""
    return "complete" if failure is None else failure.status
