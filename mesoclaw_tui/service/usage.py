"""Usage aggregation: spend by model, profile, task and source, and savings against a baseline. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..core.types import ModelTarget
from .conversation_records import UsageRecord

GROUPS = ("model", "profile", "task", "source")
NONE_ANSWERED = "(none answered)"


@dataclass
class UsageBucket:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unknown_cost: int = 0  # answered requests whose model has no known price
    estimated: int = 0
    failed: int = 0

    def add(self, record: UsageRecord) -> None:
        self.requests += 1
        self.input_tokens += record.input_tokens or 0
        self.output_tokens += record.output_tokens or 0
        self.estimated += record.estimated
        self.failed += record.outcome == "failed"
        if record.cost_usd is None:
            self.unknown_cost += record.outcome != "failed"
        else:
            self.cost_usd += record.cost_usd


@dataclass(frozen=True)
class Savings:
    baseline: str | None  # what the requests are priced against, in words
    baseline_cost_usd: float
    actual_cost_usd: float

    @property
    def saved_usd(self) -> float:
        return self.baseline_cost_usd - self.actual_cost_usd

    @property
    def saved_ratio(self) -> float | None:
        return 1 - self.actual_cost_usd / self.baseline_cost_usd if self.baseline_cost_usd else None


@dataclass(frozen=True)
class UsageReport:
    since: float | None
    total: UsageBucket
    groups: dict[str, dict[str, UsageBucket]]  # "model" | "profile" | "task" | "source" -> key -> bucket
    savings: Savings = field(default_factory=lambda: Savings(None, 0.0, 0.0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since, "total": asdict(self.total),
            **{f"by_{g}": {k: asdict(b) for k, b in v.items()} for g, v in self.groups.items()},
            "savings": {**asdict(self.savings), "saved_usd": self.savings.saved_usd,
                        "saved_ratio": self.savings.saved_ratio},
        }


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
