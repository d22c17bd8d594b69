"""Usage aggregation: spend by model, profile, task and source, and savings against a baseline. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from ..core.types import ModelTarget
from .records import Savings, UsageBucket, UsageRecord, UsageReport

GROUPS = ("model", "profile", "task", "source")
NONE_ANSWERED = "(none answered)"


def group_keys(record: UsageRecord) -> dict[str, str]:
    """The bucket a record falls in, for each grouping."""
    return {
        "model": f"{record.provider}:{record.model}" if record.provider else NONE_ANSWERED,
        "profile": record.profile or "-",
        "task": record.task or "-",
        "source": record.source,
    }


def summarise_usage(records: Iterable[UsageRecord], baseline: ModelTarget | None,
                    since: float | None = None) -> UsageReport:
    """Totals and per-group buckets; savings compare each priced reply's cost with what the same
    tokens would have cost at `baseline` (replies without both prices are left out of it)."""
    groups: dict[str, dict[str, UsageBucket]] = {g: {} for g in GROUPS}
    total = UsageBucket()
    baseline_cost = priced_cost = 0.0
    for record in records:
        total.add(record)
        for group, key in group_keys(record).items():
            groups[group].setdefault(key, UsageBucket()).add(record)
        if record.cost_usd is not None and record.baseline_cost_usd is not None:
            priced_cost += record.cost_usd
            baseline_cost += record.baseline_cost_usd
    described = (f"the same requests priced at the premium profile's primary model "
                 f"({baseline.provider}:{baseline.model})") if baseline else None
    return UsageReport(since, total, groups, Savings(described, baseline_cost, priced_cost))
