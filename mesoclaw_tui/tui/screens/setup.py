"""First-run setup: pick a provider, paste its key (or name the environment variable that holds it),
check it live, pick the default profile. The app opens it when no provider is configured; it is
also "Set up providers" in the palette, and `mesoclaw setup` in a terminal.

A key is written to config.toml (mode 0600) through the service and the input is cleared at once:
it is shown as dots while typed and only ever masked (…1234) after. The check is the service's
live provider check, the same as `mesoclaw providers check`.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from .. import format as fmt
from ..errors import guarded
from ..host import host
from ..safe import safe_text
from ..widgets.bars import AppBar, KeyBar
from ..widgets.fields import Field

PROFILES = ("eco", "balanced", "premium")
CHECK_TIMEOUT_S = 10.0


def needs_setup(service: Any) -> bool:
    """No provider is configured: nothing could answer a message."""
    return not service.settings.configured()


class SetupScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    SetupScreen { background: $background; }
    SetupScreen #intro { padding: 0 1; color: $text-muted; height: auto; }
    SetupScreen #panes { height: 1fr; }
    SetupScreen #providers { width: 28; height: 100%; border: round $primary 60%; padding: 0; }
    SetupScreen #providers:focus { border: round $accent; }
    SetupScreen #detail { width: 1fr; height: 100%; padding: 0 1; }
    SetupScreen #name { text-style: bold; color: $text-accent; height: 1; }
    SetupScreen .field { height: 1; margin: 1 0 0 0; }
    SetupScreen .label { width: 16; color: $text-muted; }
    SetupScreen Input { width: 1fr; background: $boost; }
    SetupScreen #how { color: $text-muted; height: auto; margin: 1 0 0 0; }
    SetupScreen #result { height: auto; min-height: 1; margin: 1 0 0 0; }
    SetupScreen #profile-title { margin: 1 0 0 0; text-style: bold; }
    SetupScreen #profile { width: 100%; height: auto; border: round $primary 60%; padding: 0; }
    SetupScreen #profile:focus { border: round $accent; }
    """
    BINDINGS = [Binding("escape", "done", "Done (to the chat)", priority=True)]

    def __init__(self) -> None:
        super().__init__()
        self.provider: str | None = None
        self.checks: dict[str, str] = {}  # provider -> the last check's line, as shown

    def compose(self) -> ComposeResult:
        service = host(self).service
        assert service is not None  # pushed once the database is open
        yield AppBar("Setup")
        from ...paths import shown

        yield Static(safe_text(
            f"Give mesoclaw at least one provider. A key is kept in {shown(service.settings.paths.config_path)} "
            "(mode 0600), never in the database; or name the environment variable that holds it."),
            id="intro", markup=False)
        with Horizontal(id="panes"):
            yield OptionList(id="providers")
            with Vertical(id="detail"):
                yield Static(id="name", markup=False)
                with Horizontal(classes="field"):
                    yield Static("API key", classes="label")
                    yield Field(password=True, placeholder="paste the key, then enter", id="key", compact=True)
                with Horizontal(classes="field"):
                    yield Static("or variable", classes="label")
                    yield Field(placeholder="its NAME, then enter", id="env", compact=True)
                yield Static(id="how", markup=False)
                yield Static(id="result", markup=False)
                yield Static("Default profile (enter picks)", id="profile-title")
                yield OptionList(id="profile")
        yield KeyBar()

    def on_mount(self) -> None:
        self._list_providers()
        self._list_profiles()
        self.query_one("#providers", OptionList).focus()
        self.watch(self.app, "profile", self._list_profiles, init=False)

    # providers ---------------------------------------------------------------------------------------

    def _list_providers(self) -> None:
        service = host(self).service
        assert service is not None
        providers = self.query_one("#providers", OptionList)
        highlighted = providers.highlighted
        providers.set_options([Option(self._provider_line(pid, s), id=pid)
                               for pid, s in service.settings.providers.items()])
        providers.highlighted = highlighted if highlighted is not None else 0

    @staticmethod
    def _provider_line(pid: str, settings: Any) -> Text:
        glyph, style = fmt.mark(settings.configured)
        return Text.assemble((f"{glyph} ", style), (settings.info.name, "bold" if settings.configured else ""))

    @on(OptionList.OptionHighlighted, "#providers")
    def _on_highlight(self, event: OptionList.OptionHighlighted) -> None:
        self.provider = event.option.id
        self._show_provider()

    @on(OptionList.OptionSelected, "#providers")
    def _on_select(self, event: OptionList.OptionSelected) -> None:
        self.provider = event.option.id
        self._show_provider()
        self.query_one("#key", Input).focus()

    def _show_provider(self) -> None:
        service = host(self).service
        if service is None or self.provider is None:
            return
        settings = service.settings.providers[self.provider]
        state = f"configured: key {settings.masked_key} ({settings.key_source})" if settings.api_key else (
            "configured" if settings.configured else "not configured")
        self.query_one("#name", Static).update(safe_text(f"{settings.info.name} · {state}"))
        env = settings.info.key_envs[0] if settings.info.key_envs else ""
        if settings.info.needs_key:
            how = f"enter saves and checks it live (the usual variable is {env}); tab moves on."
        else:
            how = f"{settings.info.name} needs no key: enter in either field enables it ({settings.base_url})."
        self.query_one("#how", Static).update(how)
        self.query_one("#result", Static).update(safe_text(self.checks.get(self.provider, "")))

    # saving and checking ---------------------------------------------------------------------------------

    @on(Input.Submitted, "#key")
    def _on_key(self, event: Input.Submitted) -> None:
        key, event.input.value = event.value, ""  # the key leaves the widget at once
        self._save(api_key=key or None)

    @on(Input.Submitted, "#env")
    def _on_env(self, event: Input.Submitted) -> None:
        self._save(api_key_env=event.value or None)

    @work(group="setup", exclusive=True, exit_on_error=False)
    @guarded
    async def _save(self, *, api_key: str | None = None, api_key_env: str | None = None) -> None:
        from ...core.types import MesoclawError, MesoclawFailure

        service = await host(self).ready()
        pid = self.provider
        if service is None or pid is None:
            return
        result = self.query_one("#result", Static)
        try:
            settings = await service.configure_provider(pid, api_key=api_key, api_key_env=api_key_env)
        except (MesoclawError, MesoclawFailure) as exc:
            self._said(pid, f"✗ {exc}", "red")
            return
        self.query_one("#env", Input).value = ""
        self._list_providers()
        self._show_provider()
        if not settings.configured:
            self._said(pid, f"saved; ${api_key_env} is not set where the app runs: export it and start the app "
                            "from that shell", "yellow")
            return
        result.update(Text("checking…", style="italic"))
        checked = (await service.check_providers([pid], timeout=CHECK_TIMEOUT_S))[0]
        if checked["ok"]:
            self._said(pid, f"✓ saved and checked: {len(checked['models'] or [])} models listed in "
                            f"{checked['ms']} ms", "green")
        else:
            self._said(pid, f"✗ saved, but the check failed: {checked['error']}", "red")
        await host(self).refresh_screens()

    def _said(self, pid: str, line: str, colour: str) -> None:
        self.checks[pid] = line
        if pid == self.provider:
            self.query_one("#result", Static).update(safe_text(Text(line, style=fmt.colour(colour))))

    # profile, done -------------------------------------------------------------------------------------

    def _list_profiles(self, *_: Any) -> None:
        """◉ marks the profile in use (a mark, not a shade: it reads the same without colour)."""
        current = self.app.profile or "balanced"  # type: ignore[attr-defined]
        profiles = self.query_one("#profile", OptionList)
        highlighted = profiles.highlighted
        profiles.set_options([Option(Text.assemble(("◉ " if name == current else "○ "),
                                                   (name, "bold" if name == current else "")), id=name)
                              for name in PROFILES])
        profiles.highlighted = highlighted if highlighted is not None else PROFILES.index(current)

    @on(OptionList.OptionSelected, "#profile")
    async def _on_profile(self, event: OptionList.OptionSelected) -> None:
        await host(self).set_profile(event.option.id or "balanced")

    async def action_done(self) -> None:
        self.dismiss(None)
