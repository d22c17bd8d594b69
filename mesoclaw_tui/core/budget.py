"""Spend controls: budgets per day and per month, overall and per profile, and what a request is
allowed once some of them are spent. Pure: the spend comes in, a verdict goes out.

A budget is checked before every request against the spend recorded so far. At WARN_AT of a limit the
faces warn; at the limit the request either moves down to the eco profile (`downgrade`, the default)
or is refused (`refuse`), as the budget says. A cost that is unknown (a model without a price) is
never counted as $0: the spend is then "at least" the known part, and says how many requests are
of unknown cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .types import MesoclawError, RoutingProfile

WARN_AT = 0.8
PERIODS = ("daily", "monthly")
_PERIOD_WORDS = {"daily": "today", "monthly": "this month"}
_UNTIL = {"daily": "tomorrow", "monthly": "next month"}


class Over(StrEnum):
    """What happens to a request once a budget is spent."""

    DOWNGRADE = "downgrade"  # route it with the eco profile
    REFUSE = "refuse"  # send nothing


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"  # at WARN_AT of a limit or more
    OVER = "over"  # at the limit or past it


@dataclass(frozen=True)
class Limits:
    """One budget: a limit per day and per month (None: no limit), and what happens past it (None:
    as the overall budget says)."""

    daily: float | None = None
    monthly: float | None = None
    over: Over | None = None

    @property
    def is_set(self) -> bool:
        return self.daily is not None or self.monthly is not None

    def limit(self, period: str) -> float | None:
        return self.daily if period == "daily" else self.monthly

    def as_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {}
        if self.daily is not None:
            table["daily"] = self.daily
        if self.monthly is not None:
            table["monthly"] = self.monthly
        if self.over is not None:
            table["over"] = self.over.value
        return table


@dataclass(frozen=True)
class Budgets:
    overall: Limits = field(default_factory=Limits)
    profiles: Mapping[str, Limits] = field(default_factory=dict)

    @property
    def is_set(self) -> bool:
        return self.overall.is_set or any(limits.is_set for limits in self.profiles.values())

    def scopes(self) -> list[tuple[str | None, Limits]]:
        """(None, overall) and (profile, its limits), in the profiles' order, only those with a limit."""
        scopes: list[tuple[str | None, Limits]] = [(None, self.overall)] if self.overall.is_set else []
        return scopes + [(p.value, self.profiles[p.value]) for p in RoutingProfile
                         if p.value in self.profiles and self.profiles[p.value].is_set]

    def over_action(self, scope: str | None) -> Over:
        own = self.profiles[scope].over if scope is not None and scope in self.profiles else None
        return own or self.overall.over or Over.DOWNGRADE

    def as_table(self) -> dict[str, Any]:
        """As config.toml's [budget] table."""
        table = self.overall.as_table()
        for profile in RoutingProfile:
            limits = self.profiles.get(profile.value)
            if limits is not None and (limits.is_set or limits.over is not None):
                table[profile.value] = limits.as_table()
        return table


# reading [budget] ---------------------------------------------------------------------------------------

_LIMIT_KEYS = {"daily", "monthly", "over"}


def parse_budgets(table: Any, where: str = "config.toml") -> Budgets:
    """config.toml's [budget] table, checked; a MesoclawError names what is wrong and the valid choices."""
    if table is None:
        return Budgets()
    if not isinstance(table, Mapping):
        raise MesoclawError(f"{where}: [budget] must be a table (daily, monthly, over, and [budget.<profile>])")
    profiles = {p.value for p in RoutingProfile}
    unknown = sorted(set(table) - _LIMIT_KEYS - profiles)
    if unknown:
        raise MesoclawError(f"{where}: unknown key '{unknown[0]}' in [budget] (choose from: daily, monthly, over, "
                            f"{', '.join(p.value for p in RoutingProfile)})")
    overall = _limits({k: v for k, v in table.items() if k in _LIMIT_KEYS}, f"{where}: [budget]")
    parsed: dict[str, Limits] = {}
    for profile in (p for p in RoutingProfile if p.value in table):
        sub = table[profile.value]
        if not isinstance(sub, Mapping) or not set(sub) <= _LIMIT_KEYS:
            raise MesoclawError(f"{where}: [budget.{profile.value}] takes only daily, monthly and over")
        parsed[profile.value] = _limits(sub, f"{where}: [budget.{profile.value}]")
    return Budgets(overall, parsed)


def _limits(table: Mapping[str, Any], where: str) -> Limits:
    values = {period: check_amount(table[period], f"{where} {period}") for period in PERIODS if period in table}
    over = table.get("over")
    return Limits(values.get("daily"), values.get("monthly"),
                  parse_over(over, f"{where} over") if over is not None else None)


def check_amount(value: Any, what: str) -> float:
    """A limit in USD: a finite number, zero or more (zero: nothing may be spent)."""
    try:
        amount = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        amount = math.nan
    if not math.isfinite(amount) or amount < 0:
        raise MesoclawError(f"{what} must be an amount in USD, 0 or more (e.g. 5 or 2.50), got {value!r}")
    return amount


def parse_over(value: Any, what: str = "--over") -> Over:
    try:
        return Over(str(value).strip().lower())
    except ValueError:
        raise MesoclawError(f"{what} must be one of: {', '.join(o.value for o in Over)} (got {value!r})") from None


# spend and the verdict ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spend:
    """What was spent in a period: the known cost, and how many replies of unknown cost came on top."""

    known: float = 0.0
    unknown: int = 0

    def __add__(self, other: Spend) -> Spend:
        return Spend(self.known + other.known, self.unknown + other.unknown)

    def text(self) -> str:
        """`$4.10`, or `≥ $4.10 (3 requests of unknown cost)` when some cost is unknown."""
        if not self.unknown:
            return usd(self.known)
        return f"≥ {usd(self.known)} ({self.unknown} request{'' if self.unknown == 1 else 's'} of unknown cost)"


# profile -> (this month, today); the key None holds usage recorded without a profile
SpendTable = Mapping[str | None, tuple[Spend, Spend]]


def usd(amount: float) -> str:
    """A spend: cents from a cent up, four decimals below."""
    return f"${amount:,.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.4f}"


def limit_usd(amount: float) -> str:
    """A limit as it was set: $5.00, and $0.006 or $1.255 not rounded to a cent (which would say the
    limit is other than it is)."""
    in_cents = round(amount * 100)
    if abs(amount * 100 - in_cents) < 1e-9:
        return f"${amount:,.2f}"
    return f"${amount:,.6f}".rstrip("0")


@dataclass(frozen=True)
class Line:
    """One limit and its spend: `overall daily`, `premium monthly`."""

    scope: str | None  # None: the overall budget; else the profile's
    period: str  # daily, monthly
    limit: float
    spend: Spend

    @property
    def ratio(self) -> float:
        if self.limit <= 0:
            return math.inf if self.spend.known > 0 or self.spend.unknown else 1.0
        return self.spend.known / self.limit

    @property
    def level(self) -> Level:
        if self.spend.known >= self.limit:
            return Level.OVER
        return Level.WARN if self.ratio >= WARN_AT else Level.OK

    @property
    def name(self) -> str:
        return f"{self.scope + ' ' if self.scope else ''}{self.period} budget"

    def text(self) -> str:
        """`$4.10 of $5.00 today (82%)`, with the unknown part said."""
        percent = f" ({self.ratio:.0%})" if math.isfinite(self.ratio) else ""
        scope = f" on {self.scope}" if self.scope else ""
        return f"{self.spend.text()} of {limit_usd(self.limit)}{scope} {_PERIOD_WORDS[self.period]}{percent}"

    def reached(self) -> str:
        """`the daily budget of $5.00 is reached ($5.02 spent today)`."""
        return f"the {self.name} of {limit_usd(self.limit)} is reached ({self.spend.text()} spent {_PERIOD_WORDS[self.period]})"

    def as_dict(self) -> dict[str, Any]:
        return {"scope": self.scope or "overall", "period": self.period, "limit_usd": self.limit,
                "spent_usd": round(self.spend.known, 10), "unknown_cost_requests": self.spend.unknown,
                "ratio": round(self.ratio, 4) if math.isfinite(self.ratio) else None, "level": self.level.value}


@dataclass(frozen=True)
class Verdict:
    """What a request may do under the budgets: the profile it routes with, whether it is refused,
    and the lines that decided (every limit that applies to it)."""

    asked: RoutingProfile
    profile: RoutingProfile  # eco when downgraded
    refused: bool
    lines: tuple[Line, ...]
    decided_by: Line | None = None  # the limit that is reached, when one is

    @property
    def downgraded(self) -> bool:
        return self.profile is not self.asked

    @property
    def level(self) -> Level:
        if self.decided_by is not None:
            return Level.OVER
        return Level.WARN if any(line.level is not Level.OK for line in self.lines) else Level.OK

    @property
    def warning(self) -> Line | None:
        """The fullest limit at WARN_AT or more, when none is reached."""
        warned = [line for line in self.lines if line.level is not Level.OK]
        return max(warned, key=lambda line: line.ratio) if warned else None

    def message(self) -> str | None:
        """What to tell the user about this request, or None when nothing is near a limit."""
        line = self.decided_by
        if line is not None:
            reached = line.reached()
            if self.refused:
                return f"budget: {reached}; requests are refused until {_UNTIL[line.period]} " \
                       "(`mesoclaw budget show`)"
            if self.downgraded:
                return f"budget: {reached}; routed with eco instead of {self.asked.value}"
            return f"budget: {reached}; routing with eco"
        warned = self.warning
        return f"budget: {warned.text()}" if warned is not None else None


def lines_for(budgets: Budgets, spend: SpendTable, scope: str | None) -> list[Line]:
    limits = budgets.overall if scope is None else budgets.profiles.get(scope, Limits())
    lines = []
    for period in PERIODS:
        limit = limits.limit(period)
        if limit is not None:
            lines.append(Line(scope, period, limit, _spent(spend, scope, period)))
    return lines


def _spent(spend: SpendTable, scope: str | None, period: str) -> Spend:
    index = 0 if period == "monthly" else 1
    rows: Iterable[tuple[Spend, Spend]] = spend.values() if scope is None else (
        [spend[scope]] if scope in spend else [])
    total = Spend()
    for row in rows:
        total = total + row[index]
    return total


def verdict(budgets: Budgets, spend: SpendTable, profile: RoutingProfile) -> Verdict:
    """What a request asked with `profile` may do. A reached limit whose budget says `refuse` refuses
    it; one that says `downgrade` routes it with eco, unless eco's own budget is reached too (there is
    nothing cheaper then: it is refused)."""
    lines = lines_for(budgets, spend, None) + lines_for(budgets, spend, profile.value)
    reached = [line for line in lines if line.level is Level.OVER]
    if not reached:
        return Verdict(profile, profile, False, tuple(lines))
    refusing = [line for line in reached if budgets.over_action(line.scope) is Over.REFUSE]
    if refusing:
        return Verdict(profile, profile, True, tuple(lines), refusing[0])
    eco = RoutingProfile.ECO
    eco_lines = lines_for(budgets, spend, eco.value)
    eco_reached = [line for line in eco_lines if line.level is Level.OVER]
    if eco_reached:
        return Verdict(profile, profile, True, tuple(lines), eco_reached[0])
    shown = tuple(lines_for(budgets, spend, None) + eco_lines)
    return Verdict(profile, eco, False, shown, reached[0])
