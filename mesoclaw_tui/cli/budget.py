"""`mesoclaw budget …`: spend limits per day and per month, overall and per profile (config.toml's
[budget] table), and what happens past them: move down to eco, or refuse."""

from __future__ import annotations

from typing import Any

import click

from ..core.types import MesoclawError
from . import output as out
from .main import json_option, run_with_service


def register(cli: click.Group) -> None:
    cli.add_command(budget)


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def budget(ctx: click.Context, as_json: bool) -> None:
    """Spend limits per day and per month, overall and per profile, checked before every request.

    At 80% of a limit the app and `ask` warn; at 100% a request moves down to the eco profile
    (`--over downgrade`, the default) or is refused (`--over refuse`; `ask` exits 6). A cost that is
    unknown (a model without a price) is never counted as $0: the spend says "at least" and how many
    requests are of unknown cost. Days and months are local. With no subcommand, shows the budgets.
    """
    if ctx.invoked_subcommand is None:
        _show(ctx, as_json)


@budget.command("show")
@json_option
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """Every budget, what is spent against it, and what a request would do now."""
    _show(ctx, as_json)


def _show(ctx: click.Context, as_json: bool) -> None:
    async def read(service: Any) -> tuple[dict[str, Any], list[Any]]:
        profile = (await service.get_router_config()).profile
        return await service.budget_report(profile), await service.budget_lines()

    report, lines = run_with_service(ctx, read)
    if as_json:
        out.emit_json(report)
        return
    con = out.console()
    if not report["set"]:
        con.print("no budget set: `mesoclaw budget set --daily 5` (USD) sets one; add --profile premium for one "
                  "profile's, --over refuse to refuse past it")
        return
    print_lines(lines, report["over"])
    now = report.get("now")
    if now and now["message"]:
        con.print(out.styled(now["message"], "red" if now["level"] == "over" else "yellow"))


def print_lines(lines: list[Any], over: dict[str, str]) -> None:
    """The budget table (`budget show`, `router status`, `router usage`)."""
    from ..core.budget import limit_usd

    t = out.table("budget", "spent", "limit", "used", "past it")
    for line in lines:
        style = {"warn": "yellow", "over": "red"}.get(line.level.value, "")
        used = f"{line.ratio:.0%}" if line.limit > 0 else "-"
        action = over.get(line.scope or "overall", "downgrade")
        t.add_row(line.name, out.styled(line.spend.text(), style), limit_usd(line.limit), out.styled(used, style),
                  "refuse" if action == "refuse" else "move to eco")
    out.console().print(t)


@budget.command("set")
@click.option("--daily", metavar="USD", help="The limit per day (local), in USD.")
@click.option("--monthly", metavar="USD", help="The limit per month (local), in USD.")
@click.option("--profile", help="The budget of this profile only (eco, balanced or premium); default: overall.")
@click.option("--over", metavar="downgrade|refuse",
              help="Past the limit: route with eco (downgrade, the default) or refuse the request.")
@json_option
@click.pass_context
def set_cmd(ctx: click.Context, daily: str | None, monthly: str | None, profile: str | None, over: str | None,
            as_json: bool) -> None:
    """Set a budget's limits in config.toml; what is not given stays as it was."""
    from ..core.budget import check_amount, parse_over
    from ..core.types import parse_profile

    # checked before anything is opened: bad input changes nothing
    if daily is None and monthly is None and over is None:
        raise MesoclawError("give --daily USD, --monthly USD or --over downgrade|refuse")
    for value, name in ((daily, "--daily"), (monthly, "--monthly")):
        if value is not None:
            check_amount(value, name)
    if over is not None:
        parse_over(over)
    if profile is not None:
        parse_profile(profile)
    run_with_service(ctx, _async(lambda s: s.set_budget(daily=daily, monthly=monthly, profile=profile, over=over)))
    _show(ctx, as_json)


@budget.command("clear")
@click.option("--profile", help="Clear this profile's budget (default: the overall one).")
@click.option("--daily", is_flag=True, help="Only the daily limit.")
@click.option("--monthly", is_flag=True, help="Only the monthly limit.")
@click.option("--all", "everything", is_flag=True, help="Every budget, overall and per profile.")
@json_option
@click.pass_context
def clear(ctx: click.Context, profile: str | None, daily: bool, monthly: bool, everything: bool,
          as_json: bool) -> None:
    """Remove a budget, or only its daily or monthly limit."""
    from ..core.types import parse_profile

    if profile is not None:
        parse_profile(profile)
    if everything and (profile or daily or monthly):
        raise MesoclawError("--all removes every budget: give it alone")
    run_with_service(ctx, _async(lambda s: s.clear_budget(profile=profile, daily=daily, monthly=monthly,
                                                          everything=everything)))
    _show(ctx, as_json)


def _async(action: Any) -> Any:
    async def run(service: Any) -> Any:
        return action(service)

    return run
