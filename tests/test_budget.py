"""Budgets without a database (core/budget.py): reading [budget], and what a request may do under
them: warn at 80%, move down to eco or refuse at 100%, eco's own budget, unknown costs never $0."""

from __future__ import annotations

import pytest

from mesoclaw_tui.core.budget import Budgets, Level, Limits, Over, Spend, parse_budgets, verdict
from mesoclaw_tui.core.types import MesoclawError, RoutingProfile

ECO, BALANCED, PREMIUM = RoutingProfile.ECO, RoutingProfile.BALANCED, RoutingProfile.PREMIUM


def spent(**by_profile: float | tuple[float, int]) -> dict:
    """profile -> (this month, today), the same spend for both."""
    table = {}
    for profile, value in by_profile.items():
        known, unknown = value if isinstance(value, tuple) else (value, 0)
        table[profile] = (Spend(known, unknown), Spend(known, unknown))
    return table


def test_reading_the_budget_table() -> None:
    budgets = parse_budgets({"daily": 5, "monthly": 50.5, "over": "refuse",
                             "premium": {"daily": 1, "over": "downgrade"}})
    assert budgets.overall == Limits(5.0, 50.5, Over.REFUSE)
    assert budgets.profiles["premium"] == Limits(1.0, None, Over.DOWNGRADE)
    assert budgets.over_action("premium") is Over.DOWNGRADE and budgets.over_action("eco") is Over.REFUSE
    assert parse_budgets(budgets.as_table()) == budgets
    assert not parse_budgets(None).is_set


@pytest.mark.parametrize("table, words", [
    ({"weekly": 5}, "unknown key 'weekly' in [budget]"),
    ({"daily": -1}, "daily must be an amount in USD"),
    ({"daily": "five"}, "daily must be an amount in USD"),
    ({"daily": True}, "daily must be an amount in USD"),
    ({"daily": float("nan")}, "daily must be an amount in USD"),
    ({"over": "panic"}, "over must be one of: downgrade, refuse"),
    ({"premium": {"hourly": 1}}, "[budget.premium] takes only daily, monthly and over"),
    ({"premium": 3}, "[budget.premium] takes only"),
])
def test_a_bad_budget_table_names_what_is_wrong(table, words) -> None:
    with pytest.raises(MesoclawError, match=None) as err:
        parse_budgets(table, "config.toml")
    assert words in str(err.value)


def test_under_80_percent_nothing_is_said() -> None:
    decided = verdict(Budgets(Limits(daily=10)), spent(balanced=7.9), BALANCED)
    assert decided.level is Level.OK and decided.message() is None and decided.profile is BALANCED


def test_at_80_percent_it_warns_with_the_fullest_limit() -> None:
    decided = verdict(Budgets(Limits(daily=10, monthly=100)), spent(balanced=8.5, eco=0.5), BALANCED)
    assert decided.level is Level.WARN and not decided.refused and decided.profile is BALANCED
    assert decided.message() == "budget: $9.00 of $10.00 today (90%)"  # every profile's spend counts


def test_at_100_percent_it_moves_down_to_eco_by_default() -> None:
    decided = verdict(Budgets(Limits(daily=10)), spent(premium=10.0), PREMIUM)
    assert decided.profile is ECO and decided.downgraded and not decided.refused and decided.level is Level.OVER
    assert decided.message() == ("budget: the daily budget of $10.00 is reached ($10.00 spent today); routed with "
                                 "eco instead of premium")


def test_at_100_percent_a_refusing_budget_refuses() -> None:
    decided = verdict(Budgets(Limits(monthly=20, over=Over.REFUSE)), spent(eco=21.0), ECO)
    assert decided.refused and decided.profile is ECO
    assert "requests are refused until next month" in decided.message()


def test_a_profiles_budget_applies_to_that_profile_only_and_its_own_rule_wins() -> None:
    budgets = Budgets(Limits(daily=100), {"premium": Limits(daily=2, over=Over.REFUSE)})
    assert verdict(budgets, spent(premium=2.5), PREMIUM).refused
    balanced = verdict(budgets, spent(premium=2.5), BALANCED)
    assert not balanced.refused and balanced.profile is BALANCED and balanced.level is Level.OK


def test_moving_down_is_refused_when_ecos_own_budget_is_spent_too() -> None:
    budgets = Budgets(Limits(daily=10), {"eco": Limits(daily=1)})
    decided = verdict(budgets, spent(balanced=9.0, eco=1.5), BALANCED)
    assert decided.refused and decided.decided_by is not None and decided.decided_by.scope == "eco"
    still_eco = verdict(Budgets(Limits(daily=10)), spent(eco=12.0), ECO)
    assert not still_eco.refused and still_eco.profile is ECO  # downgrade: eco goes on answering


def test_unknown_costs_are_never_counted_as_zero() -> None:
    decided = verdict(Budgets(Limits(daily=10)), spent(balanced=(8.2, 3)), BALANCED)
    assert decided.message() == "budget: ≥ $8.20 (3 requests of unknown cost) of $10.00 today (82%)"
    quiet = verdict(Budgets(Limits(daily=10)), spent(balanced=(1.0, 3)), BALANCED)
    line = quiet.lines[0]
    assert line.spend.text() == "≥ $1.00 (3 requests of unknown cost)" and line.as_dict()["unknown_cost_requests"] == 3


def test_a_zero_limit_allows_nothing() -> None:
    decided = verdict(Budgets(Limits(daily=0, over=Over.REFUSE)), {}, BALANCED)
    assert decided.refused and "the daily budget of $0.00 is reached" in decided.message()


def test_every_face_has_a_row_for_every_failure_kind_the_budget_one_included() -> None:
    """ask, serve and the app have their own tests of this; the scheduler's table is checked here."""
    from mesoclaw_tui.core.failures import FailureKind
    from mesoclaw_tui.scheduler import RUN_STATUS

    assert set(RUN_STATUS) - {None} == set(FailureKind)
    assert RUN_STATUS[FailureKind.BUDGET_EXCEEDED] == "failed"


def test_a_limit_under_a_cent_or_between_cents_is_said_as_it_was_set() -> None:
    from mesoclaw_tui.tui.budget import short

    decided = verdict(Budgets(Limits(daily=0.006)), spent(balanced=0.0055), BALANCED)
    assert decided.message() == "budget: $0.0055 of $0.006 today (92%)"  # not "of $0.01"
    assert short(decided.warning) == "$0.0055/$0.006 today"
    decided = verdict(Budgets(Limits(daily=1.255)), spent(balanced=1.2), BALANCED)
    assert "of $1.255 today" in decided.message()
    assert verdict(Budgets(Limits(daily=5)), spent(balanced=4.5), BALANCED).message() == \
        "budget: $4.50 of $5.00 today (90%)"


def test_the_top_bar_writes_a_tiny_conversation_cost_as_the_labels_do() -> None:
    from mesoclaw_tui.service.chat_records import ConversationUsage
    from mesoclaw_tui.tui.screens.chat_extras import usage_text

    tiny = usage_text(ConversationUsage(replies=1, input_tokens=41, output_tokens=87, cost_usd=0.0000584))
    assert tiny == "128 tok $0.0000584"  # not $5.8e-05
    assert usage_text(ConversationUsage(replies=2, input_tokens=900, output_tokens=600, cost_usd=0.0123)) == \
        "1.5k tok $0.0123"
