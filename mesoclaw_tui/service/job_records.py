"""Scheduled jobs, their runs and the scheduler lease, as the scheduler, the CLI and the app see them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..core.types import MesoclawError

if TYPE_CHECKING:
    from .agent_records import AgentJobSettings


def to_datetime(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _when(seconds: float) -> datetime:
    moment = to_datetime(seconds)
    assert moment is not None
    return moment


@dataclass(frozen=True)
class JobRun:
    id: int
    job_id: int
    trigger: str  # schedule, manual
    runner: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str  # running, ok, incomplete, failed, interrupted
    output: str
    error: str | None
    task: str | None
    profile: str | None
    provider: str | None
    model: str | None
    attempts: list[dict[str, Any]]
    input_tokens: int | None
    output_tokens: int | None
    estimated: bool
    cost_usd: float | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> JobRun:
        try:
            attempts = json.loads(row["attempts"]) if row["attempts"] else []
        except ValueError:
            attempts = []
        return cls(row["id"], row["job_id"], row["trigger"], row["runner"], _when(row["started_at"]),
                   to_datetime(row["finished_at"]), row["status"], row["output"] or "", row["error"], row["task"],
                   row["profile"], row["provider"], row["model"], attempts, row["input_tokens"],
                   row["output_tokens"], bool(row["estimated"]), row["cost_usd"])

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "trigger": self.trigger, "runner": self.runner, "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at), "seconds": self.seconds, "status": self.status,
            "output": self.output, "error": self.error, "task": self.task, "profile": self.profile,
            "provider": self.provider, "model": self.model, "attempts": self.attempts,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                      "cost_usd": self.cost_usd, "estimated": self.estimated},
        }


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    kind: str
    prompt: str
    task: str  # a task type or "auto"
    profile: str | None  # None = the active profile at run time
    schedule: str
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_status: str | None
    running_since: datetime | None
    claimed_by: str | None
    created_at: datetime
    last_run: JobRun | None = field(default=None, compare=False)
    agent: AgentJobSettings | None = None  # an agent job's tools, directory and limits

    @classmethod
    def from_row(cls, row: Mapping[str, Any], last_run: Mapping[str, Any] | None = None) -> Job:
        agent = _agent_settings(row)
        return cls(row["id"], row["name"], "agent" if agent else row["kind"], row["prompt"], row["task"],
                   row["profile"], row["schedule"], bool(row["enabled"]), to_datetime(row["next_run_at"]),
                   to_datetime(row["last_run_at"]), row["last_status"], to_datetime(row["running_since"]),
                   row["claimed_by"], _when(row["created_at"]), JobRun.from_row(last_run) if last_run else None,
                   agent)

    @property
    def running(self) -> bool:
        return self.running_since is not None

    def describe_schedule(self) -> str:
        from ..schedule_spec import parse_schedule

        try:
            return parse_schedule(self.schedule).describe()
        except MesoclawError:
            return self.schedule

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "prompt": self.prompt, "task": self.task,
            "profile": self.profile, "schedule": self.schedule, "enabled": self.enabled,
            "next_run_at": iso(self.next_run_at) if self.enabled else None, "last_run_at": iso(self.last_run_at),
            "last_status": self.last_status, "running_since": iso(self.running_since),
            "claimed_by": self.claimed_by, "created_at": iso(self.created_at),
            "last_run": self.last_run.as_dict() if self.last_run else None,
            **({"agent": self.agent.as_dict()} if self.agent else {}),
        }


def _agent_settings(row: Mapping[str, Any]) -> AgentJobSettings | None:
    """Schema 5's `agent` column (a row from before it has none)."""
    try:
        raw = row["agent"]
    except (KeyError, IndexError):
        return None
    if not raw:
        return None
    from .agent_records import AgentJobSettings

    return AgentJobSettings.parse(raw)


@dataclass(frozen=True)
class Lease:
    """Who runs due jobs: the holder id of one process, until the lease expires (renewed while alive)."""

    holder: str
    acquired_at: datetime
    expires_at: datetime
    beat: int = 0  # +1 at every renewal: how a would-be taker tells a live holder from a dead one
    renew_s: float | None = None  # the holder's renew interval

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Lease:
        return cls(row["holder"], _when(row["acquired_at"]), _when(row["expires_at"]), row.get("beat") or 0,
                   row.get("renew_s"))


@dataclass(frozen=True)
class Claim:
    """A job claimed by one runner, with the run row opened for it."""

    job: Job
    run_id: int


@dataclass(frozen=True)
class Beat:
    """Another runner's claim (or lease) as last seen: its heartbeat counter and renew interval."""

    counter: int
    renew_s: float | None
    holder: str | None = None  # whose: a counter is compared only with the same holder's


@dataclass(frozen=True)
class Busy:
    """A job another runner has claimed: who, since when, and its claim's heartbeat."""

    job: Job
    expired: bool  # the claim is past its expiry by the caller's clock (its holder may be dead)
    beat: Beat


@dataclass(frozen=True)
class RunResult:
    """How a run ended; written to its run row (and the job's last status) when it finishes."""

    status: str  # ok, incomplete, failed, interrupted
    output: str = ""
    error: str | None = None
    task: str | None = None
    profile: str | None = None
    provider: str | None = None
    model: str | None = None
    attempts: str | None = None  # JSON: [{provider, model, outcome, error, ms}]
    input_tokens: int | None = None
    output_tokens: int | None = None
    estimated: int = 0
    cost_usd: float | None = None
    usage_id: int | None = None

    def columns(self) -> dict[str, Any]:
        """The fields to write: a None leaves the run row's value (the task and profile of the claim)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
