"""The agent loop against the fake provider server speaking OpenAI's and Anthropic's wire formats:
scripted multi-step runs, parallel calls, a tool error, a denied command, the step, cost and time
limits, a provider failing at step 3 with the run finishing on the fallback, and every step recorded
in the conversation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mesoclaw_tui.agent.approval import ApprovalRules
from mesoclaw_tui.agent.config import AgentConfig
from mesoclaw_tui.agent.executor import CallStatus
from mesoclaw_tui.agent.loop import AgentLoop
from mesoclaw_tui.agent.run_types import AgentGoal, CallFinished, StepStarted
from mesoclaw_tui.agent.toolbox import prepare_tools
from mesoclaw_tui.agent.workspace import Workspace
from mesoclaw_tui.core.agent_run import Limit, RunEnd, RunLimits
from mesoclaw_tui.core.failures import FailureKind
from mesoclaw_tui.engine import Delta

from .agent_helpers import executor as make_executor
from .fakes.provider_server import Delay, Respond
from .fakes.tool_streams import Call, ToolCallReply

GOAL = "fix the failing python test in this project"
MODELS = {"openai": "gpt-6-luna", "anthropic": "claude-haiku-5.5"}


@pytest.fixture
def service_providers() -> tuple[str, ...]:
    return ("openai", "anthropic", "ollama")


@pytest.fixture
def engine_read_timeout() -> float:
    return 5.0


@pytest.fixture
def work(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    (root / "README.md").write_text("# demo\nRun the tests with pytest.\n")
    (root / "src").mkdir()
    (root / "src" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return root


def script(server, protocol: str, *replies: ToolCallReply) -> None:
    server.script(server.chat_path(protocol), *replies)


def chat_requests(server, protocol: str) -> list[dict]:
    return [r.json for r in server.requests_to(server.chat_path(protocol))]


async def loop_for(engine, work: Path, **rules: object) -> AgentLoop:
    executor = make_executor(Workspace.create(work), rules=ApprovalRules.build(**rules))  # type: ignore[arg-type]
    return AgentLoop(engine, executor, workdir=str(work))


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
async def test_a_multi_step_run_reads_searches_and_answers(engine, service, provider_server, work, protocol):
    script(provider_server, protocol,
           ToolCallReply(protocol, [Call("read_file", {"path": "src/calc.py"})], text="Let me look."),
           ToolCallReply(protocol, [Call("search", {"pattern": "def add"}), Call("list_dir", {"path": "."})]),
           ToolCallReply(protocol, text="add() subtracts: it should return a + b."))
    loop = await loop_for(engine, work)
    events = []
    run = await loop.run(AgentGoal(GOAL, model=MODELS[protocol]), events.append)

    assert (run.end, run.limit, run.failure) == (RunEnd.ANSWERED, None, None)
    assert run.text == "add() subtracts: it should return a + b."
    assert [len(s.calls) for s in run.steps] == [1, 2, 0]
    assert [o.status for s in run.steps for o in s.outcomes] == [CallStatus.RAN] * 3
    assert "return a - b" in run.steps[0].outcomes[0].result.text
    assert [e.number for e in events if type(e) is StepStarted] == [1, 2, 3]
    assert "".join(e.text for e in events if type(e) is Delta) == "Let me look." + run.text
    # every result went back to the model, after the call that asked for it, by its id
    sent = chat_requests(provider_server, protocol)
    assert len(sent) == 3
    last = json.dumps(sent[2])
    assert "return a - b" in last and "src/calc.py" in last
    ids = [c.id for s in run.steps for c in s.calls]
    assert len(set(ids)) == 3  # the fake numbers calls per reply: the loop keeps them apart
    if protocol == "openai":
        tool_messages = [m for m in sent[2]["messages"] if m["role"] == "tool"]
        assert [m["tool_call_id"] for m in tool_messages] == ids
    else:
        results = [b for m in sent[2]["messages"] if m["role"] == "user" and isinstance(m["content"], list)
                   for b in m["content"] if b.get("type") == "tool_result"]
        assert [b["tool_use_id"] for b in results] == ids
    assert all(r["tools"] for r in sent)  # every step offers the tools

    # recorded in the conversation: the goal, then each step with its model, usage and calls
    messages = await service.messages(run.conversation_id)
    assert [(m.role, m.agent_step) for m in messages] == [("user", None), ("assistant", 1), ("assistant", 2),
                                                          ("assistant", 3)]
    assert messages[0].content == GOAL and messages[-1].content == run.text
    assert {m.model for m in messages[1:]} == {run.steps[0].reply.model}
    stored = messages[2].tool_calls
    assert [(c.tool, c.status) for c in stored] == [("search", "ran"), ("list_dir", "ran")]
    assert "src/calc.py" in stored[0].result
    usage = await service.usage_records()
    assert [u.source for u in usage] == ["agent"] * 3 and all(u.conversation_id == run.conversation_id
                                                              for u in usage)
    # a later plain question gets the goal and the answer as context, not the steps
    history = await service.answered_history(run.conversation_id)
    assert [(m.role, m.content) for m in history] == [("user", GOAL), ("assistant", run.text)]


async def test_the_task_comes_from_the_goal_not_from_tool_output(engine, provider_server, work):
    (work / "poem.txt").write_text("Write a short poem about the sea, with rhymes, for a birthday card.\n" * 5)
    script(provider_server, "openai",
           ToolCallReply("openai", [Call("read_file", {"path": "poem.txt"})]),
           ToolCallReply("openai", text="done"))
    run = await (await loop_for(engine, work)).run(AgentGoal(GOAL, model="gpt-6-luna"))
    assert run.task == "code" and [s.reply.task.value for s in run.steps] == ["code", "code"]


async def test_a_tool_error_goes_back_to_the_model_and_the_run_goes_on(engine, provider_server, work):
    script(provider_server, "openai",
           ToolCallReply("openai", [Call("read_file", {"path": "missing.py"}), Call("nosuch_tool", {})]),
           ToolCallReply("openai", text="There is no missing.py."))
    run = await (await loop_for(engine, work)).run(AgentGoal(GOAL, model="gpt-6-luna"))
    outcomes = run.steps[0].outcomes
    assert run.end is RunEnd.ANSWERED and [o.status for o in outcomes] == [CallStatus.RAN, CallStatus.INVALID]
    assert outcomes[0].result.is_error and "does not exist" in outcomes[0].result.text
    assert "unknown tool 'nosuch_tool'" in outcomes[1].result.text
    tool_messages = [m for m in chat_requests(provider_server, "openai")[1]["messages"] if m["role"] == "tool"]
    assert "does not exist" in tool_messages[0]["content"] and "unknown tool" in tool_messages[1]["content"]


async def test_a_command_nobody_can_approve_is_denied_and_never_runs(engine, service, provider_server, work):
    marker = work / "ran.txt"
    script(provider_server, "anthropic",
           ToolCallReply("anthropic", [Call("run_command", {"command": f"touch {marker}"}),
                                       Call("write_file", {"path": "new.txt", "content": "x"})]),
           ToolCallReply("anthropic", text="I could not run it."))
    run = await (await loop_for(engine, work)).run(AgentGoal(GOAL, model="claude-haiku-5.5"))
    assert [o.status for o in run.steps[0].outcomes] == [CallStatus.DENIED, CallStatus.DENIED]
    assert not marker.exists() and not (work / "new.txt").exists()
    told = json.dumps(chat_requests(provider_server, "anthropic")[1])
    assert "nobody can approve it" in told and "--allow run_command" in told
    stored = (await service.messages(run.conversation_id))[1].tool_calls
    assert [c.status for c in stored] == ["denied", "denied"]


async def test_the_step_limit_stops_the_run_and_leaves_the_last_calls_unrun(engine, service, provider_server, work):
    marker = work / "third.txt"
    script(provider_server, "openai",
           ToolCallReply("openai", [Call("list_dir", {"path": "."})]),
           ToolCallReply("openai", [Call("run_command", {"argv": ["touch", str(marker)]})]))
    run = await (await loop_for(engine, work, approve_all=True)).run(
        AgentGoal(GOAL, model="gpt-6-luna", limits=RunLimits(max_steps=2)))
    assert (run.end, run.limit) == (RunEnd.LIMIT, Limit.STEPS) and len(run.steps) == 2
    assert run.error == "stopped at the step limit (2 steps)"
    assert run.steps[1].outcomes == [None] and not marker.exists()
    assert len(chat_requests(provider_server, "openai")) == 2
    last = (await service.messages(run.conversation_id))[-1]
    assert (last.status, last.error) == ("incomplete", run.error)
    assert [(c.status, c.result) for c in last.tool_calls] == [
        ("skipped", "Not run: the run stopped at the step limit (2 steps).")]


async def test_the_cost_limit_stops_the_run_after_the_step_that_reached_it(engine, provider_server, work):
    expensive = (200_000, 50_000)  # gpt-6-luna at $0.10 / $0.50 per 1M: $0.045 a step
    script(provider_server, "openai",
           ToolCallReply("openai", [Call("list_dir", {"path": "."})], usage=expensive),
           ToolCallReply("openai", [Call("list_dir", {"path": "src"})], usage=expensive),
           ToolCallReply("openai", text="never asked"))
    run = await (await loop_for(engine, work)).run(
        AgentGoal(GOAL, model="gpt-6-luna", limits=RunLimits(max_cost=0.08)))
    assert (run.end, run.limit) == (RunEnd.LIMIT, Limit.COST) and len(run.steps) == 2
    assert run.cost_usd == pytest.approx(0.09) and run.steps[0].outcomes[0] is not None
    assert run.steps[1].outcomes == [None] and len(chat_requests(provider_server, "openai")) == 2


async def test_the_time_limit_ends_a_command_that_runs_too_long(engine, provider_server, work):
    script(provider_server, "openai",
           ToolCallReply("openai", [Call("run_command", {"argv": ["sleep", "30"]})]))
    loop = await loop_for(engine, work, approve_all=True)
    run = await loop.run(AgentGoal(GOAL, model="gpt-6-luna", limits=RunLimits(timeout=1.0)))
    assert (run.end, run.limit) == (RunEnd.LIMIT, Limit.TIME) and run.seconds < 10
    assert run.steps[0].outcomes == [None] and run.error == "stopped at the time limit (1 s)"


async def test_the_time_limit_ends_a_reply_that_streams_too_long(engine, service, provider_server, work):
    script(provider_server, "openai", Delay(30, ToolCallReply("openai", text="too late")))
    run = await (await loop_for(engine, work)).run(
        AgentGoal(GOAL, model="gpt-6-luna", limits=RunLimits(timeout=0.5)))
    assert (run.end, run.limit) == (RunEnd.LIMIT, Limit.TIME)
    assert run.steps and run.steps[0].reply.status == "cancelled"


async def test_a_provider_failing_at_step_3_falls_back_and_the_run_finishes(engine, service, provider_server, work):
    await service.set_custom_route("code", ["gpt-6-luna", "claude-haiku-5.5"])
    script(provider_server, "openai",
           ToolCallReply("openai", [Call("read_file", {"path": "README.md"})]),
           ToolCallReply("openai", [Call("read_file", {"path": "src/calc.py"})]),
           Respond(500, {"error": {"message": "upstream exploded"}}))
    script(provider_server, "anthropic",
           ToolCallReply("anthropic", [Call("search", {"pattern": "return"})]),
           ToolCallReply("anthropic", text="Fixed plan: return a + b."))
    events = []
    run = await (await loop_for(engine, work)).run(AgentGoal(GOAL, task="code"), events.append)
    assert run.end is RunEnd.ANSWERED and run.text == "Fixed plan: return a + b."
    assert [s.reply.provider for s in run.steps] == ["openai", "openai", "anthropic", "anthropic"]
    assert [a.outcome for a in run.steps[2].reply.attempts] == ["server", "ok"]
    assert [a.provider for a in run.steps[3].reply.attempts] == ["anthropic"]  # openai cools down
    # the fallback got the whole run so far: both earlier calls and their results
    third = json.dumps(chat_requests(provider_server, "anthropic")[0])
    assert "Run the tests with pytest" in third and "return a - b" in third
    assert [type(e).__name__ for e in events].count("FellBack") == 1
    assert all(isinstance(e, CallFinished) for e in events if type(e).__name__ == "CallFinished")


async def test_a_step_that_fails_ends_the_run_and_keeps_the_steps_before(engine, service, provider_server, work):
    script(provider_server, "openai", ToolCallReply("openai", [Call("list_dir", {"path": "."})]),
           Respond(400, {"error": {"message": "bad request"}}))
    run = await (await loop_for(engine, work)).run(AgentGoal(GOAL, model="gpt-6-luna"))
    assert (run.end, run.failure) == (RunEnd.FAILED, FailureKind.BAD_REQUEST) and len(run.steps) == 2
    stored = await service.messages(run.conversation_id)
    assert [m.status for m in stored[1:]] == ["complete", "failed"] and stored[1].tool_calls[0].status == "ran"


async def test_stop_while_a_tool_runs_ends_the_run_after_it(engine, service, provider_server, work):
    script(provider_server, "openai",
           ToolCallReply("openai", [Call("run_command", {"argv": ["sleep", "0.3"]}),
                                    Call("run_command", {"argv": ["touch", "second"]})]))
    loop = await loop_for(engine, work, approve_all=True)

    def on_event(event):
        if type(event).__name__ == "CallStarted" and event.index == 0:
            loop.stop()

    run = await loop.run(AgentGoal(GOAL, model="gpt-6-luna"), on_event)
    assert run.end is RunEnd.CANCELLED and run.steps[0].outcomes[0].status is CallStatus.RAN
    assert run.steps[0].outcomes[1] is None and not (work / "second").exists()
    last = (await service.messages(run.conversation_id))[-1]
    assert last.status == "cancelled" and [c.status for c in last.tool_calls] == ["ran", "skipped"]


async def test_prepare_tools_with_config_allows_listed_commands_only(engine, provider_server, work):
    script(provider_server, "openai",
           ToolCallReply("openai", [Call("run_command", {"argv": ["touch", "allowed"]}),
                                    Call("run_command", {"command": "touch allowed; touch sneaky"})]),
           ToolCallReply("openai", text="ok"))
    executor = await prepare_tools(work, AgentConfig(allow_commands=("touch allowed",)))
    run = await AgentLoop(engine, executor, workdir=str(work)).run(AgentGoal(GOAL, model="gpt-6-luna"))
    assert [o.status for o in run.steps[0].outcomes] == [CallStatus.RAN, CallStatus.DENIED]
    assert (work / "allowed").exists() and not (work / "sneaky").exists()


async def test_stop_while_the_model_streams_keeps_the_partial_reply(engine, service, provider_server, work):
    from .fakes.provider_server import Stream

    script(provider_server, "openai", Stream("openai", n=400, piece="word ", rate=100))
    loop = await loop_for(engine, work)

    def on_event(event):
        if type(event) is Delta:
            loop.stop()

    run = await loop.run(AgentGoal(GOAL, model="gpt-6-luna"), on_event)
    assert (run.end, run.failure) == (RunEnd.CANCELLED, FailureKind.CANCELLED) and run.seconds < 3
    assert run.text.startswith("word") and run.steps[0].reply.status == "cancelled"
    last = (await service.messages(run.conversation_id))[-1]
    assert (last.status, last.agent_step) == ("cancelled", 1) and last.content.startswith("word")


async def test_a_goal_no_model_can_take_stores_nothing(engine, service, provider_server, work):
    run = await (await loop_for(engine, work)).run(AgentGoal(GOAL, model="codellama-34b"))  # no tool support
    assert (run.end, run.failure) == (RunEnd.FAILED, FailureKind.MISSING_CAPABILITY)
    assert run.conversation_id is None and await service.list_conversations() == []
    assert not chat_requests(provider_server, "openai")
