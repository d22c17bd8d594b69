"""The conversation list (ctrl+l): enter opens, n new, r rename, d delete; `/` goes to the search box,
where typing searches every message of every conversation (full text, best match first, each with a
quote of its match); ↓ or enter there goes to the results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from .. import format as fmt
from ..safe import neutralise
from ..widgets.fields import Field
from .dialogs import Dialog

if TYPE_CHECKING:
    from ...service import Conversation, SearchResult

SEARCH_DEBOUNCE_S = 0.15
HINT = "enter open · / search · n new · r rename · d delete · esc close"
Search = Callable[[str], Awaitable["SearchResult"]]


class ConversationPicker(Dialog):
    """Returns (action, conversation id): ("open" | "rename" | "delete", id) or ("new", None)."""

    DEFAULT_CSS = """
    ConversationPicker #search { margin: 0; background: $boost; }
    ConversationPicker #note { color: $text-warning; height: auto; }
    """
    BINDINGS = [
        Binding("n", "choose('new')", "New"),
        Binding("r", "choose('rename')", "Rename"),
        Binding("d,delete", "choose('delete')", "Delete"),
        Binding("slash", "search", "Search"),
        Binding("down", "results", show=False),  # from the search box (the list has its own)
    ]

    def __init__(self, conversations: Sequence[Conversation], current: int | None, search: Search | None = None) -> None:
        super().__init__()
        self.conversations = list(conversations)
        self.current = current
        self.search = search
        self._timer: Timer | None = None
        self._query = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Conversations", classes="title")
            yield Field(placeholder="/ search every message…", id="search", compact=True)
            yield OptionList(*self._listed(), id="options")
            if not self.conversations:
                yield Static("No conversations yet: type a message in the chat to start one.", id="empty")
            yield Static(id="note", markup=False)
            yield Static(id="error", classes="error")
            yield Static(HINT, classes="hint")

    def _listed(self) -> list[Option]:
        return [Option(Text.assemble(("● " if c.id == self.current else "  ", "bold"),
                                     fmt.clip(neutralise(c.title or "New chat"), 52),
                                     (f"  {c.message_count} msgs", "dim")), id=str(c.id))
                for c in self.conversations]

    def on_mount(self) -> None:
        self.query_one("#error").display = False
        self.query_one("#note").display = False
        self.query_one("#search").display = self.search is not None
        option_list = self.query_one(OptionList)
        ids = [c.id for c in self.conversations]
        if self.current in ids:
            option_list.highlighted = ids.index(self.current)
        option_list.focus()

    def _highlighted(self) -> int | None:
        option_list = self.query_one(OptionList)
        if option_list.highlighted is None:
            return None
        return _opened(option_list.get_option_at_index(option_list.highlighted).id)[1]

    def action_choose(self, action: str) -> None:
        if action == "new":
            self.dismiss(("new", None))
            return
        conversation_id = self._highlighted()
        if conversation_id is not None:
            self.dismiss((action, conversation_id))

    def action_search(self) -> None:
        if self.search is not None:
            self.query_one("#search", Input).focus()

    @on(OptionList.OptionSelected)
    def _on_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(_opened(event.option.id))

    # search ----------------------------------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def _on_typed(self, event: Input.Changed) -> None:
        self._query = event.value
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SEARCH_DEBOUNCE_S, self._start_search)

    def _start_search(self) -> None:
        self.run_worker(self._run_search(self._query), group="search", exclusive=True, exit_on_error=False)

    async def _run_search(self, query: str) -> None:
        options = self.query_one(OptionList)
        note = self.query_one("#note", Static)
        if not query.strip() or self.search is None:
            options.set_options(self._listed())
            note.display = False
            return
        result = await self.search(query)
        if query != self._query:  # typed on meanwhile: a newer search follows
            return
        options.set_options([Option(_hit_line(hit), id=f"{hit.conversation_id}:{hit.message_id}")
                             for hit in result.hits])
        if result.hits:
            options.highlighted = 0
        shown = result.note or ("" if result.hits else f"no conversation holds {query.strip()!r}")
        note.update(neutralise(shown))
        note.display = bool(shown)

    def action_results(self) -> None:
        """↓ in the search box: to the results."""
        options = self.query_one(OptionList)
        if options.option_count:
            options.focus()

    @on(Input.Submitted, "#search")
    def _on_search_enter(self) -> None:
        """Enter in the search box opens the best match (once the search has run)."""
        options = self.query_one(OptionList)
        if options.option_count and self._query.strip():
            self.dismiss(_opened(options.get_option_at_index(options.highlighted or 0).id))


def _opened(option_id: str | None) -> tuple[str, int] | tuple[str, int, int]:
    """What picking a row asks for: ("open", conversation), or for a search's match ("open",
    conversation, the matching message), which opens there."""
    conversation, _, message = (option_id or "0").partition(":")
    return ("open", int(conversation), int(message)) if message else ("open", int(conversation))


def _hit_line(hit: Any) -> Text:
    """Two lines: the conversation and how many of its messages match; a quote of the best match."""
    line = Text.assemble(("  ", ""), fmt.clip(neutralise(hit.title or "New chat"), 52),
                         (f"  {hit.matches} match{'es' if hit.matches != 1 else ''}", "dim"), "\n    ")
    room = 66
    for piece, matched in hit.snippet:
        piece = neutralise(piece)
        if room <= 0:
            break
        shown = piece if len(piece) <= room else piece[: max(0, room - 1)] + "…"
        line.append(shown, style="bold reverse" if matched else "dim")
        room -= len(shown)
    return line
