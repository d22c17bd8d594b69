"""The chat: a lazily mounted transcript, a live routing preview, and the prompt.

A reply streams in a worker; esc cancels the worker, and the engine saves the partial text as
"cancelled". The next-message model and the conversation's pinned model both bypass the router.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from ...core.failures import FailureKind
from .. import format as fmt
from ..errors import guarded
from ..safe import safe_text
from ..widgets.bars import AppBar, KeyBar
from ..widgets.messages import AssistantMessage, Notice, StoredReply, UserMessage
from ..widgets.queued import SendQueue
from ..widgets.transcript import PAGE, Loader, Transcript
from . import chat_extras as extras
from .chat_daily import ChatDailyTools

if TYPE_CHECKING:
    from textual.widgets import TextArea

    from ...service import Conversation, RouterService, TranscriptPage
    from ..alternatives import Redo
    from ..widgets.prompt import PromptInput
    from .agent_run import AgentRunner

PREVIEW_DEBOUNCE_S = 0.15
# Textual (checked on 8.2.8) runs the call_after_refresh callbacks queued while the app starts before
# it writes the first frame, so mounting the TextArea there put its ~20 ms in front of the first paint.
# It waits this long instead; keys typed meanwhile are kept for it (ChatScreen.on_key).
PROMPT_AFTER_FIRST_FRAME_S = 0.05
PROMPT_PLACEHOLDER = "Message · enter send · ctrl+j newline · ctrl+k model"


def _no_reply(reply: Any) -> str:
    return f"No reply: {reply.error}"


# A failed reply -> the text under it.
FAILURE_TEXT: dict[FailureKind, Callable[[Any], str | None]] = {
    FailureKind.NO_PROVIDER: _no_reply,
    FailureKind.NO_AVAILABLE_MODEL: _no_reply,
    FailureKind.CONTEXT_TOO_LARGE: lambda reply: f"No reply: {reply.error}. Start a new chat (ctrl+n) or shorten "
                                                 "the message.",
    FailureKind.BAD_REQUEST: lambda reply: f"No reply: the provider refused the request: {reply.error}",
    FailureKind.ALL_FAILED: lambda reply: fmt.failure_text(reply.error, reply.attempts),
    FailureKind.INCOMPLETE: lambda reply: reply.error,
    FailureKind.CANCELLED: lambda reply: None,  # the label says CANCELLED
    FailureKind.MISSING_CAPABILITY: _no_reply,
    FailureKind.REPLY_TOO_LARGE: lambda reply: f"Cut off: {reply.error}; the text up to the cap is kept.",
    FailureKind.BUDGET_EXCEEDED: _no_reply,
}


class ChatScreen(ChatDailyTools):  # screens/chat_daily.py: system prompt, presets, regenerate, escalate, alternatives
    AUTO_FOCUS = None  # the prompt is focused once it replaces its slot, right after the first frame
    BINDINGS = [
        Binding("escape", "cancel_reply", "Cancel reply", priority=True, id="cancel_reply"),
        Binding("ctrl+k", "pick_model", "Model", priority=True, id="pick_model"),
        Binding("ctrl+n", "new_chat", "New chat", show=False, priority=True, id="new_chat"),
        Binding("ctrl+l", "conversations", "Chats", priority=True, id="conversations"),
        Binding("ctrl+g", "copy_reply", "Copy reply", show=False, priority=True, id="copy_reply"),
        Binding("ctrl+y", "copy_code", "Copy code", show=False, priority=True, id="copy_code"),
        Binding("ctrl+u", "attach", "Attach", show=False, priority=True, id="attach"),
        Binding("f10", "toggle_agent", "Agent", show=False, priority=True, id="toggle_agent"),
        Binding("pageup", "scroll_transcript(-1)", "Scroll up", show=False, priority=True),
        Binding("pagedown", "scroll_transcript(1)", "Scroll down", show=False, priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.conversation_id: int | None = None
        self.title_text = "New chat"
        self.pinned: str | None = None  # the conversation's model_override
        self.next_model: str | None = None  # for the next message only
        self.last_task: str | None = None
        self._preview_timer: Timer | None = None
        self._preview_text = ""
        self._reply_worker: Worker | None = None
        self._agent: AgentRunner | None = None  # agent mode (f10): made on first use
        self._queue = SendQueue()  # messages sent while a reply streams
        self._prompt_mounted = False  # the first frame draws a slot; the TextArea replaces it
        self._typed_early: list[str] = []

    def compose(self) -> ComposeResult:
        yield AppBar("Chat", id="bar")
        yield Transcript(id="transcript")
        yield Static(id="route")
        yield Static(PROMPT_PLACEHOLDER, id="prompt", classes="prompt-slot", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self._render_route()  # then LiveScreen.on_mount starts load()
        self.set_timer(PROMPT_AFTER_FIRST_FRAME_S, self._mount_prompt)

    async def _mount_prompt(self) -> None:
        """The first frame draws the prompt as a Static; the TextArea (the heaviest widget of the
        screen to import and mount) takes its place right after, so the first frame does not wait."""
        from ..widgets.prompt import PromptInput

        prompt = PromptInput(id="prompt", placeholder=PROMPT_PLACEHOLDER)
        with self.app.batch_update():
            await self.query_one("#prompt").remove()
            await self.mount(prompt, after="#route")
        self._prompt_mounted = True
        if self._typed_early:
            prompt.insert("".join(self._typed_early))
            self._typed_early.clear()
        prompt.focus()

    def on_key(self, event: events.Key) -> None:
        """What is typed before the prompt replaces its slot goes into the prompt once it has."""
        if not self._prompt_mounted and event.is_printable and event.character:
            self._typed_early.append(event.character)
            event.stop()

    def _focus_prompt(self) -> None:
        prompt = self.query_one("#prompt")
        if prompt.can_focus:  # the slot the first frame draws cannot take focus; the TextArea can
            prompt.focus()

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def streaming(self) -> bool:
        return self._reply_worker is not None and self._reply_worker.state in (WorkerState.PENDING,
                                                                               WorkerState.RUNNING)

    @guarded
    async def load(self) -> None:
        """After the first paint: open the last conversation, or say how to configure a provider."""
        service = await self.host.ready()
        if service is None:
            await self.transcript.append(Notice(self.host.open_error or ""))
            return
        last = await service.last_conversation_id()
        if last is not None:
            await self.open_conversation(last)
        await self._hint_if_unconfigured()

    async def _hint_if_unconfigured(self) -> None:
        service = self.app.service  # type: ignore[attr-defined]
        if service is not None and not service.settings.configured():
            await self.transcript.append(Notice(extras.no_provider_hint(service), id="no-provider"))

    # conversations ------------------------------------------------------------------------------

    @property
    def service(self) -> RouterService:
        """The service; only used once the database is open (the handlers check or wait for it)."""
        service = self.host.service
        if service is None:
            from ...core.types import MesoclawFailure

            raise MesoclawFailure(self.host.open_error or "the database is not open yet")
        return service

    def _loader(self, conversation_id: int) -> Loader:
        service = self.service

        async def load(before_id: int | None) -> TranscriptPage:
            return await service.transcript(conversation_id, limit=PAGE, before_id=before_id)

        return load

    async def open_conversation(self, conversation_id: int | None, at_message: int | None = None) -> None:
        """Show a conversation (None: a new chat) at its end, or at one of its messages."""
        conversation = await self.service.conversation(conversation_id) if conversation_id else None
        self.conversation_id = conversation.id if conversation else None
        self.title_text = conversation.title if conversation else "New chat"
        self.pinned = conversation.model_override if conversation else None
        self.last_task = conversation.last_task if conversation else None
        self.next_model = None
        self.conversation_shown(conversation)
        self.query_one(AppBar).context = self.title_text
        if self.conversation_id and at_message is not None:
            await self.transcript.show_at(self._loader(self.conversation_id), at_message)
        else:
            await self.transcript.show(self._loader(self.conversation_id) if self.conversation_id else None)
        self._render_route()
        self._schedule_preview()
        await extras.show_usage(self)

    @guarded
    async def reload(self, *, config_only: bool = False) -> None:
        """Another process (or a profile change) touched the database."""
        self.stale = False
        self._schedule_preview()
        if config_only or self.streaming or self.conversation_id is None:
            return
        conversation = await self.service.conversation(self.conversation_id)
        if conversation is None:  # deleted elsewhere
            await self.open_conversation(None)
            return
        self.pinned = conversation.model_override
        self.title_text = conversation.title
        self.conversation_shown(conversation)
        self.query_one(AppBar).context = self.title_text
        latest = (await self.service.transcript(self.conversation_id, limit=1)).entries
        shown = [w.message_id for w in self.transcript.messages if getattr(w, "message_id", None)]
        if latest and (not shown or latest[-1].id > max(shown)):
            await self.transcript.show(self._loader(self.conversation_id))
        self._render_route()
        await extras.show_usage(self)

    def on_screen_resume(self) -> None:
        self._focus_prompt()  # then LiveScreen.on_screen_resume reloads if stale

    # routing preview ----------------------------------------------------------------------------

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """The prompt changed (named by convention: the chat does not import the TextArea to load)."""
        self._preview_text = event.text_area.text
        self._schedule_preview()

    def _schedule_preview(self) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(PREVIEW_DEBOUNCE_S, self._run_preview)

    def _run_preview(self) -> None:
        self.run_worker(self._preview(self._preview_text), group="preview", exclusive=True, exit_on_error=False)

    @guarded
    async def _preview(self, text: str) -> None:
        service = self.host.service
        if service is None:
            return
        if not text.strip():
            self._render_route()
            return
        from ...core.types import RoutingProfile, TaskType

        previous = TaskType(self.last_task) if self.last_task in TaskType._value2member_map_ else None
        profile = self.route_profile()
        asked = RoutingProfile(profile) if profile else (await service.get_router_config()).profile
        verdict = await service.budget_check(asked)  # cached: a spent budget routes with eco, so does the line
        if verdict is not None and verdict.downgraded:
            profile = verdict.profile.value
        classification, decision = await service.test_route(text, previous=previous, profile=profile)
        self._render_route(task=classification.task.value, decision=decision)

    def _render_route(self, task: str | None = None, decision: Any = None) -> None:
        """The line above the prompt: the task and model that would answer, or the model chosen."""
        from ..keys import key_of

        line = Text()
        if self._agent is not None and self._agent.is_on(self.conversation_id):
            line.append(" agent ", style="bold reverse " + fmt.colour("magenta"))
            line.append(" ")
        chosen = self.next_model or self.pinned
        if task:
            line.append("route ", style="dim")
            line.append(task, style="bold")
            line.append(" → ", style="dim")
            if chosen:
                line.append(chosen, style="bold")
                line.append(" (next message)" if self.next_model else " (pinned)", style="dim")
            elif decision is not None and decision.primary is not None:
                line.append(decision.primary.label, style="bold")
                more = len(decision.candidates) - 1
                if more:
                    line.append(f"  +{more} fallback{'s' if more > 1 else ''}", style="dim")
            else:
                line.append("no available model", style="bold " + fmt.colour("red"))
        else:
            line.append("route ", style="dim")
            if chosen:
                line.append(chosen, style="bold")
                line.append(" for the next message" if self.next_model else " pinned for this conversation",
                            style="dim")
            else:
                line.append("type a message to see which model the router picks", style="dim")
        note = self.settings_note()
        if note:
            line.append(f"  · {note} ({key_of(self.app, 'system_prompt')})", style="dim")
        self.query_one("#route", Static).update(safe_text(line))  # model names from provider lists

    # sending ------------------------------------------------------------------------------------

    async def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        text = event.text.strip()
        if not text and not extras.has_attachments(self):  # attached files alone may be the question
            return
        if self.host.service is None:
            self.notify("The database is not open yet.", severity="warning", timeout=3)
            return
        event.prompt.clear()
        if self.streaming:  # sent when the reply ends, in order; esc takes it back
            await self._queue.add(self.transcript, text)
            return
        self._start_reply(text)

    def _start_reply(self, text: str) -> None:
        if self._agent is not None and self._agent.is_on(self.conversation_id):  # an agent run instead
            self._reply_worker = self.run_worker(self._agent.send(text), group="reply", exclusive=True,
                                                 exit_on_error=False)
        else:
            self._reply_worker = self._send(text)
        self.refresh_bindings()

    def action_toggle_agent(self) -> None:
        """Agent mode for this conversation: a message starts a tool-using run (screens/agent_run.py)."""
        if self._agent is None:
            from .agent_run import AgentRunner

            self._agent = AgentRunner(self, FAILURE_TEXT)
        self._agent.toggle(self.conversation_id)
        self._render_route()

    async def on_unmount(self) -> None:
        if self._agent is not None:
            await self._agent.aclose()  # its MCP servers stop with the app

    async def _after_reply(self, cancelled: bool) -> None:
        """The reply ended: send the message queued first; after a cancel, give them back to the prompt."""
        if not self._queue or self.streaming or not self.is_attached:
            return
        if cancelled:
            texts = await self._queue.take_all()
            prompt: Any = self.query_one("#prompt")
            prompt.text = "\n\n".join([*texts, prompt.text] if prompt.text.strip() else texts)
            return
        text = await self._queue.take_first()
        if text:
            self._start_reply(text)

    @work(group="reply", exclusive=True, exit_on_error=False)
    async def _send(self, text: str, redo: Redo | None = None) -> None:
        from ...core.types import MesoclawError, MesoclawFailure

        app: Any = self.app
        user, view, turn = await self._start_exchange(text, redo)
        state: dict[str, Any] = {"task": None, "target": None}
        try:
            async for event in app.engine.stream(turn):
                await self._on_event(event, user, view, state, redo)
        except asyncio.CancelledError:
            await view.end_stream()
            kept = "the partial reply is kept" if view.text else "before any text arrived"
            label = f"{state['target'] or 'no model'} · {state['task']} · CANCELLED: {kept}"
            view.finish(status="cancelled", label=label)
            raise
        except (MesoclawError, MesoclawFailure) as exc:
            view.finish(status="failed", label="", error=str(exc))
        except Exception as exc:  # a bug: say so in the reply and the log, keep the app running
            view.finish(status="failed", label="", error=f"{type(exc).__name__}: {exc}")
            app.report(exc)
        finally:
            await view.end_stream()
            self.call_later(self.refresh_bindings)

    async def _start_exchange(self, text: str, redo: Redo | None) -> tuple[UserMessage, AssistantMessage, Any]:
        """The message and its reply-to-be on screen, and the Turn that asks for it."""
        from ...engine import Turn

        transcript = self.transcript
        if transcript.pruned_bottom:  # the user paged far up: back to the end first
            await transcript.show(self._loader(self.conversation_id) if self.conversation_id else None)
        hint = self.query("#no-provider")
        if hint and self.host.service is not None and self.host.service.settings.configured():
            await hint.remove()
        if redo is not None:  # regenerate, escalate, edit: the exchange it replaces leaves the screen
            from ..alternatives import take_off_screen

            await take_off_screen(transcript, redo.exchange)
        files = extras.take_attachments(self) if redo is None else None  # a redo asks the same message
        prompt = files.prompt(text) if files else text  # as stored: each text file a block, each image named
        user = UserMessage(prompt)
        view = AssistantMessage(label=redo.label if redo is not None else "routing…")
        await transcript.append(user, view)
        transcript.anchor()
        model, self.next_model = self.next_model, None
        self._render_route()
        fields = {"conversation_id": self.conversation_id, "model": model,
                  "content": files.content(prompt) if files else None}
        return user, view, Turn(prompt, source="chat", **(fields | self.turn_fields(redo)))

    async def _on_event(self, event: Any, user: UserMessage, view: AssistantMessage, state: dict[str, Any],
                        redo: Redo | None) -> None:
        """One event of the engine's stream, shown."""
        from ...engine import Delta, FellBack, Finished, Routed, Trying

        kind = type(event)
        if kind is Delta:
            if not view.streaming:
                view.set_label(f"{state['task']} · {state['target']} · streaming…  esc cancels")
            await view.write(event.text)
        elif kind is Trying:
            state["target"] = event.target.label
            view.set_label(f"{state['task']} · trying {event.target.label}…")
        elif kind is FellBack:
            view.set_label(f"{state['task']} · {fmt.attempt_line(event.attempt)}; trying the next model…")
        elif kind is Routed:
            state["task"] = event.task.value
            await self._routed(event)
        elif kind is Finished:
            await view.end_stream()
            self._finished(view, event.reply)
            await self._note_user_message_id(user, event.reply.message_id)
            await extras.show_usage(self)
            await self.after_reply(event.reply, redo)

    async def _routed(self, event: Any) -> None:
        self.last_task = event.task.value
        await self.routed_budget(event.budget)
        if self.conversation_id is None and event.conversation_id is not None:
            self.conversation_id = event.conversation_id
            conversation = await self.service.conversation(event.conversation_id)
            self.title_text = conversation.title if conversation else self.title_text
            self.query_one(AppBar).context = self.title_text

    async def _note_user_message_id(self, user: UserMessage, reply_id: int | None) -> None:
        """The stored id of the prompt (the message before the reply), so paging up can load from it."""
        if self.conversation_id is None or reply_id is None:
            return
        before = await self.service.messages(self.conversation_id, limit=1, before_id=reply_id)
        if before and before[-1].role == "user":
            user.message_id = before[-1].id

    def _finished(self, view: AssistantMessage, reply: Any) -> None:
        task = reply.task.value if reply.task else None
        if reply.status == "failed":
            label = fmt.reply_label(provider=None, model=None, task=task, status="failed")
        else:
            label = fmt.reply_label(provider=reply.provider, model=reply.model, task=task, status=reply.status,
                                    attempts=reply.attempts, input_tokens=reply.input_tokens,
                                    output_tokens=reply.output_tokens, cost_usd=reply.cost_usd,
                                    estimated=reply.estimated, finish_reason=reply.finish_reason)
        error = FAILURE_TEXT[reply.failure](reply) if reply.failure is not None else None
        view.message_id = reply.message_id
        view.finish(status=reply.status, label=label, error=error)

    async def action_cancel_reply(self) -> None:
        if self._queue:  # first the message queued last comes back to the prompt; then the reply stops
            text = await self._queue.take_last() or ""
            prompt: Any = self.query_one("#prompt")
            prompt.text = f"{text}\n\n{prompt.text}" if prompt.text.strip() else text
            return
        if self.streaming and self._agent is not None and self._agent.stop():
            return  # an agent run stops after the tool that is running
        if self.streaming and self._reply_worker is not None:
            self._reply_worker.cancel()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_reply":
            return self.streaming
        if action == "conversations":
            return not self.streaming  # frees the footer for esc while a reply streams
        return super().check_action(action, parameters)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._reply_worker:
            self.refresh_bindings()
            if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
                self.call_later(self._after_reply, event.state is WorkerState.CANCELLED)

    # model picker -------------------------------------------------------------------------------

    @work(group="dialog", exclusive=True, exit_on_error=False)
    @guarded
    async def action_pick_model(self) -> None:
        from .dialogs import ModelPicker, model_choices

        service = await self.host.ready()
        if service is None:
            return
        choices = model_choices(await service.get_available_models_for_routing())
        picked = await self.app.push_screen_wait(ModelPicker(
            choices, title="Choose the model that answers (the router is bypassed)",
            scope="conversation" if self.pinned and not self.next_model else "next",
            auto_label="Auto: let the router choose", current=self.next_model or self.pinned))
        if picked is None:
            return
        await self.apply_model_choice(picked.model, picked.scope)

    @guarded
    async def apply_model_choice(self, model: str | None, scope: str) -> None:
        service = self.service
        if scope == "conversation":
            if self.conversation_id is None:
                self.conversation_id = await service.create_conversation("New chat")
            await service.pin_model(self.conversation_id, model)
            self.pinned = model
            self.next_model = None
            self.notify(f"{model} answers every message of this conversation." if model
                        else "The router chooses again for this conversation.", timeout=3)
        else:
            self.next_model = model
            if model:
                self.notify(f"{model} answers the next message.", timeout=3)
        self._render_route()
        self._schedule_preview()

    # conversations ------------------------------------------------------------------------------

    @guarded
    async def action_new_chat(self) -> None:
        if self.streaming:
            self.notify("A reply is still streaming: esc cancels it.", severity="warning", timeout=3)
            return
        if await self.host.ready() is None:
            return
        await self.open_conversation(None)
        await self._hint_if_unconfigured()
        self._focus_prompt()

    @work(group="dialog", exclusive=True, exit_on_error=False)
    @guarded
    async def action_conversations(self) -> None:
        from .conversations import ConversationPicker

        service = await self.host.ready()
        if service is None:
            return
        if self.streaming:
            self.notify("A reply is still streaming: esc cancels it.", severity="warning", timeout=3)
            return
        conversations = await service.list_conversations()
        choice = await self.app.push_screen_wait(ConversationPicker(conversations, self.conversation_id,
                                                                    search=service.search_conversations))
        if choice is None:
            return
        action, conversation_id, *found = choice  # a search's pick names its matching message too
        chosen = next((c for c in conversations if c.id == conversation_id), None)
        if action == "new":
            await self.action_new_chat()
        elif action == "open":
            await self.open_conversation(conversation_id, *found)
        elif action == "rename" and chosen is not None:
            await self._rename(chosen)
        elif action == "delete" and chosen is not None:
            await self._delete(chosen)

    async def _rename(self, conversation: Conversation) -> None:
        from .dialogs import TextPrompt

        async def rename(title: str) -> None:
            await self.service.rename_conversation(conversation.id, title)

        title = await self.app.push_screen_wait(TextPrompt("Rename conversation", conversation.title, submit=rename))
        if title is not None and conversation.id == self.conversation_id:
            self.title_text = title.strip()
            self.query_one(AppBar).context = self.title_text

    async def _delete(self, conversation: Conversation) -> None:
        from .dialogs import Confirm

        if await self.app.push_screen_wait(Confirm(f"Delete “{fmt.clip(conversation.title, 50)}” and its messages?")):
            await self.service.delete_conversation(conversation.id)
            if conversation.id == self.conversation_id:
                await self.open_conversation(None)
            self.notify("Conversation deleted.", timeout=2)

    # copy, scroll -------------------------------------------------------------------------------

    def action_copy_reply(self) -> None:
        replies = [w for w in self.transcript.messages if isinstance(w, AssistantMessage | StoredReply) and w.text]
        if not replies:
            self.notify("There is no reply to copy yet.", severity="warning", timeout=2)
            return
        self.app.copy_to_clipboard(replies[-1].text)
        self.notify("Copied the last reply to the clipboard (OSC 52).", timeout=2)

    def action_copy_code(self) -> None:
        extras.copy_code_block(self)

    def action_attach(self) -> None:
        extras.open_attach(self)

    def action_scroll_transcript(self, direction: int) -> None:
        transcript = self.transcript
        if direction < 0:
            transcript.scroll_page_up(animate=False)
            if transcript.scroll_y <= 0:
                transcript.request_older()
        else:
            transcript.scroll_page_down(animate=False)

    # command palette ----------------------------------------------------------------------------

    def commands(self) -> Iterable[SystemCommand]:
        from ..keys import key_of

        def key(name: str) -> str:
            return key_of(self.app, name)

        yield SystemCommand("Choose the model", f"For the next message or the whole conversation ({key('pick_model')})",
                            self.action_pick_model)
        yield SystemCommand("Agent mode: on/off", f"Messages in this conversation start a tool-using agent run "
                            f"({key('toggle_agent')})", self.action_toggle_agent)
        yield SystemCommand("New conversation", f"Start a new chat ({key('new_chat')})", self.action_new_chat)
        yield SystemCommand("Conversations", f"Search, switch, rename or delete conversations ({key('conversations')})",
                            self.action_conversations)
        yield SystemCommand("Copy the last reply", f"To the clipboard, over SSH too ({key('copy_reply')})",
                            self.action_copy_reply)
        yield SystemCommand("Copy a code block", f"Pick one of the last reply's code blocks and copy it ({key('copy_code')})",
                            self.action_copy_code)
        yield SystemCommand("Attach a file", f"Text or an image, sent with the next message ({key('attach')})",
                            self.action_attach)
        if self.streaming:
            yield SystemCommand("Cancel the reply", f"Stop streaming and keep the partial text ({key('cancel_reply')})",
                                self.action_cancel_reply)
        yield SystemCommand("Let the router choose", "Clear the model chosen for the next message and the "
                            "conversation", lambda: self.run_worker(self._clear_models()))
        yield from self.extra_commands()

    @guarded
    async def _clear_models(self) -> None:
        if self.pinned:
            await self.apply_model_choice(None, "conversation")
        await self.apply_model_choice(None, "next")
