"""Schedules of jobs: parsing and "when is the next run". Pure: no I/O beyond finding the local zone.

Four forms, each stored as its canonical text:

    every 15m | every 2h | every 1d     an interval, counted from the end of the previous run
    daily 09:00                         every day at that local time
    weekly mon 09:00                    every week on that day (or days: mon,thu) at that local time
    cron */5 * * * *                    a 5-field cron expression (cronsim), in local time

Daily, weekly and cron times are wall-clock times in the machine's local time zone (the one a user
means when they type 09:00), so a 09:00 job stays at 09:00 across daylight-saving changes. Instants
are aware datetimes; callers store them as unix seconds.

The next run is always computed from "now" (after a run ends, or when a job is added or enabled),
never from the slot that was due: a machine that slept through five slots runs the job once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .core.types import MesoclawError

FORMS = "--every 15m|2h|1d, --daily HH:MM, --weekly 'mon HH:MM' or --cron 'MIN HOUR DOM MON DOW'"
UNITS = {"m": 60, "h": 3600, "d": 86_400}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = {d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                          "sunday"))}
_EVERY = re.compile(r"^(\d+)\s*([mhd])$")
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
MAX_INTERVAL_S = 366 * 86_400


def local_zone() -> tzinfo:
    """The machine's time zone as a ZoneInfo when it can be found (so DST rules apply), else the
    current fixed offset: $TZ, then /etc/localtime."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        with open("/etc/localtime", "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ValueError):
        return datetime.now().astimezone().tzinfo or UTC


@dataclass(frozen=True)
class Schedule:
    kind: str  # every, daily, weekly, cron
    text: str  # canonical form, what the database stores
    interval_s: int = 0
    at: time | None = None
    weekdays: tuple[int, ...] = ()  # 0 = Monday
    cron: str = ""

    def next_after(self, now: datetime, tz: tzinfo | None = None) -> datetime:
        """The first run strictly after `now` (aware), as an aware UTC datetime."""
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        if self.kind == "every":
            return (now + timedelta(seconds=self.interval_s)).astimezone(UTC)
        zone = tz or local_zone()
        local = now.astimezone(zone)
        if self.kind == "cron":
            from cronsim import CronSim

            return next(CronSim(self.cron, local)).astimezone(UTC)
        assert self.at is not None
        days = self.weekdays or tuple(range(7))
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in days:
                continue
            # fold=0 and a wall time that does not exist (spring forward) map to the instant after the gap.
            candidate = _wall_time(datetime.combine(day, self.at), zone)
            if candidate > now:
                return candidate.astimezone(UTC)
        raise AssertionError("a weekly slot is always within 8 days")

    def describe(self) -> str:
        if self.kind == "cron":
            try:
                from cronsim import CronSim

                return CronSim(self.cron, datetime.now(UTC)).explain()
            except Exception:  # explain() is best effort; the expression itself was validated
                return self.text
        return self.text


def _wall_time(naive: datetime, zone: tzinfo) -> datetime:
    aware = naive.replace(tzinfo=zone)
    round_trip = aware.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != naive:  # in a DST gap: run at the first instant after it
        return round_trip
    return aware


def parse_every(value: str) -> Schedule:
    match = _EVERY.match(value.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise MesoclawError(f"bad interval '{value}' (use a number and a unit: 15m, 2h or 1d)")
    seconds = int(match.group(1)) * UNITS[match.group(2)]
    if seconds > MAX_INTERVAL_S:
        raise MesoclawError(f"interval '{value}' is longer than a year (use --cron for rare jobs)")
    return Schedule("every", f"every {match.group(1)}{match.group(2)}", interval_s=seconds)


def _parse_hhmm(value: str) -> time:
    match = _HHMM.match(value.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise MesoclawError(f"bad time '{value}' (use 24-hour HH:MM, e.g. 09:00 or 17:30)")
    return time(int(match.group(1)), int(match.group(2)))


def parse_daily(value: str) -> Schedule:
    at = _parse_hhmm(value)
    return Schedule("daily", f"daily {at:%H:%M}", at=at)


def parse_weekly(value: str) -> Schedule:
    parts = value.strip().lower().split()
    if len(parts) != 2:
        raise MesoclawError(f"bad weekly schedule '{value}' (use 'DAY HH:MM', e.g. 'mon 09:00' or "
                            f"'mon,thu 09:00'; days: {', '.join(DAYS)})")
    days = []
    for word in parts[0].split(","):
        word = word.strip()
        index = DAYS.index(word) if word in DAYS else _FULL_DAYS.get(word)
        if index is None:
            raise MesoclawError(f"unknown day '{word}' (choose from: {', '.join(DAYS)})")
        if index not in days:
            days.append(index)
    at = _parse_hhmm(parts[1])
    days.sort()
    return Schedule("weekly", f"weekly {','.join(DAYS[d] for d in days)} {at:%H:%M}", at=at,
                    weekdays=tuple(days))


def parse_cron(value: str) -> Schedule:
    from cronsim import CronSim, CronSimError

    fields = value.split()
    if len(fields) != 5:
        raise MesoclawError(f"bad cron expression '{value}': it needs 5 fields (minute hour day-of-month "
                            f"month day-of-week), e.g. '*/15 * * * *' or '0 9 * * mon-fri'")
    expr = " ".join(fields)
    try:
        CronSim(expr, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise MesoclawError(f"bad cron expression '{value}': {exc} (5 fields: minute hour day-of-month "
                            "month day-of-week, e.g. '0 9 * * mon-fri')") from None
    return Schedule("cron", f"cron {expr}", cron=expr)


def parse_schedule(text: str) -> Schedule:
    """A stored or typed schedule: 'every 15m', 'daily 09:00', 'weekly mon 09:00', 'cron …', or bare cron."""
    value = text.strip()
    head, _, rest = value.partition(" ")
    match head.lower():
        case "every":
            return parse_every(rest)
        case "daily":
            return parse_daily(rest)
        case "weekly":
            return parse_weekly(rest)
        case "cron":
            return parse_cron(rest)
    if len(value.split()) == 5:
        return parse_cron(value)
    raise MesoclawError(f"bad schedule '{text}' (use {FORMS})")


def from_options(every: str | None = None, daily: str | None = None, weekly: str | None = None,
                 cron: str | None = None) -> Schedule:
    """Exactly one of the CLI's schedule options."""
    given = [(name, v) for name, v in (("every", every), ("daily", daily), ("weekly", weekly), ("cron", cron))
             if v is not None]
    if len(given) != 1:
        what = "no schedule" if not given else "more than one schedule"
        raise MesoclawError(f"{what} given: choose exactly one of {FORMS}")
    name, value = given[0]
    return {"every": parse_every, "daily": parse_daily, "weekly": parse_weekly, "cron": parse_cron}[name](value)
