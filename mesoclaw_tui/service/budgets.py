"""Spend controls as the faces and the engine use them: the budgets of config.toml's [budget] table,
the spend of this day and month, and the verdict for a request (part of RouterService).

The check runs before every request, so both halves are cached: the budgets until config.toml
changes (its size and modification time, one stat), the spend until the database changes (the same
change stamp the router settings use) or the day turns. A miss is one range scan of the usage_spend
index. Days and months are the machine's local ones.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core.types import MesoclawError, RoutingProfile, parse_profile

if TYPE_CHECKING:
    from ..core.budget import Budgets, Line, SpendTable, Verdict
    from ..settings import Settings
    from ..store import Store

# core.budget is imported by each method: opening the service (every CLI command) does not load it.


def period_starts(now: float) -> tuple[float, float]:
    """The unix times of local midnight today and of the first of this month."""
    today = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return today.timestamp(), today.replace(day=1).timestamp()


class BudgetsMixin:
    """Part of RouterService (which provides `store` and `settings`)."""

    store: Store
    settings: Settings
    _budget_cache: tuple[Any, Budgets] | None = None
    _spend_cache: tuple[Any, SpendTable] | None = None

    # the budgets (config.toml) ----------------------------------------------------------------------

    def budgets(self) -> Budgets:
        """The [budget] table of config.toml, read again only when the file changed."""
        path = self.settings.paths.config_path
        try:
            info = os.stat(path)
            stamp: Any = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            stamp = None
        if self._budget_cache is not None and self._budget_cache[0] == stamp:
            return self._budget_cache[1]
        from ..core.budget import Budgets, parse_budgets
        from ..settings import read_config_file

        budgets = parse_budgets(read_config_file(path).get("budget"), str(path)) if stamp else Budgets()
        self._budget_cache = (stamp, budgets)
        return budgets

    def set_budget(self, *, daily: float | str | None = None, monthly: float | str | None = None,
                   profile: str | None = None, over: str | None = None) -> Budgets:
        """Set limits (and what happens past them) of the overall budget or of one profile's, in
        config.toml (under its lock); what is not given stays as it was."""
        if daily is None and monthly is None and over is None:
            raise MesoclawError("give --daily USD, --monthly USD or --over downgrade|refuse")
        from ..core.budget import check_amount, parse_over

        scope = parse_profile(profile).value if profile else None
        values = {"daily": check_amount(daily, "--daily") if daily is not None else None,
                  "monthly": check_amount(monthly, "--monthly") if monthly is not None else None,
                  "over": parse_over(over).value if over is not None else None}

        def change(table: dict[str, Any]) -> None:
            target = table if scope is None else table.setdefault(scope, {})
            target.update({k: v for k, v in values.items() if v is not None})

        return self._change_budget_table(change)

    def clear_budget(self, *, profile: str | None = None, daily: bool = False, monthly: bool = False,
                     everything: bool = False) -> Budgets:
        """Remove a budget (the overall one, or one profile's), or only its daily or monthly limit; with
        everything, every budget."""
        scope = parse_profile(profile).value if profile else None
        if everything and (profile or daily or monthly):
            raise MesoclawError("--all removes every budget: give it alone")

        def change(table: dict[str, Any]) -> None:
            if everything:
                table.clear()
                return
            target = table if scope is None else table.get(scope, {})
            keys = [k for k, wanted in (("daily", daily), ("monthly", monthly)) if wanted] or \
                ["daily", "monthly", "over"]
            for key in keys:
                target.pop(key, None)
            if scope is not None and not target:
                table.pop(scope, None)

        return self._change_budget_table(change)

    def _change_budget_table(self, change: Any) -> Budgets:
        from ..core.budget import parse_budgets
        from ..settings import update_config_file

        path = self.settings.paths.config_path
        result: list[Budgets] = []

        def apply(data: dict[str, Any]) -> None:
            table = dict(data.get("budget") or {})
            parse_budgets(table, str(path))  # a hand-made mistake already there is said, not kept quiet
            change(table)
            result.append(parse_budgets(table, str(path)))
            if table:
                data["budget"] = table
            else:
                data.pop("budget", None)

        update_config_file(path, apply)
        self._budget_cache = None
        return result[0]

    # the spend (the database) ------------------------------------------------------------------------

    async def spend(self, now: float | None = None) -> SpendTable:
        """Per profile: (this month's spend, today's), from the usage rows."""
        now = time.time() if now is None else now
        day_start, month_start = period_starts(now)
        stamp = (await self.store.usage_stamp(), day_start)  # a reply recorded here counts at once
        if self._spend_cache is not None and self._spend_cache[0] == stamp:
            return self._spend_cache[1]
        from ..core.budget import Spend

        rows = await self.store.spend_by_profile(day_start, month_start)
        table = {profile: (Spend(month_cost, int(month_unknown)), Spend(day_cost, int(day_unknown)))
                 for profile, month_cost, month_unknown, day_cost, day_unknown in rows}
        self._spend_cache = (stamp, table)
        return table

    async def budget_check(self, profile: RoutingProfile) -> Verdict | None:
        """What a request routed with `profile` may do now; None when no budget is set."""
        budgets = self.budgets()
        if not budgets.is_set:
            return None
        from ..core.budget import verdict

        return verdict(budgets, await self.spend(), profile)

    async def budget_report(self, profile: RoutingProfile | None = None) -> dict[str, Any]:
        """Every budget with its spend (what `budget show`, `router status` and `router usage` print),
        and the verdict for a request with `profile` (the active one when not given)."""
        budgets = self.budgets()
        report: dict[str, Any] = {
            "set": budgets.is_set, "over": {scope or "overall": budgets.over_action(scope).value
                                            for scope, _ in budgets.scopes()},
            "limits": [line.as_dict() for line in await self.budget_lines()],
        }
        if budgets.is_set and profile is not None:
            from ..core.budget import verdict

            decided = verdict(budgets, await self.spend(), profile)
            report["now"] = {"profile": profile.value, "routes_with": decided.profile.value,
                             "refused": decided.refused, "level": decided.level.value, "message": decided.message()}
        return report

    async def budget_lines(self) -> list[Line]:
        """Every limit that is set, with its spend: the overall budget's first, then each profile's."""
        from ..core.budget import lines_for

        budgets = self.budgets()
        if not budgets.is_set:
            return []  # no spend to read (`router status` without a budget makes no query for it)
        spend = await self.spend()
        return [line for scope, _ in budgets.scopes() for line in lines_for(budgets, spend, scope)]
