"""Dialogs of the chat's daily tools: the system prompt and presets (f4), and editing the last message
(up in an empty prompt). Both edit text the way the chat's prompt does: enter saves or sends, ctrl+j
(or shift+enter) starts a new line, esc closes without a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..safe import neutralise, safe_text
from .dialogs import Dialog

if TYPE_CHECKING:
    from ...service import Preset
    from ..widgets.prompt import PromptInput

NO_PRESET = "__none__"


@dataclass(frozen=True)
class SystemChoice:
    """What the system prompt dialog returns: a new system prompt, or a preset (None: no preset) for
    this conversation or a new one."""

    system: str | None = None
    preset: str | None = None  # a preset's name, or NO_PRESET
    new_chat: bool = False

    @property
    def is_preset(self) -> bool:
        return self.preset is not None


class TextEditor(Dialog):
    """A titled multi-line editor: enter submits, ctrl+j a new line (the chat prompt's keys)."""

    DEFAULT_CSS = """
    TextEditor #editor { height: auto; min-height: 3; max-height: 10; background: $boost; padding: 0 1;
                         margin: 0 0 1 0; }
    """

    def __init__(self, title: str, text: str = "", *, hint: str = "enter save · ctrl+j newline · esc cancel",
                 placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.hint = hint
        self.placeholder = placeholder

    def editor_widget(self) -> PromptInput:
        from ..widgets.prompt import PromptInput

        editor = PromptInput(id="editor", placeholder=self.placeholder)
        editor.text = neutralise(self.text)  # outside text (a stored message) is edited without its controls
        return editor

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(safe_text(self.title_text), classes="title", markup=False)
            yield self.editor_widget()
            yield Static(id="error", classes="error")
            yield Static(self.hint, classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#error").display = False
        editor = self.query_one("#editor")
        editor.focus()
        editor.move_cursor(editor.document.end)  # type: ignore[attr-defined]

    def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        # One handler (Textual calls the handler of every class in the MRO): subclasses override submitted().
        event.stop()
        self.submitted(event.text)

    def submitted(self, text: str) -> None:
        self.dismiss(text)


class SystemPromptDialog(TextEditor):
    """The conversation's system prompt, and the presets above it: enter on a preset applies it to
    this conversation, `n` to a new one; enter in the editor saves the system prompt (blank: none)."""

    BINDINGS = [Binding("n", "new_chat", "Preset in a new chat", show=False)]
    DEFAULT_CSS = """
    SystemPromptDialog #presets { max-height: 7; margin: 0 0 1 0; }
    SystemPromptDialog .section-label { color: $text-muted; }
    """

    def __init__(self, presets: Sequence[Preset], system: str | None, *, title: str,
                 current_preset: str | None = None) -> None:
        super().__init__(title, system or "", placeholder="no system prompt: type one (it is sent with every turn)",
                         hint="enter save/apply · ctrl+j newline · tab switch · n new chat · esc cancel")
        self.presets = list(presets)
        self.current_preset = current_preset

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(safe_text(self.title_text), classes="title", markup=False)
            yield Static("Presets (`mesoclaw presets add` makes them)", classes="section-label")
            options = [Option(Text("None: clear the preset's settings and the system prompt", style="italic"),
                              id=NO_PRESET)]
            for preset in self.presets:
                mark = "● " if self.current_preset and preset.name.lower() == self.current_preset.lower() else "  "
                line = Text.assemble((mark, "bold"), (f"{preset.name:<14}", "bold"), " ", (preset.summary(), "dim"))
                line.truncate(70, overflow="ellipsis")  # one line each: the list stays short at 80x24
                options.append(Option(safe_text(line), id=preset.name))
            yield OptionList(*options, id="presets")
            yield Static("System prompt (sent with every turn of this conversation)", classes="section-label")
            yield self.editor_widget()
            yield Static(id="error", classes="error")
            yield Static(self.hint, classes="hint", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        names = [p.name.lower() for p in self.presets]
        if self.current_preset and self.current_preset.lower() in names:
            self.query_one(OptionList).highlighted = names.index(self.current_preset.lower()) + 1

    def submitted(self, text: str) -> None:
        self.dismiss(SystemChoice(system=text))

    @on(OptionList.OptionSelected, "#presets")
    def _on_preset(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(SystemChoice(preset=event.option.id))

    def action_new_chat(self) -> None:
        option_list = self.query_one(OptionList)
        if not option_list.has_focus or option_list.highlighted is None:
            return
        chosen = option_list.get_option_at_index(option_list.highlighted).id
        self.dismiss(SystemChoice(preset=chosen, new_chat=True))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "new_chat":
            return self.query_one(OptionList).has_focus  # `n` is a letter in the editor
        return True
