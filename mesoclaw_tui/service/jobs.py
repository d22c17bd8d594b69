"""Scheduled jobs, their runs, and the scheduler's lease and claims.

Times are unix seconds passed in by the caller (the scheduler's injectable clock). Every decision
that must not race (take the lease, find a due job and claim it) is one store transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..core.types import MesoclawError

if TYPE_CHECKING:
    from ..store import Store
    from .agent_records import AgentJobSettings
    from .job_records import Beat, Busy, Claim, Job, JobRun, Lease, RunResult

# The dataclasses are imported by each method, not here: opening the service then defines none of them.


class JobsMixin:
    """Part of RouterService (which provides `store`)."""

    store: Store

    async def create_job(self, *, name: str, kind: str, prompt: str, task: str, profile: str | None,
                         schedule: str, enabled: bool, next_run_at: float, now: float,
                         agent: AgentJobSettings | None = None) -> Job:
        """A new job; a MesoclawError when the name is taken. An agent job (kind "agent", with its
        settings) is stored as kind "prompt" with the settings beside it (see schema.sql)."""
        if (kind == "agent") != (agent is not None):
            raise ValueError("an agent job, and only one, carries agent settings")
        await self.store.create_job({"name": name, "kind": "prompt" if agent else kind, "prompt": prompt,
                                     "task": task, "profile": profile, "schedule": schedule,
                                     "enabled": int(enabled), "next_run_at": next_run_at,
                                     "agent": agent.dump() if agent else None},
                                    now)
        return await self.require_job(name)

    async def job(self, name: str) -> Job | None:
        """The job with its latest run (which may still be running)."""
        from .job_records import Job

        row = await self.store.job(name)
        if row is None:
            return None
        runs = await self.store.job_runs(row["id"], limit=1)
        return Job.from_row(row, runs[0] if runs else None)

    async def require_job(self, name: str) -> Job:
        """The job, or a MesoclawError that lists the jobs there are."""
        job = await self.job(name)
        if job is None:
            names = await self.store.job_names()
            known = ", ".join(names) if names else "there are none; add one with `mesoclaw schedule add`"
            raise MesoclawError(f"no job named '{name}' (jobs: {known})")
        return job

    async def list_jobs(self) -> list[Job]:
        """Every job, by name, with its latest run."""
        from .job_records import Job

        latest = await self.store.latest_runs()
        return [Job.from_row(row, latest.get(row["id"])) for row in await self.store.jobs()]

    async def job_runs(self, job_id: int, limit: int = 10) -> list[JobRun]:
        """Recent runs, newest first."""
        from .job_records import JobRun

        return [JobRun.from_row(r) for r in await self.store.job_runs(job_id, limit)]

    async def job_run(self, run_id: int) -> JobRun | None:
        from .job_records import JobRun

        row = await self.store.job_run(run_id)
        return JobRun.from_row(row) if row else None

    async def update_job(self, name: str, now: float, *, enabled: bool | None = None,
                         next_run_at: float | None = None, definition: Mapping[str, Any] | None = None) -> bool:
        """Change a job: enabled, its next run, and with `definition` (checked by the caller) its kind,
        prompt, task, profile and schedule."""
        changes: dict[str, Any] = dict(definition or {})
        if enabled is not None:
            changes["enabled"] = int(enabled)
        if next_run_at is not None:
            changes["next_run_at"] = next_run_at
        return await self.store.update_job(name, now, **changes)

    async def delete_job(self, name: str) -> bool:
        return await self.store.delete_job(name)

    async def next_due_at(self, now: float) -> float | None:
        """When the next enabled job not being run elsewhere is due."""
        return await self.store.next_due_at(now)

    # the lease and the claims -------------------------------------------------------------------------

    async def lease(self) -> Lease | None:
        """The lease as recorded (it may have expired)."""
        from .job_records import Lease

        row = await self.store.lease()
        return Lease.from_row(row) if row else None

    async def take_lease(self, holder: str, now: float, ttl: float, renew_s: float,
                         steal: tuple[str, int] | None = None) -> tuple[bool, Lease | None]:
        """Take or renew the lease if it is free or already `holder`'s; another holder's expired lease
        only when it is `steal` (that holder, with that heartbeat counter, seen standing still).
        Returns (held, the lease as it now is)."""
        from .job_records import Lease

        held, row = await self.store.take_lease(holder, now, ttl, renew_s, steal)
        return held, Lease.from_row(row) if row else None

    async def release_lease(self, holder: str) -> None:
        await self.store.release_lease(holder)

    async def renew_claims(self, holder: str, now: float, ttl: float, *, lease: bool) -> bool:
        """Keep a long run's claims (and with lease, the lease) alive. False if the lease was lost."""
        return await self.store.renew_claims(holder, now, ttl, lease=lease)

    async def claim_due_job(self, holder: str, now: float, ttl: float, renew_s: float,
                            stealable: Mapping[int, int] | None = None) -> tuple[Claim | None, dict[int, Beat]]:
        """The most overdue enabled job, claimed for `holder`, if `holder` holds the lease; and the due
        jobs whose claims look expired but may belong to a live runner ({job id: Beat}) to watch. A
        job in `stealable` ({job id: heartbeat counter seen standing still}) may be taken over."""
        from .job_records import Beat, Claim, Job

        claimed, suspects = await self.store.claim_due_job(holder, now, ttl, renew_s, stealable)
        watch = {job_id: Beat(counter, renew) for job_id, (counter, renew) in suspects.items()}
        return (Claim(Job.from_row(claimed[0]), claimed[1]) if claimed else None), watch

    async def expired_claims(self, now: float) -> dict[int, Beat]:
        """Due jobs whose claims look expired by this clock (their runners may be gone): {job id: Beat}."""
        from .job_records import Beat

        return {job_id: Beat(counter, renew) for job_id, (counter, renew) in
                (await self.store.expired_claims(now)).items()}

    async def claim_job(self, name: str, holder: str, now: float, ttl: float, renew_s: float,
                        trigger: str = "manual", steal_beat: int | None = None) -> Claim | Busy:
        """Claim one job whatever its schedule, or say who holds it (Busy). A MesoclawError if there is
        no such job."""
        from .job_records import Beat, Busy, Claim, Job

        claimed = await self.store.claim_job(name, holder, now, ttl, renew_s, trigger, steal_beat)
        if claimed is None:
            await self.require_job(name)  # names the jobs there are
            raise MesoclawError(f"no job named '{name}'")  # removed between the two reads
        if isinstance(claimed, dict):
            return Busy(Job.from_row(claimed), (claimed["claim_until"] or 0) < now,
                        Beat(claimed["claim_beat"], claimed["claim_renew_s"]))
        return Claim(Job.from_row(claimed[0]), claimed[1])

    async def finish_run(self, claim: Claim, holder: str, now: float, result: RunResult,
                         next_run_at: float | None) -> None:
        """Store a run's result and release the job's claim; next_run_at None keeps the job's next
        run as it is (a manual run, or an interrupted one that should run again)."""
        await self.store.finish_run(claim.run_id, claim.job.id, holder, now, result.columns(), next_run_at)
