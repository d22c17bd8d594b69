"""Scheduled jobs, their runs, and the scheduler lease.

Times are unix seconds passed in by the caller (the scheduler's injectable clock), never read here,
so the "is it due / has the lease expired" decisions follow the same clock as the rest of a run.
Every decision that must not race (take the lease, find a due job and claim it) happens inside one
BEGIN IMMEDIATE transaction, which SQLite serialises across processes. The lease and each claim
carry a heartbeat counter (+1 at every renewal): another holder's expired lease or claim is taken
only with the counter the caller watched stand still, so a caller whose clock jumped cannot take
what a live holder keeps renewing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

import aiosqlite

from ..core.types import MesoclawError
from .values import storable_row

JOB_FIELDS = ("kind", "prompt", "task", "profile", "schedule", "enabled", "next_run_at")
RUN_RESULT_FIELDS = ("status", "output", "error", "task", "profile", "provider", "model", "attempts",
                     "input_tokens", "output_tokens", "estimated", "cost_usd", "usage_id")


class JobsMixin:
    conn: aiosqlite.Connection
    write: Callable[..., Any]
    rows: Callable[..., Any]
    row: Callable[..., Any]

    # jobs ------------------------------------------------------------------------------------------

    async def create_job(self, job: dict[str, Any], now: float) -> int:
        async with self.write() as db:
            try:
                cursor = await db.execute(
                    "INSERT INTO jobs (name, kind, prompt, task, profile, schedule, enabled, next_run_at, "
                    "created_at, updated_at, agent) VALUES (:name, :kind, :prompt, :task, :profile, :schedule, "
                    ":enabled, :next_run_at, :now, :now, :agent)", {"agent": None, **storable_row(job), "now": now})
            except sqlite3.IntegrityError:
                raise MesoclawError(f"a job named '{job['name']}' already exists (remove it first with "
                                    f"`mesoclaw schedule rm {job['name']}`)") from None
            return int(cursor.lastrowid)

    async def job(self, name: str) -> dict[str, Any] | None:
        found = await self.row("SELECT * FROM jobs WHERE name = ?", (name,))
        return dict(found) if found else None

    async def jobs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.rows("SELECT * FROM jobs ORDER BY name")]

    async def job_names(self) -> list[str]:
        return [r[0] for r in await self.rows("SELECT name FROM jobs ORDER BY name")]

    async def update_job(self, name: str, now: float, **fields: Any) -> bool:
        if not fields or set(fields) - set(JOB_FIELDS):
            raise ValueError(f"job fields are {JOB_FIELDS}")
        assignments = ", ".join(f"{k} = :{k}" for k in fields)
        async with self.write() as db:
            cursor = await db.execute(f"UPDATE jobs SET {assignments}, updated_at = :now WHERE name = :name",
                                      {**fields, "now": now, "name": name})
            return cursor.rowcount > 0

    async def delete_job(self, name: str) -> bool:
        async with self.write() as db:
            cursor = await db.execute("DELETE FROM jobs WHERE name = ?", (name,))
            return cursor.rowcount > 0

    async def next_due_at(self, now: float) -> float | None:
        """When the next enabled job is due; a job another runner is running does not count (waking up
        for it would only find it claimed)."""
        found = await self.row(
            "SELECT MIN(next_run_at) FROM jobs WHERE enabled = 1 AND next_run_at IS NOT NULL "
            "AND (running_since IS NULL OR claim_until < ?)", (now,))
        return found[0] if found else None

    # the lease -------------------------------------------------------------------------------------

    async def lease(self) -> dict[str, Any] | None:
        found = await self.row("SELECT * FROM scheduler_lease WHERE id = 1")
        return dict(found) if found else None

    async def take_lease(self, holder: str, now: float, ttl: float, renew_s: float,
                         steal: tuple[str, int] | None = None) -> tuple[bool, dict[str, Any] | None]:
        """Take or renew the lease: free, or already ours, or another holder's that has expired by the
        caller's clock AND is still `steal` (that holder with that heartbeat counter, which the caller
        watched stand still for long enough: a clock jump alone cannot take a lease). Returns (held,
        the row as it now is)."""
        async with self.write() as db:
            row = await (await db.execute("SELECT * FROM scheduler_lease WHERE id = 1")).fetchone()
            current = dict(row) if row else None
            if current and current["holder"] != holder and (
                    current["expires_at"] > now or steal != (current["holder"], current["beat"])):
                return False, current
            ours = current is not None and current["holder"] == holder
            acquired = current["acquired_at"] if ours and current else now
            beat = (current["beat"] if current else 0) + 1
            await db.execute(
                "INSERT INTO scheduler_lease (id, holder, acquired_at, expires_at, beat, renew_s) "
                "VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, "
                "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at, beat = excluded.beat, "
                "renew_s = excluded.renew_s", (holder, acquired, now + ttl, beat, renew_s))
            return True, {"id": 1, "holder": holder, "acquired_at": acquired, "expires_at": now + ttl,
                          "beat": beat, "renew_s": renew_s}

    async def release_lease(self, holder: str) -> None:
        async with self.write() as db:
            await db.execute("DELETE FROM scheduler_lease WHERE id = 1 AND holder = ?", (holder,))

    async def renew_claims(self, holder: str, now: float, ttl: float, *, lease: bool) -> bool:
        """Keep a long run's claims (and, for a scheduler, the lease) alive, each renewal counted in its
        heartbeat counter. False if the lease was lost."""
        async with self.write() as db:
            await db.execute("UPDATE jobs SET claim_until = ?, claim_beat = claim_beat + 1 "
                             "WHERE claimed_by = ? AND running_since IS NOT NULL", (now + ttl, holder))
            if not lease:
                return True
            cursor = await db.execute(
                "UPDATE scheduler_lease SET expires_at = ?, beat = beat + 1 WHERE id = 1 AND holder = ?",
                (now + ttl, holder))
            return cursor.rowcount > 0

    # claims and runs -------------------------------------------------------------------------------

    async def claim_due_job(self, holder: str, now: float, ttl: float, renew_s: float,
                            stealable: Mapping[int, int] | None = None
                            ) -> tuple[tuple[dict[str, Any], int] | None, dict[int, tuple[int, float | None]]]:
        """The most overdue enabled job, claimed for `holder` with its run row, if `holder` holds the lease;
        and the due jobs whose claims look expired by the caller's clock but may still be alive
        ({job id: (heartbeat counter, the owner's renew interval)}), for the caller to watch.

        A job another runner claimed is taken over only when its claim has expired by the caller's
        clock AND its heartbeat counter is still the one in `stealable` (the caller saw it stand still
        for several of the owner's renew intervals). The lease check, the "is it due" read and the
        claim are one transaction: two schedulers that both believe they hold the lease still cannot
        both claim a job.
        """
        suspects: dict[int, tuple[int, float | None]] = {}
        async with self.write() as db:
            lease = await (await db.execute(
                "SELECT holder FROM scheduler_lease WHERE id = 1 AND expires_at > ?", (now,))).fetchone()
            if lease is None or lease["holder"] != holder:
                return None, suspects
            due = await (await db.execute(
                "SELECT * FROM jobs WHERE enabled = 1 AND next_run_at <= ? "
                "AND (running_since IS NULL OR claim_until < ?) ORDER BY next_run_at, id", (now, now))).fetchall()
            for row in due:
                job = dict(row)
                if job["running_since"] is None or (stealable or {}).get(job["id"]) == job["claim_beat"]:
                    return await self._claim(db, job, holder, now, ttl, renew_s, "schedule"), suspects
                suspects[job["id"]] = (job["claim_beat"], job["claim_renew_s"])
        return None, suspects

    async def expired_claims(self, now: float) -> dict[int, tuple[int, float | None]]:
        """Due jobs whose claims have expired by the caller's clock: {job id: (heartbeat, renew interval)}."""
        found = await self.rows(
            "SELECT id, claim_beat, claim_renew_s FROM jobs WHERE enabled = 1 AND next_run_at <= ? "
            "AND running_since IS NOT NULL AND claim_until < ?", (now, now))
        return {r[0]: (r[1], r[2]) for r in found}

    async def claim_job(self, name: str, holder: str, now: float, ttl: float, renew_s: float,
                        trigger: str = "manual", steal_beat: int | None = None
                        ) -> tuple[dict[str, Any], int] | dict[str, Any] | None:
        """Claim one job by name whatever its schedule. Returns (job, run id); the job row alone when
        another runner holds a claim on it that is live (by the clock, or because its heartbeat counter
        is not `steal_beat`); None when there is no such job."""
        async with self.write() as db:
            row = await (await db.execute("SELECT * FROM jobs WHERE name = ?", (name,))).fetchone()
            if row is None:
                return None
            job = dict(row)
            if job["running_since"] is not None and (
                    (job["claim_until"] or 0) >= now or steal_beat is None or job["claim_beat"] != steal_beat):
                return job
            return await self._claim(db, job, holder, now, ttl, renew_s, trigger)

    @staticmethod
    async def _claim(db: aiosqlite.Connection, job: dict[str, Any], holder: str, now: float, ttl: float,
                     renew_s: float, trigger: str) -> tuple[dict[str, Any], int]:
        if job["running_since"] is not None:
            # The previous runner died without finishing (its claim went stale): say so in its run row.
            await db.execute(
                "UPDATE job_runs SET status = 'interrupted', finished_at = ?, "
                "error = COALESCE(error, 'the runner stopped before the run finished') "
                "WHERE job_id = ? AND status = 'running'", (now, job["id"]))
            await db.execute("UPDATE jobs SET last_status = 'interrupted' WHERE id = ?", (job["id"],))
        await db.execute(
            "UPDATE jobs SET running_since = ?, claimed_by = ?, claim_until = ?, claim_beat = claim_beat + 1, "
            "claim_renew_s = ? WHERE id = ?", (now, holder, now + ttl, renew_s, job["id"]))
        cursor = await db.execute(
            "INSERT INTO job_runs (job_id, trigger, runner, started_at, status, task, profile) "
            "VALUES (?, ?, ?, ?, 'running', ?, ?)", (job["id"], trigger, holder, now, job["task"], job["profile"]))
        job.update(running_since=now, claimed_by=holder, claim_until=now + ttl, claim_beat=job["claim_beat"] + 1,
                   claim_renew_s=renew_s)
        return job, int(cursor.lastrowid)

    async def finish_run(self, run_id: int, job_id: int, holder: str, now: float, result: dict[str, Any],
                         next_run_at: float | None) -> None:
        """Store a run's result and release the job's claim in one transaction; next_run_at None keeps
        the job's next run as it is (a manual run, or an interrupted one that should run again)."""
        if set(result) - set(RUN_RESULT_FIELDS):
            raise ValueError(f"run result fields are {RUN_RESULT_FIELDS}")
        assignments = ", ".join(f"{k} = :{k}" for k in result)
        async with self.write() as db:
            await db.execute(f"UPDATE job_runs SET {assignments}, finished_at = :now WHERE id = :run_id",
                             {**storable_row(result), "now": now, "run_id": run_id})
            await db.execute(
                "UPDATE jobs SET running_since = NULL, claimed_by = NULL, claim_until = NULL, last_run_at = ?, "
                "last_status = ?, next_run_at = COALESCE(?, next_run_at) WHERE id = ? AND claimed_by = ?",
                (now, result.get("status"), next_run_at, job_id, holder))

    async def job_runs(self, job_id: int, limit: int = 10) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.rows("SELECT * FROM job_runs WHERE job_id = ? ORDER BY id DESC LIMIT ?",
                                                 (job_id, limit))]

    async def job_run(self, run_id: int) -> dict[str, Any] | None:
        found = await self.row("SELECT * FROM job_runs WHERE id = ?", (run_id,))
        return dict(found) if found else None

    async def latest_runs(self) -> dict[int, dict[str, Any]]:
        """The latest run of every job, for a list view."""
        found = await self.rows(
            "SELECT r.* FROM job_runs r JOIN (SELECT job_id, MAX(id) AS id FROM job_runs GROUP BY job_id) m "
            "ON r.id = m.id")
        return {r["job_id"]: dict(r) for r in found}
