"""Schedule syntax: every form parses to its canonical text, computes the right next run, and bad input
is a MesoclawError naming the valid forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mesoclaw_tui.core.types import MesoclawError
from mesoclaw_tui.schedule_spec import from_options, parse_schedule

PARIS = ZoneInfo("Europe/Paris")


def at(*args: int, tz=UTC) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize(("text", "canonical"), [
    ("every 15m", "every 15m"), ("every 2h", "every 2h"), ("every 1d", "every 1d"), ("EVERY 5M", "every 5m"),
    ("daily 9:05", "daily 09:05"), ("weekly mon 09:00", "weekly mon 09:00"),
    ("weekly thu,mon 17:30", "weekly mon,thu 17:30"), ("weekly Friday 08:00", "weekly fri 08:00"),
    ("cron */5 * * * *", "cron */5 * * * *"), ("0  9 * * mon-fri", "cron 0 9 * * mon-fri"),
])
def test_canonical_forms(text: str, canonical: str) -> None:
    assert parse_schedule(text).text == canonical
    assert parse_schedule(canonical).text == canonical  # what the database stores parses back to itself


@pytest.mark.parametrize("text", [
    "every 0m", "every 15", "every 15s", "every m", "every 400d", "daily 24:00", "daily 9", "daily 09:60",
    "weekly 09:00", "weekly mo 09:00", "weekly mon", "cron * * *", "cron 61 * * * *", "cron * * * * * *",
    "hourly", "", "cron 0 25 * * *",
])
def test_invalid_forms_name_the_valid_ones(text: str) -> None:
    with pytest.raises(MesoclawError) as err:
        parse_schedule(text)
    message = str(err.value)
    assert "\n" not in message
    assert any(hint in message for hint in ("15m", "HH:MM", "5 fields", "mon", "--cron", "minute"))


def test_options_need_exactly_one() -> None:
    assert from_options(every="1h").text == "every 1h"
    assert from_options(weekly="mon 09:00").text == "weekly mon 09:00"
    for kwargs in ({}, {"every": "1h", "daily": "09:00"}):
        with pytest.raises(MesoclawError, match="--every 15m.*--daily HH:MM.*--weekly.*--cron"):
            from_options(**kwargs)


def test_every_counts_from_now() -> None:
    now = at(2025, 1, 1, 10, 7, 30)
    assert parse_schedule("every 15m").next_after(now) == now + timedelta(minutes=15)
    assert parse_schedule("every 1d").next_after(now) == now + timedelta(days=1)


def test_daily_is_local_wall_time_across_dst() -> None:
    spec = parse_schedule("daily 09:00")
    # Winter: 09:00 Paris is 08:00 UTC; summer: 07:00 UTC. Same wall-clock time either side of the change.
    assert spec.next_after(at(2025, 3, 29, 12, 0), PARIS) == at(2025, 3, 30, 7, 0)
    assert spec.next_after(at(2025, 3, 28, 7, 59), PARIS) == at(2025, 3, 28, 8, 0)
    # Exactly at the slot: the next one, never the same instant twice.
    assert spec.next_after(at(2025, 3, 28, 8, 0), PARIS) == at(2025, 3, 29, 8, 0)


def test_daily_in_the_spring_forward_gap_runs_after_it() -> None:
    spec = parse_schedule("daily 02:30")  # 2025-03-30 02:30 does not exist in Paris
    assert spec.next_after(at(2025, 3, 29, 12, 0), PARIS) == at(2025, 3, 30, 1, 30)  # 03:30 CEST
    assert spec.next_after(at(2025, 3, 30, 2, 0), PARIS) == at(2025, 3, 31, 0, 30)


def test_weekly_picks_the_next_listed_day() -> None:
    spec = parse_schedule("weekly mon,thu 09:00")
    wed = at(2025, 1, 8, 12, 0, tz=PARIS)  # a Wednesday
    assert spec.next_after(wed, PARIS) == at(2025, 1, 9, 9, 0, tz=PARIS)
    thu_after = at(2025, 1, 9, 9, 0, 1, tz=PARIS)
    assert spec.next_after(thu_after, PARIS) == at(2025, 1, 13, 9, 0, tz=PARIS)
    mon_before = at(2025, 1, 13, 8, 0, tz=PARIS)
    assert spec.next_after(mon_before, PARIS) == at(2025, 1, 13, 9, 0, tz=PARIS)


def test_cron_is_local_time() -> None:
    spec = parse_schedule("cron 30 9 * * 1-5")
    sat = at(2025, 7, 5, 12, 0, tz=PARIS)
    assert spec.next_after(sat, PARIS) == at(2025, 7, 7, 9, 30, tz=PARIS)
    every5 = parse_schedule("*/5 * * * *")
    assert every5.next_after(at(2025, 1, 1, 10, 3), PARIS) == at(2025, 1, 1, 10, 5)
    assert every5.next_after(at(2025, 1, 1, 10, 5), PARIS) == at(2025, 1, 1, 10, 10)
    assert "9:30" in spec.describe() or "09:30" in spec.describe()


def test_next_after_needs_an_aware_time() -> None:
    with pytest.raises(ValueError):
        parse_schedule("every 1h").next_after(datetime(2025, 1, 1))
