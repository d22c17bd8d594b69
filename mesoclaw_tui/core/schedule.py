"""Reading a genai-prices price schedule (prices that change on a date, prices that step up above
a prompt size) for a given day: what the registry needs at import, kept apart from the price
lookup so a CLI start does not pay for the lookup's machinery."""

from __future__ import annotations

PriceSpec = float | tuple[float, tuple[tuple[int, float], ...]] | None  # flat, or (base, ((from, price)…))
Schedule = tuple[tuple[str, PriceSpec, PriceSpec], ...]  # (first day or "" or "T" for time-of-day, in, out)


def prices_on(schedule: Schedule, today: str) -> tuple[PriceSpec, PriceSpec]:
    """genai-prices' rule: the last price whose start has come wins; with none, the first. A price
    for a time of day (off-peak hours) never counts as the day's price."""
    for start, input_spec, output_spec in reversed(schedule):
        if start == "" or (start != "T" and start <= today):
            return input_spec, output_spec
    return schedule[0][1], schedule[0][2]


def base_price(spec: PriceSpec) -> float | None:
    """The price below any prompt-size step."""
    return spec[0] if isinstance(spec, tuple) else spec


def tiers_text(input_spec: PriceSpec, output_spec: PriceSpec) -> str:
    """How prices step up above a prompt size, for people: "" when they do not."""
    parts = []
    for what, spec in (("input", input_spec), ("output", output_spec)):
        if isinstance(spec, tuple):
            parts += [f"{what} ${price:g} above {start:,} prompt tokens" for start, price in spec[1]]
    return "; ".join(parts)
