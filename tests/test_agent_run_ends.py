"""Every way an agent run can end has its row in each face's table (as every FailureKind has in
theirs), and a version-4 database gains the agent's columns without losing anything."""

from __future__ import annotations

import sqlite3

from mesoclaw_tui.core.agent_run import Limit, RunEnd, RunLimits
from mesoclaw_tui.store import SCHEMA_VERSION, Store

from .old_databases import v4_script


def test_each_face_has_a_row_for_every_run_end() -> None:
    from mesoclaw_tui.agent.scheduled import AGENT_RUN_STATUS
    from mesoclaw_tui.cli.agent import EXIT_LIMIT, RUN_EXITS
    from mesoclaw_tui.tui.screens.agent_run import RUN_END_TEXT

    for table in (RUN_EXITS, AGENT_RUN_STATUS, RUN_END_TEXT):
        assert set(table) == set(RunEnd)
    assert EXIT_LIMIT == 6


def test_the_limits_say_which_one_stopped_the_run() -> None:
    limits = RunLimits(max_steps=3, max_cost=0.5, timeout=90)
    assert limits.after_reply(2, 0.1) is None
    assert limits.after_reply(3, 0.1) is Limit.STEPS
    assert limits.after_reply(1, 0.5) is Limit.COST
    assert [limits.describe(limit) for limit in Limit] == [
        "stopped at the step limit (3 steps)", "stopped at the cost limit ($0.5 for the run)",
        "stopped at the time limit (90 s)"]


async def test_a_version_4_database_gains_agent_steps_and_agent_jobs_without_loss(tmp_path) -> None:
    """Schema 5 adds messages.agent_step and messages.tool_calls (an agent run's steps) and jobs.agent
    (an agent job's settings), each by ALTER TABLE ADD COLUMN: every row of a v4 file stays."""
    path = tmp_path / "v4.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(v4_script("in-use"))
    store = await Store.open(path)
    try:
        messages = await store.messages(1)
        job = await store.job("standup")
        runs = await store.job_runs(1, limit=5)
        usage = await store.usage_rows()
    finally:
        await store.close()
    assert [(m["role"], m["content"], m["agent_step"], m["tool_calls"]) for m in messages] == [
        ("user", "why does test_x fail?", None, None), ("assistant", "Because of an off-by-one.", None, None)]
    assert (job["kind"], job["prompt"], job["agent"]) == ("prompt", "plan my day", None)
    assert [r["output"] for r in runs] == ["Standup at ten."] and usage[0]["cost_usd"] == 0.00064
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        assert conn.execute("SELECT active_profile FROM router_config").fetchone()[0] == "premium"


async def test_a_migrated_database_records_an_agent_step_and_an_agent_job(tmp_path) -> None:
    from mesoclaw_tui.service import AgentJobSettings, AgentStep, RouterService, StepToolCall, UsageRecord
    from mesoclaw_tui.service.conversation_records import ChatSettings

    path = tmp_path / "v4.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(v4_script("in-use"))
    async with await RouterService.open(str(path)) as service:
        call = StepToolCall("call_1", "read_file", '{"path": "a.py"}', "read_file")
        recorded = await service.record_reply(UsageRecord("agent", 1764547300.0, conversation_id=1),
                                              AgentStep(1, 1, "", tool_calls=(call,)))
        message_id = recorded.message_id
        await service.set_step_tool_calls(message_id, [StepToolCall("call_1", "read_file", '{"path": "a.py"}',
                                                                     "read_file", "ran", "1\tprint()")])
        job = await service.create_job(name="fix", kind="agent", prompt="fix it", task="auto", profile=None,
                                       schedule="every 1h", enabled=True, next_run_at=0, now=0,
                                       agent=AgentJobSettings("/tmp", ("write_file",), 5))
        stored = (await service.messages(1))[-1]
        # schema 5's conversation columns: what a conversation keeps survives a reopen
        await service.keep_settings(1, ChatSettings("be brief", "eco", None, 0.2, 300, "terse"))
    async with await RouterService.open(str(path)) as service:
        kept = (await service.conversation(1)).settings
    assert kept == ChatSettings("be brief", "eco", None, 0.2, 300, "terse")
    assert (stored.agent_step, [(c.status, c.result) for c in stored.tool_calls]) == (1, [("ran", "1\tprint()")])
    assert (job.kind, job.agent.allow, job.agent.max_steps) == ("agent", ("write_file",), 5)
