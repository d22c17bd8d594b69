"""The chat's daily tools, as the base of ChatScreen: the system prompt and presets (f4), regenerate
(f5), escalate (f6), the alternatives of the last exchange (f7 / f8), and editing the last message
(up in an empty prompt). Each but the last is a named action in tui/keys.py, so a key can be bound
to it anew, and each is in the command palette.

ChatScreen (chat.py) streams every reply; it calls the hooks here at a few points: the Turn's
fields (`turn_fields`), the conversation it shows (`conversation_shown`), a reply routed and
finished (`routed_budget`, `after_reply`), and the route line's note (`settings_note`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.actions import SkipAction
from textual.app import SystemCommand
from textual.binding import Binding

from ..errors import guarded
from .base import LiveScreen

if TYPE_CHECKING:
    from textual.worker import Worker

    from ...service import ChatSettings, Conversation, Exchange, Preset, RouterService
    from ..alternatives import Redo
    from ..widgets.transcript import Loader, Transcript

# Actions that work on the last exchange: not while a reply streams, not before there is one.
_ON_THE_LAST_EXCHANGE = frozenset({"regenerate", "escalate", "alternative", "edit_last_message"})


class ChatDailyTools(LiveScreen):
    BINDINGS = [
        Binding("f4", "system_prompt", "System", show=False, priority=True, id="system_prompt"),
        Binding("f5", "regenerate", "Regenerate", show=False, priority=True, id="regenerate"),
        Binding("f6", "escalate", "Escalate", priority=True, id="escalate"),
        Binding("f7", "alternative(-1)", "Prev alt", show=False, priority=True, id="previous_alternative"),
        Binding("f8", "alternative(1)", "Next alt", show=False, priority=True, id="next_alternative"),
        # Only in an empty prompt (otherwise the key moves the cursor as always): see action_edit_last_message.
        Binding("up", "edit_last_message", "Edit last message", show=False, priority=True),  # not rebindable: up moves
    ]

    if TYPE_CHECKING:  # what ChatScreen provides
        conversation_id: int | None
        pinned: str | None
        _reply_worker: Worker | None

        @property
        def streaming(self) -> bool: ...
        @property
        def service(self) -> RouterService: ...
        @property
        def transcript(self) -> Transcript: ...
        def _loader(self, conversation_id: int) -> Loader: ...
        def _send(self, text: str, redo: Redo | None = None) -> Worker: ...
        def _render_route(self, task: str | None = None, decision: Any = None) -> None: ...
        def _schedule_preview(self) -> None: ...
        async def action_new_chat(self) -> None: ...

    def __init__(self) -> None:
        super().__init__()
        self.kept: ChatSettings | None = None  # what the open conversation keeps for every turn
        # A new chat's system prompt or preset, until its first message stores them with it.
        self.pending_system: str | None = None
        self.pending_preset: Preset | None = None

    # hooks ChatScreen calls ------------------------------------------------------------------------

    def conversation_shown(self, conversation: Conversation | None) -> None:
        """The chat opened (or reloaded) a conversation; None: a new chat."""
        self.kept = conversation.settings if conversation is not None else None
        if conversation is not None or self.conversation_id is None:
            self.pending_system = self.pending_preset = None
        self.refresh_bindings()  # the keys that need a conversation (f5–f8) are enabled or dimmed

    def turn_fields(self, redo: Redo | None) -> dict[str, Any]:
        """The Turn's fields beside its text: a re-ask's, or a new chat's system prompt and preset."""
        if redo is not None:
            return redo.turn_fields()
        fields: dict[str, Any] = {}
        if self.conversation_id is None:
            if self.pending_preset is not None:
                fields["preset"] = self.pending_preset
            if self.pending_system is not None:
                fields["system"] = self.pending_system
        return fields

    def settings_note(self) -> str:
        """The route line's note of what the conversation keeps: `preset coder, premium profile` (a
        preset's profile routes the conversation, whatever the top bar's), `system prompt`."""
        preset = self.pending_preset.name if self.pending_preset else (self.kept.preset if self.kept else None)
        system = self.pending_system or (self.kept.system if self.kept else None) or (
            self.pending_preset.system if self.pending_preset else None)
        profile = self.route_profile()
        if preset:
            return f"preset {preset}" + (f", {profile} profile" if profile else "")
        return "system prompt" if system else ""

    def route_profile(self) -> str | None:
        """The profile that routes this conversation when a preset names one (None: the active one)."""
        if self.pending_preset is not None:
            return self.pending_preset.profile
        return self.kept.profile if self.kept is not None else None

    async def routed_budget(self, verdict: Any) -> None:
        """A request was routed under the budgets: the badge, and a toast when it was moved to eco."""
        if verdict is not None:
            await self.host.refresh_budget(verdict)

    async def after_reply(self, reply: Any, redo: Redo | None) -> None:
        """A reply ended: the conversation now keeps what a new chat's first turn set; the budget badge
        follows the spend; a re-ask is recorded (escalations) and the conversation shown as stored,
        with each alternative's place in its label."""
        if self.conversation_id is not None:
            conversation = await self.service.conversation(self.conversation_id)
            self.conversation_shown(conversation)
            self._render_route()
        await self.host.refresh_budget()
        if redo is not None and self.conversation_id is not None:
            from ..alternatives import settle

            said = await settle(self.service, redo, reply)
            await self.transcript.show(self._loader(self.conversation_id))
            if said:
                from ..keys import key_of

                self.notify(said.format(previous=key_of(self.app, "previous_alternative"),
                                        next=key_of(self.app, "next_alternative")), timeout=3)

    # the system prompt and presets -------------------------------------------------------------------

    @work(group="dialog", exclusive=True, exit_on_error=False)
    @guarded
    async def action_system_prompt(self) -> None:
        from .presets import SystemPromptDialog

        service = await self.host.ready()
        if service is None:
            return
        kept = self.kept
        system = self.pending_system or (self.pending_preset.system if self.pending_preset else None) or (
            kept.system if kept else None)
        current = self.pending_preset.name if self.pending_preset else (kept.preset if kept else None)
        where = "this conversation" if self.conversation_id is not None else "the new chat"
        choice = await self.app.push_screen_wait(SystemPromptDialog(
            await service.presets(), system, title=f"System prompt and presets of {where}", current_preset=current))
        if choice is None:
            return
        if choice.is_preset:
            if choice.new_chat:
                await self.action_new_chat()
            await self.apply_preset(choice.preset)
        else:
            await self.set_system_prompt(choice.system)

    @guarded
    async def set_system_prompt(self, text: str | None) -> None:
        """The conversation's system prompt from now on (blank: none); a new chat's, from its first turn."""
        from ...service.preset_records import check_system

        system = check_system(text)
        if self.conversation_id is None:
            self.pending_system = system
        else:
            await self.service.set_system_prompt(self.conversation_id, system)
            self.conversation_shown(await self.service.conversation(self.conversation_id))
        self.notify("System prompt set: it is sent with every turn." if system else "No system prompt.", timeout=3)
        self._render_route()

    @guarded
    async def apply_preset(self, name: str | None) -> None:
        """Apply a preset (None or NO_PRESET: none) to the conversation, or to the new chat's first turn."""
        from ...service import ChatSettings
        from .presets import NO_PRESET

        preset = await self.service.require_preset(name) if name and name != NO_PRESET else None
        if self.conversation_id is None:
            self.pending_preset, self.pending_system = preset, None
        else:
            await self.service.keep_settings(self.conversation_id, preset.settings if preset else ChatSettings())
            self.conversation_shown(await self.service.conversation(self.conversation_id))
        self.pinned = preset.model if preset else None
        said = f"Preset {preset.name}: {preset.summary()}" if preset else "No preset: the router chooses, no system prompt."
        self.notify(said, timeout=4)
        self._render_route()
        self._schedule_preview()

    # regenerate, escalate, edit --------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _ON_THE_LAST_EXCHANGE and (self.streaming or self.conversation_id is None):
            return None if action != "edit_last_message" else False  # dimmed in the footer; up passes on
        return True

    async def action_regenerate(self) -> None:
        await self._redo("regenerate")

    @work(group="dialog", exclusive=True, exit_on_error=False)
    async def action_escalate(self, pick: bool = False) -> None:
        """Re-ask the last exchange of the next tier's model; with pick (or when there is none), of a
        model picked in the model picker."""
        await self._redo("escalate", pick=pick)

    @guarded
    async def _redo(self, kind: str, *, pick: bool = False) -> None:
        from ...core.types import MesoclawError
        from ..alternatives import Redo

        exchange = await self._last_exchange()
        if exchange is None:
            return
        plan = None
        if kind == "escalate":
            model = await self._pick_escalation() if pick else None
            if pick and model is None:
                return
            try:
                plan = await self.service.plan_escalation(exchange, model)
            except MesoclawError as exc:
                self.notify(f"{exc}.", severity="warning", timeout=4)
                model = await self._pick_escalation()
                if model is None:
                    return
                plan = await self.service.plan_escalation(exchange, model)
        self.start_reply(exchange.prompt, Redo(kind, exchange, plan))

    async def _last_exchange(self) -> Exchange | None:
        if self.streaming:
            self.notify("A reply is still streaming: esc cancels it.", severity="warning", timeout=3)
            return None
        exchange = await self.service.last_exchange(self.conversation_id) if self.conversation_id else None
        if exchange is None:
            self.notify("There is no reply to redo yet: send a message first.", severity="warning", timeout=3)
        return exchange

    async def _pick_escalation(self) -> str | None:
        from .dialogs import ModelPicker, model_choices

        choices = model_choices(await self.service.get_available_models_for_routing())
        picked = await self.app.push_screen_wait(ModelPicker(choices, title="Escalate: the model that answers again"))
        return picked.model if picked is not None else None

    def start_reply(self, text: str, redo: Redo) -> None:
        self._reply_worker = self._send(text, redo)
        self.refresh_bindings()

    def action_edit_last_message(self) -> None:
        """In an empty prompt, edit the last message and send it again (the reply it had is kept as an
        alternative); anywhere else the key does what it always does."""
        prompt = self.query_one("#prompt")
        if not prompt.has_focus or getattr(prompt, "text", None) != "" or self.conversation_id is None:
            raise SkipAction()
        self._edit_last_message()

    @work(group="dialog", exclusive=True, exit_on_error=False)
    @guarded
    async def _edit_last_message(self) -> None:
        from ..alternatives import Redo
        from .presets import TextEditor

        exchange = await self._last_exchange()
        if exchange is None:
            return
        text = await self.app.push_screen_wait(TextEditor(
            "Edit the last message (its reply is kept as an alternative)", exchange.prompt,
            hint="enter send again · ctrl+j newline · esc cancel"))
        if text is None or not text.strip():
            return
        self.start_reply(text.strip(), Redo("edit", exchange))

    # the alternatives ---------------------------------------------------------------------------------

    @guarded
    async def action_alternative(self, step: int) -> None:
        """Show the previous (-1) or next (+1) alternative of the last exchange: it is what the next
        message is sent after."""
        from ...core.types import MesoclawError

        if self.streaming or self.conversation_id is None:
            return
        try:
            exchange = await self.service.step_alternative(self.conversation_id, step)
        except MesoclawError as exc:
            self.notify(f"{exc}.", severity="warning", timeout=3)
            return
        await self.transcript.show(self._loader(self.conversation_id))
        self.notify(f"Alternative {exchange.position}/{exchange.count}: what the next message follows.", timeout=2)

    # the command palette -------------------------------------------------------------------------------

    def extra_commands(self) -> Iterable[SystemCommand]:
        from ..keys import key_of

        def key(name: str) -> str:
            return key_of(self.app, name)

        yield SystemCommand("System prompt and presets", "This conversation's system prompt; apply a preset "
                            f"({key('system_prompt')})", lambda: self.run_action("system_prompt"))
        if self.conversation_id is None or self.streaming:
            return
        yield SystemCommand("Regenerate the last reply", "Ask again the same way; the reply is kept as an "
                            f"alternative ({key('regenerate')})", lambda: self.run_action("regenerate"))
        yield SystemCommand("Escalate the last reply", f"Ask again of the next tier's model ({key('escalate')})",
                            lambda: self.run_action("escalate"))
        yield SystemCommand("Escalate to a model I pick", "Ask again of a model you choose",
                            lambda: self.run_action("escalate(True)"))
        yield SystemCommand("Edit the last message", "Change it and send it again (up in an empty prompt)",
                            self._edit_last_message)
        yield SystemCommand("Previous alternative", f"Of the last reply ({key('previous_alternative')})",
                            lambda: self.run_action("alternative(-1)"))
        yield SystemCommand("Next alternative", f"Of the last reply ({key('next_alternative')})",
                            lambda: self.run_action("alternative(1)"))
