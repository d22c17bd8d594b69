"""`mesoclaw chats …`: the conversations the app and `ask` saved, listed, searched, shown, exported,
removed and imported."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..core.types import MesoclawError
from . import output as out
from .main import EXIT_FAILURE, ExitCode, json_option, run_with_service

FORMATS = ("md", "json")


def register(cli: click.Group) -> None:
    cli.add_command(chats)


@click.group()
def chats() -> None:
    """Saved conversations: list and search them, show, export, remove, import.

    Search matches every word you give, as a word or the start of one, in any order, and ranks the
    conversations by how well they match (SQLite's full-text search, FTS5).
    """


# list -----------------------------------------------------------------------------------------------


@chats.command("list")
@click.option("--search", "-s", "text", metavar="TEXT", help="Only conversations whose messages hold every word.")
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(1, 10_000),
              help="How many conversations at most.")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, text: str | None, limit: int, as_json: bool) -> None:
    """The newest conversations, or with --search the best matches, each with a quote of its match."""
    if text is not None:
        _search(ctx, text, limit, as_json)
        return
    conversations = run_with_service(ctx, lambda s: s.list_conversations(limit))
    if as_json:
        out.emit_json([_listed(c) for c in conversations])
        return
    if not conversations:
        out.console().print("no conversations yet: `mesoclaw ask \"…\"` or the app starts one")
        return
    t = out.table("id", "title", "messages", "updated")
    for c in conversations:
        t.add_row(str(c.id), out.escape(_clip(c.title, 60)), str(c.message_count), c.updated_at)
    out.console().print(t)


def _listed(conversation: Any) -> dict[str, Any]:
    return {"id": conversation.id, "title": conversation.title, "messages": conversation.message_count,
            "created_at": conversation.created_at, "updated_at": conversation.updated_at,
            "last_task": conversation.last_task, "model": conversation.model_override}


def _search(ctx: click.Context, text: str, limit: int, as_json: bool) -> None:
    if not text.strip():
        raise MesoclawError("--search needs a word to look for")
    result = run_with_service(ctx, lambda s: s.search_conversations(text, limit))
    if result.note:
        out.echo(f"mesoclaw: note: {result.note}", err=True)
    if as_json:
        out.emit_json([{"id": h.conversation_id, "title": h.title, "updated_at": h.updated_at,
                        "matches": h.matches, "message_id": h.message_id, "role": h.role,
                        "snippet": h.snippet_text, "highlights": h.highlights} for h in result.hits])
        return
    if not result.hits:
        out.console().print(f"no conversation holds {out.escape(text.strip())!r}")
        return
    t = out.table("id", "title", "matches", "best match")
    for hit in result.hits:
        t.add_row(str(hit.conversation_id), out.escape(_clip(hit.title, 40)), str(hit.matches), _quote(hit))
    out.console().print(t)


def _quote(hit: Any) -> Any:
    from rich.text import Text

    quote = Text()
    for piece, matched in hit.snippet:
        quote.append(out.escape(piece), style="bold" if matched and not out.is_plain() else "")
    return quote


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# show, export ---------------------------------------------------------------------------------------------


@chats.command()
@click.argument("conversation_id", metavar="ID", type=click.IntRange(min=1))
@json_option
@click.pass_context
def show(ctx: click.Context, conversation_id: int, as_json: bool) -> None:
    """Conversation ID: every message, and what each reply used."""
    document = run_with_service(ctx, lambda s: s.export_conversation(conversation_id))
    if as_json:
        out.emit_json(document)
        return
    con = out.console()
    conversation = document["conversation"]
    con.print(out.markup("[bold]{}[/] (conversation {}, {} messages)", conversation["title"], conversation["id"],
                         len(document["messages"])))
    for message in document["messages"]:
        con.print()
        con.print(out.styled(f"── {_who(message)}", "bold cyan" if message["role"] == "user" else "bold green"))
        con.print(out.escape(message["content"].rstrip("\n")), soft_wrap=True)
        note = _note(message)
        if note:
            con.print(out.styled(note, "dim"))


def _who(message: dict[str, Any]) -> str:
    from ..service.chat_file import heading

    return heading(message)


def _note(message: dict[str, Any]) -> str:
    from ..service.chat_file import note

    return note(message)


@chats.command()
@click.argument("conversation_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="md", show_default=True,
              help="md: Markdown to read; json: the file `chats import` takes back.")
@click.option("--output", "-o", "file", metavar="FILE", help="Write to FILE (mode 0600) instead of stdout (-).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@json_option
@click.pass_context
def export(ctx: click.Context, conversation_id: int, fmt: str, file: str | None, force: bool, as_json: bool) -> None:
    """Conversation ID as Markdown or JSON, to stdout or a file.

    A file gets the exact text; on stdout, control characters in it are made visible (in JSON, written
    as \\u escapes, so it still reads back exactly). --json: to stdout, the same as --format json;
    with --output, what was written as JSON.
    """
    import json

    from ..service.chat_file import markdown

    target = None if file in (None, "-") else _new_file(file, force)
    fmt = "json" if as_json and target is None else fmt
    document = run_with_service(ctx, lambda s: s.export_conversation(conversation_id))
    if fmt == "json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = markdown(document)
    if target is None:
        out.write(out.escape_unsafe(text) if fmt == "json" else text)
        return
    _write(target, text)
    if as_json:
        out.emit_json({"written": str(target), "id": conversation_id, "format": fmt})
    else:
        out.echo(f"wrote conversation {conversation_id} to {file}", err=True)


def _new_file(file: str, force: bool) -> Any:
    from pathlib import Path

    path = Path(file).expanduser().absolute()
    if path.is_dir():
        raise MesoclawError(f"{file} is a directory: give a file name")
    if path.exists() and not force:
        raise MesoclawError(f"{file} exists: give --force to replace it, or another name")
    if not path.parent.is_dir():
        raise MesoclawError(f"cannot write {file}: {path.parent} is not a directory")
    return path


def _write(path: Any, text: str) -> None:
    from ..settings import write_private

    try:
        write_private(path, text, create_folder=False)
    except OSError as exc:
        raise MesoclawError(f"cannot write {path}: {exc.strerror or exc}") from None


# rm, import ----------------------------------------------------------------------------------------------


@chats.command()
@click.argument("conversation_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--yes", "-y", is_flag=True, help="Do not ask (needed when stdin is not a terminal).")
@json_option
@click.pass_context
def rm(ctx: click.Context, conversation_id: int, yes: bool, as_json: bool) -> None:
    """Delete conversation ID and its messages (its usage stays in `router usage`). Asks first on a terminal."""

    async def act(service: Any) -> Any:
        conversation = await service.require_conversation(conversation_id)
        if not yes and not _confirmed(conversation):
            return None
        await service.delete_conversation(conversation_id)
        return conversation

    if not yes and not sys.stdin.isatty():
        raise MesoclawError("stdin is not a terminal, so mesoclaw cannot ask: give --yes to delete without asking")
    removed = run_with_service(ctx, act)
    if removed is None:
        raise ExitCode(EXIT_FAILURE, "nothing deleted")
    if as_json:
        out.emit_json({"removed": conversation_id, "title": removed.title})
    else:
        out.console().print(f"deleted conversation {conversation_id} ({out.escape(_clip(removed.title, 60))})")


def _confirmed(conversation: Any) -> bool:
    question = out.escape(f"Delete conversation {conversation.id} “{_clip(conversation.title, 50)}” and its messages?")
    return click.confirm(question, default=False, err=True)


@chats.command("import")
@click.argument("file")
@json_option
@click.pass_context
def import_cmd(ctx: click.Context, file: str, as_json: bool) -> None:
    """FILE (a `chats export --format json`, or - for stdin) as a new conversation. Checked whole
    first: a bad file adds nothing (exit 2, naming the problem). Usage is not imported."""
    from ..service.chat_file import load

    name = "stdin" if file == "-" else file
    data = load(_read(file), name)

    async def act(service: Any) -> tuple[int, Any]:
        try:
            new_id = await service.import_conversation(data)
        except MesoclawError as exc:
            raise MesoclawError(f"{name}: {exc}") from None
        return new_id, await service.require_conversation(new_id)

    new_id, conversation = run_with_service(ctx, act)
    count = len(data["messages"])
    if as_json:
        out.emit_json({"id": new_id, "title": conversation.title, "messages": count})
    else:
        out.console().print(f"imported {out.plural(count, 'message')} as conversation {new_id} "
                            f"({out.escape(_clip(conversation.title, 60))})")


def _read(file: str) -> bytes:
    """At most MAX_IMPORT_BYTES + 1 bytes of FILE (or stdin): a huge file is refused, never read whole."""
    from ..service.chat_file import MAX_IMPORT_BYTES
    from .files import read_bounded

    return read_bounded(file, MAX_IMPORT_BYTES + 1, "a conversation file")
