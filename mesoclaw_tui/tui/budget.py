"""The budget in the app: the badge in the top bar (spend against the fullest limit), and a toast when
a limit comes near (80%) or is reached (the request moves down to eco, or is refused).

The badge is the app's `budget_badge` (text, level), drawn by every screen's AppBar. It is worked out
from the service's budget check (cached until the database or config.toml changes), after the
database opens, after a change from elsewhere, after a profile change and after each reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.budget import Line, Verdict

_PERIODS = {"daily": "today", "monthly": "month"}
_SEVERITY = {"warn": "warning", "over": "error"}


def badge(verdict: Verdict | None) -> tuple[str, str]:
    """(text, level) for the top bar: the fullest limit, e.g. `$4.10/$5 today` ("" when no budget)."""
    if verdict is None or not verdict.lines:
        return "", "ok"
    line = verdict.decided_by or max(verdict.lines, key=lambda candidate: candidate.ratio)
    level = verdict.level.value
    return ("⚠ " if level != "ok" else "") + short(line), level


def short(line: Line) -> str:
    from ..core.budget import limit_usd, usd

    spent = line.spend
    known = usd(spent.known)
    return f"{'≥' if spent.unknown else ''}{known}/{limit_usd(line.limit)}{_scope(line)} {_PERIODS[line.period]}"


def _scope(line: Line) -> str:
    return f" {line.scope}" if line.scope else ""


async def refresh(app: Any, verdict: Verdict | None = None, *, announce: bool = True) -> None:
    """Update the badge (from `verdict`, or a fresh check for the active profile) and, when the level
    rose since the last time or the request was moved down to eco, say so in a toast."""
    service = app.service
    if service is None:
        return
    from_request = verdict is not None  # a request's own verdict: a move to eco is said every time
    if verdict is None:
        from ..core.types import parse_profile

        try:
            verdict = await service.budget_check(parse_profile(app.profile or "balanced"))
        except Exception as exc:  # a bad [budget] table: said once, the app goes on without a badge
            app.budget_badge = ("budget: see config.toml", "warn")
            if announce and getattr(app, "_budget_error", None) != str(exc):
                app._budget_error = str(exc)
                app.report(exc, "Budget")
            return
    text, level = badge(verdict)
    before = app.budget_badge[1]
    app.budget_badge = (text, level)
    rank = {"ok": 0, "warn": 1, "over": 2}
    if not announce or verdict is None:
        return
    message = verdict.message()
    if message and (rank[level] > rank.get(before, 0) or (from_request and verdict.downgraded)):
        said = message.removeprefix("budget: ")
        app.notify(said[0].upper() + said[1:], title="Budget", severity=_SEVERITY.get(level, "warning"), timeout=6)
