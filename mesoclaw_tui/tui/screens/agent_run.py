"""The chat's agent mode: per conversation, a message starts an agent run (agent/loop.py) instead of
one reply. Each step streams into its own reply, labelled with the step and the model that answered;
its tool calls appear under it as collapsible blocks; a call that needs approval opens the approval
dialog; esc stops the run after the tool that is running (or at once, while the model streams).

MCP servers start with the first run that needs tools and stop when the app exits.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...core.agent_run import RunEnd
from .. import format as fmt

if TYPE_CHECKING:
    from textual.app import App

    from ...agent.approval import ApprovalAnswer, ApprovalRequest
    from ...agent.loop import AgentLoop
    from ...agent.mcp_client import McpManager
    from ...agent.run_types import AgentRun
    from ...core.failures import FailureKind
    from ..widgets.messages import AssistantMessage
    from ..widgets.tool_blocks import ToolBlock

# How a run ended -> what the app says under its last step (a failed step says why itself).
RUN_END_TEXT: dict[RunEnd, Callable[[AgentRun], str | None]] = {
    RunEnd.ANSWERED: lambda run: None,
    RunEnd.LIMIT: lambda run: f"Stopped: {run.error}. The steps so far are kept.",
    RunEnd.FAILED: lambda run: None,
    RunEnd.CANCELLED: lambda run: "Stopped by you (esc). The steps so far are kept.",
}


class AppApprover:
    """Asks in the approval dialog; a dialog closed any other way is a denial."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app

    async def ask(self, request: ApprovalRequest) -> ApprovalAnswer:
        from ...agent.approval import ApprovalAnswer, Decision
        from .approval import ApprovalDialog

        answer = await self.app.push_screen_wait(ApprovalDialog(request))
        return answer if answer is not None else ApprovalAnswer(Decision.DENY)


class AgentRunner:
    """Agent mode of one chat screen: which conversations are in it, the run going on, the MCP servers.

    `screen` is the chat (ChatScreen): its service, transcript, conversation and labels. `failure_text`
    is its table of what to say under a failed reply (chat.FAILURE_TEXT)."""

    def __init__(self, screen: Any, failure_text: Mapping[FailureKind, Callable[[Any], str | None]]) -> None:
        self.screen = screen
        self.failure_text = failure_text
        self._on: set[int | None] = set()  # conversations in agent mode; None: the new chat
        self.loop: AgentLoop | None = None  # the run going on
        self.mcp: McpManager | None = None

    def is_on(self, conversation_id: int | None) -> bool:
        return conversation_id in self._on

    def toggle(self, conversation_id: int | None) -> bool:
        """Agent mode on or off for this conversation (said in a toast); whether it is now on."""
        on = conversation_id not in self._on
        if on:
            self._on.add(conversation_id)
        else:
            self._on.discard(conversation_id)
        from ..keys import key_of

        self.screen.notify(f"Agent mode on: the model can read, search, change files and run commands in "
                           f"{os.getcwd()} (changes and commands ask you first). "
                           f"{key_of(self.screen.app, 'toggle_agent')} turns it off." if on
                           else "Agent mode off.", timeout=4)
        return on

    def stop(self) -> bool:
        """esc: stop the run going on (False when there is none)."""
        if self.loop is None:
            return False
        self.loop.stop()
        return True

    async def aclose(self) -> None:
        if self.mcp is not None:
            await self.mcp.aclose()
            self.mcp = None

    async def send(self, text: str) -> None:
        """The chat's reply worker for a message in agent mode (so quitting settles it like a reply)."""
        from ...core.types import MesoclawError, MesoclawFailure
        from ..widgets.messages import Notice

        try:
            await self.run(text)
        except (MesoclawError, MesoclawFailure) as exc:  # a config mistake, an unusable directory
            await self.screen.transcript.append(Notice(f"The agent cannot start: {exc}"))
        except Exception as exc:  # a bug: said, and the app goes on
            self.screen.app.report(exc)
        finally:
            self.screen.call_later(self.screen.refresh_bindings)

    async def run(self, text: str) -> None:
        """One goal."""
        from ...agent.config import load_agent_settings
        from ...agent.run_types import AgentGoal
        from ...agent.session import open_session
        from ..widgets.messages import UserMessage

        screen, app = self.screen, self.screen.app
        service = screen.service
        settings = load_agent_settings(service.settings.paths)
        if self.mcp is None and settings.servers:
            from ...agent.mcp_client import McpManager

            self.mcp = McpManager(settings.servers, on_event=lambda e: app.notify(
                f"MCP server {e.server} {e.state}: {e.message}", severity="warning", timeout=8))
        user = UserMessage(text)
        await screen.transcript.append(user)
        screen.transcript.anchor()
        session = await open_session(service, app.engine, os.getcwd(), approver=AppApprover(app),
                                     settings=settings, mcp=self.mcp)
        model, screen.next_model = screen.next_model, None
        started_in = screen.conversation_id
        view = _RunView(self, screen)
        self.loop = session.loop
        try:
            run = await session.loop.run(AgentGoal(text, conversation_id=started_in, source="chat", model=model,
                                                   limits=session.limits()), view.on_event)
        except asyncio.CancelledError:  # the app is closing: the loop has saved the steps so far
            await view.cancelled()
            raise
        finally:
            self.loop = None
            await session.aclose()
        if started_in is None and run.conversation_id is not None and None in self._on:
            self._on.discard(None)  # the new chat has become this conversation: it keeps agent mode
            self._on.add(run.conversation_id)
        await view.ended(run)
        if run.steps and run.steps[0].message_id is not None:
            await screen._note_user_message_id(user, run.steps[0].message_id)


class _RunView:
    """A run on the screen: a reply per step, a block per call."""

    def __init__(self, runner: AgentRunner, screen: Any) -> None:
        self.runner = runner
        self.screen = screen
        self.step = 0
        self.task = ""
        self.view: AssistantMessage | None = None
        self.label = ""
        self.blocks: dict[int, ToolBlock] = {}
        self.calls: dict[int, Any] = {}

    async def on_event(self, event: Any) -> None:
        kind = type(event).__name__
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            await handler(event)

    async def _on_StepStarted(self, event: Any) -> None:  # noqa: N802  (named after the event)
        from ..widgets.messages import AssistantMessage

        self.step, self.blocks, self.calls = event.number, {}, {}
        self.view = AssistantMessage(label=self._label("routing…"))
        await self.screen.transcript.append(self.view)
        self.screen.transcript.anchor()

    async def _on_Routed(self, event: Any) -> None:  # noqa: N802
        self.task = event.task.value
        await self.screen._routed(event)

    async def _on_Trying(self, event: Any) -> None:  # noqa: N802
        self._set(f"{self.task} · trying {event.target.label}…")

    async def _on_FellBack(self, event: Any) -> None:  # noqa: N802
        self._set(f"{self.task} · {fmt.attempt_line(event.attempt)}; trying the next model…")

    async def _on_Delta(self, event: Any) -> None:  # noqa: N802
        assert self.view is not None
        if not self.view.streaming:
            self._set(f"{self.task} · streaming…  esc stops the run")
        await self.view.write(event.text)

    async def _on_Finished(self, event: Any) -> None:  # noqa: N802
        assert self.view is not None
        reply = event.reply
        await self.view.end_stream()
        task = reply.task.value if reply.task else None
        label = fmt.reply_label(provider=reply.provider, model=reply.model, task=task, status=reply.status,
                                attempts=reply.attempts, input_tokens=reply.input_tokens,
                                output_tokens=reply.output_tokens, cost_usd=reply.cost_usd,
                                estimated=reply.estimated, finish_reason=reply.finish_reason)
        if reply.status == "failed":
            label = fmt.reply_label(provider=None, model=None, task=task, status="failed")
        error = self.runner.failure_text[reply.failure](reply) if reply.failure is not None else None
        self.label = self._label(label)
        self.view.finish(status=reply.status, label=self.label, error=error)

    async def _on_CallStarted(self, event: Any) -> None:  # noqa: N802
        from ..widgets.tool_blocks import ToolBlock, add_block, running_view

        assert self.view is not None
        name = event.spec.display_name if event.spec is not None else event.call.name
        self.calls[event.index] = event.call
        block = self.blocks[event.index] = ToolBlock(running_view(event.call, name))
        await add_block(self.view, block)
        self.screen.transcript.anchor()

    async def _on_CallFinished(self, event: Any) -> None:  # noqa: N802
        from ..widgets.tool_blocks import live_view

        block, call = self.blocks.get(event.index), self.calls.get(event.index)
        if block is not None and call is not None:
            block.show(live_view(call, event.outcome))

    async def _on_StepFinished(self, event: Any) -> None:  # noqa: N802
        from ..widgets.tool_blocks import ToolBlock, add_block, live_view

        step = event.step
        if self.view is None or not step.skipped:
            return
        for index, call in enumerate(step.calls):
            view = live_view(call, step.outcomes[index], step.skipped)
            if index in self.blocks:
                self.blocks[index].show(view)
            else:
                await add_block(self.view, ToolBlock(view))

    async def cancelled(self) -> None:
        if self.view is not None:
            await self.view.end_stream()
            self.view.finish(status="cancelled", label=self._label("CANCELLED"), error=None)

    async def ended(self, run: AgentRun) -> None:
        """How the run ended, under its last step."""
        said = RUN_END_TEXT[run.end](run) if run.end is not None else None
        if said and self.view is not None:
            status = "cancelled" if run.end is RunEnd.CANCELLED else "incomplete"
            self.view.finish(status=status, label=self.label or self._label(""), error=said)

    def _label(self, text: str) -> str:
        from ..widgets.tool_blocks import step_label

        return step_label(self.step, text)

    def _set(self, text: str) -> None:
        if self.view is not None:
            self.view.set_label(self._label(text))
