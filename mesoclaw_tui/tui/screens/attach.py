"""Attach a file to the next message: type its path (the rest of a file name is suggested as you type,
→ takes it, tab completes as far as the matches agree), pick among the matches with ↑/↓, enter
attaches. The file is read and checked here, so a file that cannot be sent is refused with the
reason before anything is sent: not text and not an image, over its size limit, or more tokens
than the largest context window of every model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.suggester import Suggester
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..host import host
from ..safe import neutralise, safe_text
from ..widgets.attachments import Attached
from ..widgets.fields import Field
from .dialogs import Dialog

MAX_MATCHES = 200
LIMITS = ("Images (png, jpeg, gif, webp) up to 5 MB go only to models that take images; text files up to "
          "8 MB are sent after your message, with their name.")


def matches(typed: str, cwd: Path | None = None) -> list[str]:
    """The paths that complete `typed`: entries of its folder whose names start with what follows the
    last /, folders first and ending in /. Hidden entries only when the name typed starts with a dot."""
    folder_text, slash, start = typed.rpartition("/")
    prefix = folder_text + slash  # "", "docs/", "/", "~/"
    base = Path(os.path.expanduser(prefix or "."))
    if not base.is_absolute():
        base = (cwd or Path.cwd()) / base
    try:
        entries = sorted(os.scandir(base), key=lambda e: (not _is_dir(e), e.name.lower()))
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.startswith(start) and (start.startswith(".") or not entry.name.startswith(".")):
            found.append(prefix + entry.name + ("/" if _is_dir(entry) else ""))
            if len(found) >= MAX_MATCHES:
                break
    return found


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


class PathSuggester(Suggester):
    """The first path that completes what is typed, shown greyed after the cursor."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        found = matches(value)
        return found[0] if found else None


class AttachDialog(Dialog):
    """Dismissed with the Attached file, or None."""

    DEFAULT_CSS = """
    AttachDialog #matches { max-height: 10; }
    """
    BINDINGS = [
        Binding("tab", "complete", "Complete", show=False, priority=True),
        Binding("down", "move(1)", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Attach a file to the next message", classes="title")
            yield Field(placeholder="a path: notes.md, ~/shots/error.png …", id="value", compact=True,
                        suggester=PathSuggester())
            yield OptionList(id="matches")
            yield Static(id="error", classes="error")
            yield Static(LIMITS, classes="hint")
            yield Static("tab complete · → take the suggestion · ↑/↓ pick · enter attach · esc cancel",
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one("#error").display = False
        self._list("")
        self.query_one(Input).focus()

    @on(Input.Changed, "#value")
    def _on_change(self, event: Input.Changed) -> None:
        self.show_error("")
        self._list(event.value)

    def _list(self, typed: str) -> None:
        options = self.query_one("#matches", OptionList)
        options.set_options([Option(safe_text(path), id=path) for path in matches(typed)])
        options.display = options.option_count > 0

    def action_move(self, step: int) -> None:
        options = self.query_one("#matches", OptionList)
        if options.option_count:
            now = options.highlighted
            options.highlighted = 0 if now is None else max(0, min(options.option_count - 1, now + step))

    def action_complete(self) -> None:
        """Fill in as much as every match agrees on (all of it when there is one)."""
        field = self.query_one(Input)
        options = self.query_one("#matches", OptionList)
        if options.highlighted is not None:
            field.value = options.get_option_at_index(options.highlighted).id or field.value
        else:
            found = matches(field.value)
            if found:
                field.value = os.path.commonprefix(found) or field.value
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#value")
    def _on_submit(self, event: Input.Submitted) -> None:
        options = self.query_one("#matches", OptionList)
        typed = event.value
        if options.highlighted is not None:
            typed = options.get_option_at_index(options.highlighted).id or typed
        if not typed:
            self.show_error("type a file's path")
            return
        if os.path.isdir(os.path.expanduser(typed)):
            field = self.query_one(Input)
            field.value = typed.rstrip("/") + "/"
            field.cursor_position = len(field.value)
            options.highlighted = None
            return
        self._attach_file(typed)

    @on(OptionList.OptionSelected, "#matches")
    def _on_pick(self, event: OptionList.OptionSelected) -> None:
        field = self.query_one(Input)
        field.value = event.option.id or ""
        field.cursor_position = len(field.value)
        field.focus()

    @work(group="attach", exclusive=True, exit_on_error=False)
    async def _attach_file(self, path: str) -> None:
        import asyncio

        from ...core.types import MesoclawError, MesoclawFailure
        from ...engine.attachments import check_fits, largest_window, read_attachments

        try:
            files = await asyncio.to_thread(read_attachments, [path])
            service = await host(self).ready()
            if files.texts and service is not None:
                check_fits(files, await largest_window(service))
        except (MesoclawError, MesoclawFailure) as exc:
            self.show_error(str(exc))
            return
        name = Path(os.path.expanduser(path)).name
        kind = "image" if files.images else "text"
        size = len(files.images[0][1]) if files.images else len(files.texts[0][1].encode("utf-8"))
        self.dismiss(Attached(neutralise(name), kind, size, files))


def attached_files(chips: list[Attached]) -> Any:
    """The chips' files as one Attachments, in the order they were attached."""
    from ...engine.attachments import Attachments

    files = Attachments()
    for chip in chips:
        files.texts.extend(chip.files.texts)
        files.images.extend(chip.files.images)
    return files
