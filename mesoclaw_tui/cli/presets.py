"""`mesoclaw presets …`: named system prompts, each optionally with a profile or a model and generation
settings, for `ask --preset NAME` and the app's preset picker (f4)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..core.types import MesoclawError
from . import output as out
from .main import json_option, run_with_service


def register(cli: click.Group) -> None:
    cli.add_command(presets)


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def presets(ctx: click.Context, as_json: bool) -> None:
    """Presets: a system prompt, optionally with a profile or a model and generation settings.

    `mesoclaw ask --preset NAME` applies one to a conversation (which keeps it); in the app, f4.
    With no subcommand, lists them.
    """
    if ctx.invoked_subcommand is None:
        _print_list(run_with_service(ctx, lambda s: s.presets()), as_json)


@presets.command("list")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """Every preset and what it sets."""
    _print_list(run_with_service(ctx, lambda s: s.presets()), as_json)


def _print_list(found: list[Any], as_json: bool) -> None:
    if as_json:
        out.emit_json([p.as_dict() for p in found])
        return
    if not found:
        out.console().print('no presets yet: `mesoclaw presets add NAME --system "…"` makes one')
        return
    t = out.table("name", "sets")
    for preset in found:
        t.add_row(out.escape(preset.name), out.escape(preset.summary()))
    out.console().print(t)


@presets.command("show")
@click.argument("name")
@json_option
@click.pass_context
def show(ctx: click.Context, name: str, as_json: bool) -> None:
    """One preset in full, its system prompt included."""
    preset = run_with_service(ctx, lambda s: s.require_preset(name))
    if as_json:
        out.emit_json(preset.as_dict())
        return
    con = out.console()
    con.print(out.markup("[bold]{}[/]", preset.name))
    for label, value in (("profile", preset.profile), ("model", preset.model),
                         ("temperature", None if preset.temperature is None else f"{preset.temperature:g}"),
                         ("max tokens", None if preset.max_tokens is None else f"{preset.max_tokens:,}")):
        if value is not None:
            con.print(out.markup("{}: {}", label, value))
    if preset.system:
        con.print("system prompt:")
        out.write(preset.system + ("" if preset.system.endswith("\n") else "\n"))
    else:
        con.print("no system prompt")


@presets.command("add")
@click.argument("name")
@click.option("--system", metavar="TEXT", help="The system prompt.")
@click.option("--system-file", metavar="FILE", help="The system prompt from a file (`-`: stdin).")
@click.option("--profile", help="Route with this profile: eco, balanced or premium.")
@click.option("--model", help="Pin this model (the router is bypassed), e.g. claude-sonnet-5.5.")
@click.option("--temperature", metavar="T", help="Sampling temperature, 0 to 2.")
@click.option("--max-tokens", metavar="N", help="Longest reply, in tokens.")
@click.option("--replace", is_flag=True, help="Replace a preset of that name (all of it).")
@json_option
@click.pass_context
def add(ctx: click.Context, name: str, system: str | None, system_file: str | None, profile: str | None,
        model: str | None, temperature: str | None, max_tokens: str | None, replace: bool, as_json: bool) -> None:
    """Add preset NAME. It refuses a name that exists unless --replace is given."""
    from ..service.preset_records import check_preset

    if system is not None and system_file is not None:
        raise MesoclawError("give --system TEXT or --system-file FILE, not both")
    if system_file is not None:
        system = read_system_file(system_file)
    # checked before the database is opened: bad input changes nothing
    check_preset(name, system=system, profile=profile, model=model, temperature=temperature, max_tokens=max_tokens)
    preset, replaced = run_with_service(ctx, lambda s: s.add_preset(
        name, system=system, profile=profile, model=model, temperature=temperature, max_tokens=max_tokens,
        replace=replace))
    if as_json:
        out.emit_json(preset.as_dict() | {"replaced": replaced})
        return
    out.console().print(out.markup("{} preset [bold]{}[/]: {}", "replaced" if replaced else "added", preset.name,
                                   preset.summary()))


def read_system_file(path: str) -> str:
    """A system prompt file as text (UTF-8); `-` is stdin."""
    from ..service.preset_records import MAX_SYSTEM_CHARS

    if path == "-":
        return sys.stdin.read()
    file = Path(path)
    try:
        if file.stat().st_size > MAX_SYSTEM_CHARS * 4:
            raise MesoclawError(f"{path} is too large for a system prompt (at most {MAX_SYSTEM_CHARS:,} characters)")
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise MesoclawError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise MesoclawError(f"cannot read {path}: {exc.strerror or exc}") from None


@presets.command("rm")
@click.argument("name")
@json_option
@click.pass_context
def rm(ctx: click.Context, name: str, as_json: bool) -> None:
    """Remove preset NAME (conversations it was applied to keep their settings)."""
    run_with_service(ctx, lambda s: s.remove_preset(name))
    if as_json:
        out.emit_json({"removed": name.strip()})
        return
    out.console().print(out.markup("removed preset [bold]{}[/]", name.strip()))
