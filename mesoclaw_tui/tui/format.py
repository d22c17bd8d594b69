"""Pure text helpers for the app: labels of replies, prices, context sizes, tier colours.

Kept free of Textual so they are cheap to import and easy to test.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..formatting import context, price, usd  # noqa: F401  (re-exported for the screens)

TIER_COLOURS = {"low": "green", "medium": "yellow", "high": "red"}
PROFILE_COLOURS = {"eco": "green", "balanced": "yellow", "premium": "magenta"}


def colour(name: str) -> str:
    """A colour style, or none under NO_COLOR: Textual then draws in grey levels, where red on a dark
    background all but disappears; without the colour the word or mark keeps the text's contrast."""
    return "" if os.environ.get("NO_COLOR") else name


def tier_style(tier: str) -> str:
    return colour(TIER_COLOURS.get(tier, ""))


def mark(ok: bool) -> tuple[str, str]:
    """✓ or ✗ and its style."""
    return ("✓", colour("green")) if ok else ("✗", colour("red"))


def cost(value: float | None, estimated: bool = False) -> str:
    """A reply's cost as the CLI writes it (formatting.usd), `~` when estimated."""
    if value is None:
        return "cost unknown"
    return ("~" if estimated else "") + usd(value)


def tokens(input_tokens: int | None, output_tokens: int | None, estimated: bool = False) -> str:
    if input_tokens is None and output_tokens is None:
        return ""
    approx = "~" if estimated else ""

    def show(n: int | None) -> str:
        return "?" if n is None else f"{approx}{n:,}"

    return f"{show(input_tokens)} in / {show(output_tokens)} out"


def attempt_line(attempt: Mapping[str, Any] | Any) -> str:
    """One attempt of a reply: `provider:model outcome (error)`."""
    get = attempt.get if isinstance(attempt, Mapping) else lambda k: getattr(attempt, k, None)
    line = f"{get('provider')}:{get('model')} {get('outcome')}"
    return f"{line}: {get('error')}" if get("error") else line


def fallbacks_text(attempts: Iterable[Mapping[str, Any] | Any]) -> str:
    """The candidates that failed before the answering one, e.g. `fell back from openai:gpt-4o (auth)`.
    A 429 waited out and retried on the same model is not a fallback."""
    failed = []
    for attempt in attempts:
        get = attempt.get if isinstance(attempt, Mapping) else lambda k, a=attempt: getattr(a, k, None)
        if get("outcome") not in ("ok", "incomplete", "cancelled", "too_large") and not get("retried"):
            failed.append(f"{get('provider')}:{get('model')} {get('outcome')}")
    if not failed:
        return ""
    return "fell back from " + ", ".join(failed)


# A complete reply that is not a whole answer, by why it ended.
FINISH_NOTES = {"length": "CUT OFF at the max tokens limit", "content_filter": "STOPPED by a content filter"}


def finish_reason_of(attempts: Iterable[Mapping[str, Any] | Any]) -> str | None:
    """Why the answer ended, as its answering attempt recorded it (None for older records)."""
    reason = None
    for attempt in attempts:
        get = attempt.get if isinstance(attempt, Mapping) else lambda k, a=attempt: getattr(a, k, None)
        if get("outcome") == "ok":
            reason = get("finish_reason")
    return reason


def reply_label(*, provider: str | None, model: str | None, task: str | None, status: str,
                attempts: Iterable[Any] = (), input_tokens: int | None = None,
                output_tokens: int | None = None, cost_usd: float | None = None,
                estimated: bool = False, finish_reason: str | None = None) -> str:
    """What answered, for which task, what it fell back from, its tokens and its cost; and when the
    answer is not whole (cut at max tokens, stopped by a filter, cancelled, broken off), that."""
    attempts = list(attempts)
    parts = [f"{provider}:{model}" if provider else "no model answered"]
    if task:
        parts.append(task)
    fell = fallbacks_text(attempts)
    if fell:
        parts.append(fell)
    if status != "failed":
        shown = tokens(input_tokens, output_tokens, estimated)
        if shown:
            parts.append(shown)
        parts.append(cost(cost_usd, estimated))
    if status in ("cancelled", "incomplete"):
        parts.append(status.upper())
    elif status == "complete":
        note = FINISH_NOTES.get(finish_reason or finish_reason_of(attempts) or "")
        if note:
            parts.append(note)
    return " · ".join(parts)


def stored_label(entry: Any) -> str:
    """The label of a stored assistant message (a TranscriptEntry: the message with its usage), and of
    one of several alternatives, which one ("2/3")."""
    label = reply_label(provider=entry.provider, model=entry.model, task=entry.task, status=entry.status,
                        attempts=entry.attempts, input_tokens=entry.input_tokens, output_tokens=entry.output_tokens,
                        cost_usd=entry.cost_usd, estimated=entry.estimated)
    position, count = getattr(entry, "alternative", (0, 0))
    return f"{label} · {position}/{count}" if count > 1 else label


def failure_text(error: str | None, attempts: Iterable[Any]) -> str:
    """A failed reply as plain lines: the error, then every attempt on its own line."""
    attempts = list(attempts)
    if attempts:
        lines = ["No reply: every candidate failed."]
        lines.extend(f"  {i}. {attempt_line(a)}" for i, a in enumerate(attempts, 1))
        return "\n".join(lines)
    return f"No reply: {error or 'every candidate failed'}"


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
