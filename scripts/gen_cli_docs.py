"""Regenerate the reference part of docs/cli.md from the click commands themselves.

    python scripts/gen_cli_docs.py          # rewrite docs/cli.md between the markers
    python scripts/gen_cli_docs.py --check  # exit 1 if docs/cli.md is out of date (the test does this)
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mesoclaw_tui.cli.main import cli  # noqa: E402

DOC = ROOT / "docs" / "cli.md"
BEGIN, END = "<!-- BEGIN GENERATED: scripts/gen_cli_docs.py -->", "<!-- END GENERATED -->"


def walk(command: click.Command, path: list[str]):
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from walk(command.get_command(ctx, name), [*path, name])


def usage(command: click.Command, path: list[str]) -> str:
    """The usage line, built from the parameters (click's own wording varies between versions)."""
    pieces = [" ".join(path), "[OPTIONS]"]
    for param in command.params:
        if isinstance(param, click.Argument):
            name = param.human_readable_name.upper()
            name += "..." if param.nargs == -1 else ""
            pieces.append(name if param.required else f"[{name}]")
    if isinstance(command, click.Group):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def option_row(option: click.Option) -> str | None:
    if option.hidden or option.name == "help":
        return None
    names = ", ".join([*option.opts, *option.secondary_opts]).replace(", --no-", " / --no-")
    if not option.is_flag and not option.count:
        names += f" {option.type.name.upper()}" if option.type.name != "text" else " TEXT"
    help_text = (option.help or "").replace("|", "/")
    if option.show_default and option.default is not None and not option.is_flag:
        help_text += f" (default: {option.default})"
    return f"| `{names}` | {help_text} |"


def render() -> str:
    parts = []
    for path, command in walk(cli, ["mesoclaw"]):
        ctx = click.Context(command, info_name=" ".join(path))
        parts.append(f"### `{' '.join(path)}`\n")
        parts.append(f"```\n{usage(command, path)}\n```\n")
        help_text = inspect.cleandoc(command.help or "")
        if help_text:
            parts.append(help_text.replace("\b\n", "") + "\n")
        rows = [row for param in command.params if isinstance(param, click.Option)
                and (row := option_row(param))]
        if rows:
            parts.append("| option | meaning |\n|---|---|\n" + "\n".join(rows) + "\n")
        if isinstance(command, click.Group) and command.list_commands(ctx):
            subs = ", ".join(f"`{name}`" for name in command.list_commands(ctx))
            parts.append(f"Subcommands: {subs}.\n")
    return "\n".join(parts)


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n\n{render()}\n{END}{tail}"
    if "--check" in sys.argv:
        if new != text:
            print("docs/cli.md is out of date: run python scripts/gen_cli_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
