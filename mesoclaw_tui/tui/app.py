"""MesoclawApp: three modes (chat, router settings, model browser) over one RouterService.

The service is opened after the first paint, so the chat is on screen before the database is
touched. A 0.5 s poll of `PRAGMA data_version` notices commits by other processes (the CLI, the
scheduler) and refreshes what is visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from .errors import report, write_log
from .preferences import DARK_THEME, LIGHT_THEME, remember, start_state, theme_name

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from ..engine import Engine
    from ..service import RouterService
    from .live_config import ConfigWatch

POLL_INTERVAL_S = 0.5
JOBS_INTERVAL_S = 30.0  # how often the open app looks for due scheduled jobs


def _chat_screen() -> Screen:
    from .screens.chat import ChatScreen

    return ChatScreen()


def _router_screen() -> Screen:
    from .screens.router import RouterScreen

    return RouterScreen()


def _models_screen() -> Screen:
    from .screens.models import ModelsScreen

    return ModelsScreen()


class MesoclawApp(App[None]):
    TITLE = "mesoclaw"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute, so subclasses elsewhere find it
    # Screens are built on first visit, so only the chat's imports stand between launch and first paint.
    MODES = {"chat": _chat_screen, "router": _router_screen, "models": _models_screen}
    DEFAULT_MODE = "chat"

    # Priority bindings work while the prompt has focus. None of these keys is eaten by tmux or a
    # terminal: ctrl+b is tmux's prefix, ctrl+s/ctrl+q are flow control, ctrl+m/i/h/[ are enter,
    # tab, backspace and escape. A binding with an id can be given another key in config.toml's
    # [keys] (tui/keys.py lists them).
    BINDINGS = [
        Binding("ctrl+r", "cycle_profile", "Profile", priority=True, tooltip="eco → balanced → premium",
                id="profile_cycle"),
        Binding("ctrl+t", "go('chat')", "Chat", priority=True, id="screen_chat"),
        Binding("ctrl+o", "go('router')", "Router", priority=True, id="screen_router"),
        Binding("ctrl+f", "go('models')", "Models", priority=True, id="screen_models"),
        Binding("f1", "go('chat')", "Chat", show=False),
        Binding("f2", "go('router')", "Router", show=False),
        Binding("f3", "go('models')", "Models", show=False),
        Binding("f9", "toggle_theme", "Theme", show=False, id="theme"),
        Binding("ctrl+e", "show_jobs", "Jobs", show=False, priority=True, id="jobs"),
        Binding("ctrl+p", "command_palette", "palette", show=False, priority=True, id="palette"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="quit"),
    ]

    profile: reactive[str] = reactive("")
    budget_badge: reactive[tuple[str, str]] = reactive(("", "ok"))  # (spend/limit text, level): tui/budget.py

    def __init__(self, db: str | None = None, *, poll_interval: float = POLL_INTERVAL_S,
                 jobs_interval: float = JOBS_INTERVAL_S, offer_setup: bool = False) -> None:
        # the profile, theme and screen as left, read before the first frame (one stdlib read)
        profile, theme, mode = start_state(db)
        self.DEFAULT_MODE = mode  # type: ignore[misc]  (read by App.__init__: the screen the app opens on)
        super().__init__()
        self.db = db
        self.offer_setup = offer_setup  # open the setup screen when no provider is configured (launch does)
        self._config_watch: ConfigWatch | None = None
        self.jobs_interval = jobs_interval
        self._scheduler = None
        self._jobs_running = False
        self.poll_interval = poll_interval
        self.service: RouterService | None = None
        self.open_error: str | None = None
        self.unexpected_errors: list[BaseException] = []
        self.crash_log: Path | None = None
        self._engine: Engine | None = None
        self._service_ready = asyncio.Event()
        self._data_version: int | None = None
        self._polling = False
        self.theme = theme
        # Over SSH every animation frame is bytes on the wire and lag for the user: scroll at once.
        self.animation_level = "none"
        # The first frame shows the profile ("" is drawn as …); the service, opened after it, reads it again.
        self.set_reactive(MesoclawApp.profile, profile)

    # lifecycle -----------------------------------------------------------------------------------

    def on_mount(self) -> None:
        # Importing the service and opening the database (~50 ms) happen in a worker, not here: the
        # first frame draws the profile read at launch (service/peek.py). Textual runs this callback
        # before it writes that frame; deferring it further measured no gain (tui_first_paint.py).
        self.call_after_refresh(self.run_worker, self._open_service(), name="open", exit_on_error=False)

    async def _open_service(self) -> None:
        from ..core.types import MesoclawError, MesoclawFailure
        from ..service import RouterService

        try:
            self.service = await RouterService.open(self.db)
            self.profile = (await self.service.get_router_config()).profile.value
            self._data_version = await self.service.data_version()
            # What exists now (modules, classes, the screen's frame) lives as long as the app: keep it
            # out of every later garbage collection, whose pauses would otherwise land on keypresses.
            # Done before any conversation is loaded, so no message widget is frozen with it.
            gc.freeze()
        except (MesoclawError, MesoclawFailure) as exc:
            from .errors import open_failure

            title, self.open_error = open_failure(exc)
            self.notify(self.open_error, title=title, severity="error", timeout=30)
        finally:
            gc.enable()  # launch() held collections back until the first frame
            self._service_ready.set()
        if self.service is not None:
            await self._settings_in_use()
            self.set_interval(self.poll_interval, self._start_poll)
            self.run_worker(self.refresh_budget(), name="budget", exit_on_error=False)
            self.run_worker(self._warm_up(), name="warm-up", exit_on_error=False)
            self.set_interval(self.jobs_interval, self._start_jobs)

    async def _settings_in_use(self) -> None:
        """config.toml's [keys] applied and its changes followed; with no provider, the setup screen."""
        from .live_config import ConfigWatch, apply_keys

        assert self.service is not None
        self._config_watch = ConfigWatch(self.service.settings.paths.config_path)
        apply_keys(self)
        if self.offer_setup:
            from .screens.setup import needs_setup

            if needs_setup(self.service):
                await self.action_setup()

    async def action_setup(self) -> None:
        from .screens.setup import SetupScreen

        if await self.ready() is not None and not isinstance(self.screen, SetupScreen):
            await self.push_screen(SetupScreen())

    # scheduled jobs ----------------------------------------------------------------------------

    def _start_jobs(self) -> None:
        self.run_worker(self._run_due_jobs(), name="jobs", group="jobs", exclusive=False,
                        exit_on_error=False)

    async def _run_due_jobs(self) -> None:
        """Run due jobs while the app is open, unless a `mesoclaw scheduler run` holds the lease."""
        if self._jobs_running or self.service is None:
            return
        self._jobs_running = True
        try:
            from ..scheduler import Scheduler

            if self._scheduler is None:
                self._scheduler = Scheduler(self.service, self.engine, role="app")

            def on_run(job, run) -> None:
                if run is not None:
                    self.notify(f"{job.name}: {run.status}", title="Scheduled job",
                                severity="information" if run.status == "ok" else "warning")

            await self._scheduler.tick(on_run=on_run)
        except Exception as exc:  # a job's failure is recorded by the scheduler; this is anything else
            write_log(self, exc)
        finally:
            self._jobs_running = False

    async def action_show_jobs(self) -> None:
        from ..scheduler import list_jobs
        from .screens.jobs import JobsDialog

        service = await self.ready()
        if service is None:
            return
        await self.push_screen(JobsDialog(await list_jobs(service)))

    async def _warm_up(self) -> None:
        """Import what the first reply needs (engine, HTTP client, classifier, Markdown) in a thread
        while the user types, so the first message does not wait for ~0.3 s of imports."""
        import importlib

        for name in ("mesoclaw_tui.engine", "mesoclaw_tui.providers", "mesoclaw_tui.core.classifier",
                     "mesoclaw_tui.tui.widgets.reply_markdown", "rich.markdown", "rich.syntax", "httpx"):
            await asyncio.to_thread(importlib.import_module, name)

    async def ready(self) -> RouterService | None:
        """The service once it is open (None when it could not be opened)."""
        await self._service_ready.wait()
        return self.service

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from ..engine import Engine

            assert self.service is not None
            self._engine = Engine(self.service)
        return self._engine

    async def action_quit(self) -> None:
        await self.settle_replies()
        if self._scheduler is not None:
            await self._scheduler.aclose()  # lets the lease go at once for a scheduler started later
        self.exit()

    async def settle_replies(self) -> None:
        """Cancel a reply that is streaming and let the engine save its partial text (as "cancelled")
        before the database closes."""
        replies = [w for w in self.workers if w.group == "reply" and not w.is_finished]
        for worker in replies:
            worker.cancel()
        for worker in replies:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.wait(), timeout=3)

    async def on_unmount(self) -> None:
        await self.settle_replies()
        if self._engine is not None:
            await self._engine.aclose()
        if self.service is not None:
            await self.service.close()

    # toasts --------------------------------------------------------------------------------------------

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every toast (screens' and widgets' notify ends here): its text may hold a provider's error, a
        model id or a job's name, so it is shown literally (no markup) with its control characters
        made visible. `markup` is accepted for Textual's signature and ignored."""
        from .safe import neutralise

        super().notify(neutralise(message), title=neutralise(title), severity=severity, timeout=timeout,
                       markup=False)

    # errors never reach the user as a traceback ----------------------------------------------------

    def report(self, error: BaseException, title: str = "Error") -> None:
        """An error a handler caught: a notification (the traceback of a bug goes to the log)."""
        report(self, error, title)

    # The one use of Textual's private API, checked on Textual 8.2.8: there is no public hook for an
    # exception no handler caught. Every message pump hands it to App._handle_exception, whose default
    # renders a Rich traceback for the terminal. Ours ends the app through the public App.exit
    # instead (the pump that raised has stopped): launch() prints one line, the traceback goes to
    # tui-errors.log. If Textual renames the hook, test_tui_app's uncaught-error test fails.
    def _handle_exception(self, error: Exception) -> None:
        self.unexpected_errors.append(error)
        self.crash_log = write_log(self, error)
        self.bell()
        self.exit(return_code=1)

    # actions -------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go":
            if self._in_dialog():
                return False  # finish or dismiss the dialog first
            if parameters and parameters[0] == self.current_mode:
                return False  # hides the key of the screen you are on
        return True

    def _in_dialog(self) -> bool:
        stack = self.screen_stack
        return bool(stack) and isinstance(stack[-1], ModalScreen)

    async def action_go(self, mode: str) -> None:
        if mode != self.current_mode and not self._in_dialog():
            await self.switch_mode(mode)
            remember(self, "last_screen", mode)

    async def action_cycle_profile(self) -> None:
        service = await self.ready()
        if service is None:
            self.notify(self.open_error or "the database is not open", severity="error")
            return
        try:
            profile = await service.cycle_profile()
        except Exception as exc:
            self.report(exc, "Cannot change the profile")
            return
        self.profile = profile.value
        self.notify(f"{profile.value}: {profile.description}", title="Routing profile", timeout=2.5)
        await self.refresh_screens(config_only=True)
        await self.refresh_budget()

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.theme == DARK_THEME else DARK_THEME
        remember(self, "theme", theme_name(self.theme))

    # live sync -------------------------------------------------------------------------------------

    def _start_poll(self) -> None:
        if not self._polling:
            self._polling = True
            self.run_worker(self._poll(), group="poll", exit_on_error=False)

    async def _poll(self) -> None:
        try:
            if self.service is None:
                return
            version = await self.service.data_version()
            if version != self._data_version:
                self._data_version = version
                await self.reload_from_store()
            if self._config_watch is not None and self._config_watch.changed():
                from .live_config import config_changed

                await config_changed(self)
        except Exception as exc:  # a locked or vanished file: keep polling, keep the details
            write_log(self, exc)
        finally:
            self._polling = False

    async def reload_from_store(self) -> None:
        """Another process changed the database: forget caches, refresh the profile and the screens."""
        if self.service is None:
            return
        self.service.invalidate()
        self.profile = (await self.service.get_router_config()).profile.value
        await self.refresh_screens()
        await self.refresh_budget()

    async def refresh_budget(self, verdict: object = None) -> None:
        """The top bar's budget badge, and a toast when a limit comes near or is reached (tui/budget.py)."""
        from .budget import refresh

        await refresh(self, verdict)  # type: ignore[arg-type]

    async def refresh_screens(self, *, config_only: bool = False) -> None:
        """Reload the screens of the mode in view now; mark the others stale (they reload when shown)."""
        from .screens.base import LiveScreen

        for mode in self.MODES:
            try:
                stack = self.get_screen_stack(mode)
            except KeyError:  # a mode not visited yet has no screens: it loads fresh when first shown
                continue
            for screen in (s for s in stack if isinstance(s, LiveScreen)):
                if mode != self.current_mode:
                    screen.stale = True
                    continue
                try:
                    await screen.reload(config_only=config_only)
                except Exception as exc:
                    self.report(exc, "Cannot refresh")

    # command palette -----------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from .keys import key_of

        def key(name: str) -> str:
            return key_of(self, name)

        yield SystemCommand("Chat", f"Go to the chat ({key('screen_chat')})", lambda: self.run_action("go('chat')"))
        yield SystemCommand("Router settings", f"Profile, task routing, overrides, custom chains ({key('screen_router')})",
                            lambda: self.run_action("go('router')"))
        yield SystemCommand("Model browser", f"Every model, its tier, context and price ({key('screen_models')})",
                            lambda: self.run_action("go('models')"))
        yield SystemCommand("Cycle routing profile", f"eco → balanced → premium → eco ({key('profile_cycle')})",
                            self.action_cycle_profile)
        for name in ("eco", "balanced", "premium"):
            yield SystemCommand(f"Profile: {name}", f"Route with the {name} profile",
                                lambda name=name: self.set_profile(name))
        yield SystemCommand("Toggle light/dark theme", f"Switch between the light and dark theme ({key('theme')})",
                            self.action_toggle_theme)
        yield SystemCommand("Set up providers", "Give mesoclaw a provider's key, check it, pick the default profile",
                            self.action_setup)
        yield SystemCommand("Scheduled jobs", f"Each job, its next run and last result ({key('jobs')})",
                            lambda: self.run_action("show_jobs"))
        base = self.screen_stack[0] if self.screen_stack else screen
        commands = getattr(base, "commands", None)
        if commands is not None and not isinstance(screen, ModalScreen):
            yield from commands()
        yield from super().get_system_commands(screen)

    async def set_profile(self, name: str) -> None:
        service = await self.ready()
        if service is None:
            return
        try:
            profile = await service.set_router_profile(name)
        except Exception as exc:
            self.report(exc, "Cannot change the profile")
            return
        self.profile = profile.value
        await self.refresh_screens(config_only=True)
