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


def render() -> str:
    parts = []
    for path, command in walk(cli, ["mesoclaw"]):
        ctx = click.Context(command, info_name=" ".join(path))
        usage = command.collect_usage_pieces(ctx)
        parts.append(f"### `{' '.join(path)}`\n")
        parts.append(f"```\n{' '.join(path)} {' '.join(usage)}\n```\n")
        help_text = inspect.cleandoc(command.help or "")
        if help_text:
            parts.append(help_text.replace("\b\n", "") + "\n")
        rows = []
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx)
            if record and record[0] not in ("--help", "-h, --help"):
                rows.append(f"| `{record[0]}` | {record[1].replace('|', '/')} |")
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
