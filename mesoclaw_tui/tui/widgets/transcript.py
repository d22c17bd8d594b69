"""The scrolling transcript of one conversation, mounted lazily.

Only the latest PAGE messages are mounted when a conversation opens; scrolling to the top
mounts the PAGE before them, and the widgets far from the end are pruned, so a conversation of
thousands of messages opens as fast as a short one and never holds them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from textual.containers import VerticalScroll
from textual.widget import Widget

from ..keys import key_of
from .messages import AssistantMessage, Notice, StoredReply, UserMessage

PAGE = 30
MAX_MOUNTED = 120  # beyond this, the widgets furthest from what is visible are removed
NEWER_NOT_SHOWN = "Newer messages are not shown: send one, or open the conversation again ({key}), to go back to the end."

if TYPE_CHECKING:
    from ...service import TranscriptEntry, TranscriptPage

# A page of the conversation: the latest messages before a message id (None: the latest of all).
Loader = Callable[[int | None], Awaitable["TranscriptPage"]]


def message_widget(entry: TranscriptEntry) -> Widget:
    if entry.role == "assistant" and entry.tool_calls:
        from .tool_blocks import StoredStep

        return StoredStep(entry)  # an agent step: its reply and its tool calls
    if entry.role == "assistant":
        return StoredReply(entry)
    if entry.role == "user":
        return UserMessage(entry.content, message_id=entry.id)
    return Notice(entry.content)


class Transcript(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    Transcript {
        height: 1fr;
        padding: 0 1 1 1;
        scrollbar-size-vertical: 1;
    }
    Transcript:focus { background-tint: $foreground 3%; }
    Transcript > .found { border-left: thick $warning; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._loader: Loader | None = None
        self.has_older = False
        self.pruned_bottom = False
        self._loading_older = False

    @property
    def messages(self) -> list[UserMessage | AssistantMessage | StoredReply | Notice]:
        return [w for w in self.children if isinstance(w, UserMessage | AssistantMessage | StoredReply | Notice)
                or hasattr(w, "message_id")]  # and an agent step (widgets/tool_blocks.StoredStep)

    async def show(self, loader: Loader | None) -> None:
        """Replace the content by the latest page of a conversation (None: an empty new chat)."""
        await self._show_page(loader, await loader(None) if loader else None)

    async def _show_page(self, loader: Loader | None, page: TranscriptPage | None, *, notice: str = "") -> None:
        self._loader = loader
        self.pruned_bottom = bool(notice)
        entries, self.has_older = (page.entries, page.has_older) if page else ([], False)
        widgets = [message_widget(e) for e in entries] + ([Notice(notice)] if notice else [])
        with self.app.batch_update():
            await self.remove_children()
            if widgets:
                await self.mount_all(widgets)
        self.anchor()
        # a page of short messages may not fill a tall terminal: then there is nothing to scroll up to
        self.call_after_refresh(self._once_laid_out, self._fill_if_short)

    async def show_at(self, loader: Loader, message_id: int) -> bool:
        """Open a conversation at one of its messages (a search's match), marked and scrolled into view:
        in the latest page, that page; further back, the page that ends with it, saying that the newer
        messages come back when the user sends one or reopens the conversation (as after paging far up).
        False, with the latest page shown, when the message is not in the conversation."""
        page, notice = await loader(None), ""
        if not any(entry.id == message_id for entry in page.entries):
            older = await loader(message_id + 1)  # the messages before the next id: ending with this one
            if older.entries and older.entries[-1].id == message_id:
                page, notice = older, NEWER_NOT_SHOWN.format(key=key_of(self.app, "conversations"))
        await self._show_page(loader, page, notice=notice)
        widget = self._widget_of(message_id)
        if widget is None:
            return False
        widget.add_class("found")
        self.call_after_refresh(self._once_laid_out, lambda: self._bring_into_view(widget))
        return True

    def _bring_into_view(self, widget: Widget) -> None:
        if self.max_scroll_y > 0:  # (when all of it fits, it stays as show() anchored it)
            self.release_anchor()
            self.scroll_to_widget(widget, animate=False, top=True)

    def _widget_of(self, message_id: int) -> Widget | None:
        return next((w for w in self.messages if getattr(w, "message_id", None) == message_id), None)

    def _fill_if_short(self) -> None:
        if self.has_older and self.max_scroll_y == 0:
            self.request_older()

    def _once_laid_out(self, callback: Callable[[], Any], tries: int = 10) -> None:
        """Call back once the layout has run since the messages were mounted. Every message is at least a
        line tall, so a smaller virtual height means it has not (Textual runs after-refresh callbacks at
        once while another batch_update holds the refresh, e.g. the prompt replacing its slot), and a
        scroll measured then is wrong: "nothing to scroll", or a view left above its top."""
        if self.virtual_size.height < len(self.messages):
            if tries:
                self.call_after_refresh(self._once_laid_out, callback, tries - 1)
            return
        callback()

    def request_older(self) -> None:
        if self.has_older and not self._loading_older:
            self._loading_older = True  # set now, so a second trigger before the worker starts is ignored
            self.run_worker(self.load_older(), group="older")

    async def append(self, *widgets: Widget) -> None:
        await self.mount_all(widgets)
        await self._prune_top()

    async def load_older(self) -> bool:
        """Mount the page before the oldest mounted message; False when there is none."""
        first_id = next((w.message_id for w in self.messages if w.message_id is not None), None)
        if not (self._loader and self.has_older) or first_id is None:
            self._loading_older = False
            return False
        self._loading_older = True
        try:
            page = await self._loader(first_id)
            self.has_older = page.has_older
            if not page.entries:
                return False
            before_height = self.virtual_size.height
            widgets = [message_widget(e) for e in page.entries]
            await self.mount_all(widgets, before=0)
            await self._prune_bottom()
            # Keep what the user was looking at in place: move down by what was added above it.
            self.call_after_refresh(self._keep_position, before_height)
            return True
        finally:
            self._loading_older = False

    def _keep_position(self, before_height: int) -> None:
        added = self.virtual_size.height - before_height
        if added > 0:
            self.scroll_to(y=self.scroll_y + added, animate=False, immediate=True)

    async def _prune_top(self) -> None:
        extra = self.messages[:-MAX_MOUNTED] if len(self.messages) > MAX_MOUNTED else []
        if extra:
            self.has_older = True
            await self.remove_children(extra)

    async def _prune_bottom(self) -> None:
        """After paging up, drop the newest widgets beyond the limit (they reload by reopening)."""
        extra = self.messages[MAX_MOUNTED:]
        if extra:
            await self.remove_children(extra)
            self.pruned_bottom = True

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 0 < old_value:
            self.request_older()

    def action_scroll_home(self) -> None:
        if self.scroll_y <= 0:
            self.request_older()
        super().action_scroll_home()
