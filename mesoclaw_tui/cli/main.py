"""`mesoclaw`'s click commands: the app with no subcommand (e.g. `mesoclaw --db F`), headless
subcommands otherwise. Exit codes and the one-line error contract are in exits.py.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from .. import __version__
from .exits import (  # noqa: F401  (the commands import them from here)
    EXIT_ALL_FAILED,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_NO_PROVIDER,
    EXIT_OK,
    EXIT_USAGE,
    ExitCode,
    exit_code_for,
    say,
)

T = TypeVar("T")


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def run_with_service(ctx: click.Context, action: Callable[[Any], Awaitable[T]]) -> T:
    """Open the RouterService for the database chosen by --db / MESOCLAW_HOME, run, close."""
    from ..service import RouterService

    async def go() -> T:
        service = await RouterService.open(ctx.find_root().params.get("db"))
        try:
            return await action(service)
        finally:
            await service.close()

    return asyncio.run(go())


# Subcommands are imported only when used, so `mesoclaw router status` loads nothing else.
# name -> module in this package that defines it (through a `register(cli)` function).
LAZY_COMMANDS = {
    "router": "router", "ask": "ask", "providers": "providers",
    "schedule": "schedule", "scheduler": "schedule", "serve": "serve", "agent": "agent", "mcp": "mcp",
    "chats": "chats", "setup": "setup", "presets": "presets", "budget": "budget",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(self.commands)
        for name, module in LAZY_COMMANDS.items():
            if _module_exists(module):
                names.add(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in LAZY_COMMANDS and _module_exists(LAZY_COMMANDS[name]):
            import importlib

            importlib.import_module(f"{__package__}.{LAZY_COMMANDS[name]}").register(self)
        return self.commands.get(name)


def _module_exists(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"{__package__}.{module}") is not None


@click.group(cls=LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", type=click.Path(dir_okay=False), envvar="MESOCLAW_DB",
              help="Database file (default: the user data dir, or $MESOCLAW_HOME).")
@click.version_option(__version__, prog_name="mesoclaw")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """mesoclaw: chat with LLMs in the terminal; a router picks the model for every request.

    With no command, opens the full-screen app.
    """
    if ctx.invoked_subcommand is None:
        from ..tui.launch import launch

        launch(db)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="mesoclaw", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return EXIT_USAGE
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        say(f"{exc.format_message()}{hint}")
        return EXIT_USAGE
    except click.Abort:
        say("interrupted")
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        say(exc.format_message())
        return exc.exit_code
    except Exception as exc:
        return exit_code_for(exc)
    except KeyboardInterrupt as exc:
        return exit_code_for(exc)
    return EXIT_OK


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
