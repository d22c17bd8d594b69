"""A conversation as a file: the JSON `mesoclaw chats export --format json` writes and `chats import`
reads back, and the Markdown a person reads. Pure, tested without a database.

The JSON keeps each message's exact text, its model, task and status, and each reply's usage
(tokens, cost). Importing creates a new conversation with the same messages; the usage is not
imported (it was spent once, and `router usage` must not count it twice). A file is checked whole
before anything is written: the first problem is named by its place (`messages[3].role`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.model_ids import model_id_problem
from ..core.types import MesoclawError, TaskType

FORMAT = "mesoclaw-conversation"
VERSION = 1
MAX_IMPORT_BYTES = 64 * 1024 * 1024
MAX_TITLE = 500
ROLES = ("user", "assistant", "system")
STATUSES = ("complete", "incomplete", "cancelled", "failed")
TOP_KEYS = {"format", "version", "exported_at", "conversation", "messages"}
CONVERSATION_KEYS = {"id", "title", "created_at", "updated_at", "last_task", "model"}
MESSAGE_KEYS = {"role", "content", "provider", "model", "task", "status", "error", "created_at", "usage"}
USAGE_KEYS = {"input_tokens", "output_tokens", "cost_usd", "estimated"}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")


@dataclass(frozen=True)
class ImportedConversation:
    """A checked file: the conversation's columns and its messages' columns, ready to store."""

    conversation: dict[str, Any]
    messages: list[dict[str, Any]]


# export ------------------------------------------------------------------------------------------------


def export_document(conversation: Any, rows: Iterable[Mapping[str, Any]], exported_at: str) -> dict[str, Any]:
    """The JSON of a conversation (a service Conversation) and its messages (with their usage)."""
    return {
        "format": FORMAT, "version": VERSION, "exported_at": exported_at,
        "conversation": {"id": conversation.id, "title": conversation.title, "created_at": conversation.created_at,
                         "updated_at": conversation.updated_at, "last_task": conversation.last_task,
                         "model": conversation.model_override},
        "messages": [_message(row) for row in rows],
    }


def _message(row: Mapping[str, Any]) -> dict[str, Any]:
    message = {"role": row["role"], "content": row["content"], "created_at": str(row["created_at"] or "") or None}
    for key in ("provider", "model", "task", "error"):
        if row[key] is not None:
            message[key] = row[key]
    if row["role"] == "assistant":
        message["status"] = row["status"] or "complete"
        if row["input_tokens"] is not None or row["output_tokens"] is not None or row["cost_usd"] is not None:
            message["usage"] = {"input_tokens": row["input_tokens"], "output_tokens": row["output_tokens"],
                                "cost_usd": row["cost_usd"], "estimated": bool(row["estimated"])}
    return message


def markdown(document: Mapping[str, Any]) -> str:
    """The export document as Markdown: a heading per message, the text as it was written."""
    conversation = document["conversation"]
    lines = [f"# {_one_line(conversation['title'])}", "",
             f"*mesoclaw conversation {conversation['id']}, started {conversation['created_at'] or '?'}, "
             f"{len(document['messages'])} messages*", ""]
    for message in document["messages"]:
        lines += [f"## {heading(message)}", "", message["content"].rstrip("\n"), ""]
        said = note(message)
        if said:
            lines += [f"*{said}*", ""]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def heading(message: Mapping[str, Any]) -> str:
    """Who wrote a message (You, System, provider:model), its task and time."""
    if message["role"] == "user":
        who = "You"
    elif message["role"] == "system":
        who = "System"
    else:
        who = f"{message['provider']}:{message['model']}" if message.get("provider") else "Assistant"
    parts = [who, *([message["task"]] if message.get("task") else []), *([message["created_at"]]
                                                                         if message.get("created_at") else [])]
    return " · ".join(parts)


def note(message: Mapping[str, Any]) -> str:
    """A reply's status when it is not complete, its tokens and its cost ("" for a prompt)."""
    parts = []
    status = message.get("status", "complete")
    if status != "complete":
        parts.append(status.upper() + (f": {_one_line(message['error'])}" if message.get("error") else ""))
    usage = message.get("usage")
    if usage:
        approx = "~" if usage.get("estimated") else ""
        tokens_in, tokens_out = usage.get("input_tokens"), usage.get("output_tokens")
        parts.append(f"{approx}{tokens_in if tokens_in is not None else '?'} in / "
                     f"{approx}{tokens_out if tokens_out is not None else '?'} out")
        cost = usage.get("cost_usd")
        parts.append("cost unknown" if cost is None else f"{approx}${cost:.6f}".rstrip("0").rstrip("."))
    return " · ".join(parts)


# import ------------------------------------------------------------------------------------------------


def load(raw: bytes, name: str) -> Any:
    """The JSON of a file given to `chats import`, or a MesoclawError saying why it is not."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise MesoclawError(f"{name}: larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise MesoclawError(f"{name}: not UTF-8 text (give a file `mesoclaw chats export --format json` wrote)") \
            from None
    except ValueError as exc:
        raise MesoclawError(f"{name}: not valid JSON ({exc})") from None


def parse(data: Any) -> ImportedConversation:
    """A conversation file checked whole; a MesoclawError names the first problem and where it is."""
    top = _table("the file", data, TOP_KEYS)
    if top.get("format") != FORMAT:
        raise MesoclawError(f'format: must be "{FORMAT}" (a file `mesoclaw chats export --format json` wrote)')
    if top.get("version") != VERSION or isinstance(top.get("version"), bool):
        raise MesoclawError(f"version: must be {VERSION} (this mesoclaw reads version {VERSION})")
    if "conversation" not in top or "messages" not in top:
        raise MesoclawError("the file must have both `conversation` and `messages`")
    conversation = _conversation(_table("conversation", top["conversation"], CONVERSATION_KEYS))
    if not isinstance(top["messages"], list):
        raise MesoclawError("messages: must be a list")
    messages = [_imported_message(f"messages[{i}]", entry) for i, entry in enumerate(top["messages"])]
    return ImportedConversation(conversation, messages)


def _table(where: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MesoclawError(f"{where}: must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise MesoclawError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    return value


def _text(where: str, value: Any, *, optional: bool = True, limit: int | None = None) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise MesoclawError(f"{where}: must be text" + (" or null" if optional else ""))
    if limit is not None and len(value) > limit:
        raise MesoclawError(f"{where}: longer than {limit:,} characters")
    return value


def _choice(where: str, value: Any, choices: Iterable[str], *, optional: bool = True) -> str | None:
    choices = tuple(choices)
    if value is None and optional:
        return None
    if value not in choices:
        raise MesoclawError(f"{where}: must be one of {', '.join(choices)}" + (" or null" if optional else ""))
    return str(value)


def _timestamp(where: str, value: Any) -> str | None:
    text = _text(where, value)
    if text is not None and not TIMESTAMP.fullmatch(text):
        raise MesoclawError(f"{where}: must be a time like 2026-12-01 09:30:00")
    return text


def _model(where: str, value: Any) -> str | None:
    if value is None:
        return None
    problem = model_id_problem(value)
    if problem:
        raise MesoclawError(f"{where}: not a model id ({problem})")
    return str(value)


def _conversation(table: dict[str, Any]) -> dict[str, Any]:
    title = _text("conversation.title", table.get("title"), optional=False, limit=MAX_TITLE)
    if not title or not title.strip():
        raise MesoclawError("conversation.title: must not be empty")
    if "id" in table and (not isinstance(table["id"], int) or isinstance(table["id"], bool)):
        raise MesoclawError("conversation.id: must be a whole number (it is not kept: the import gets a new id)")
    columns = {"title": title.strip(),
               "last_task": _choice("conversation.last_task", table.get("last_task"), (t.value for t in TaskType)),
               "model_override": _model("conversation.model", table.get("model"))}
    for key in ("created_at", "updated_at"):
        stamp = _timestamp(f"conversation.{key}", table.get(key))
        if stamp is not None:
            columns[key] = stamp
    return columns


def _imported_message(where: str, value: Any) -> dict[str, Any]:
    table = _table(where, value, MESSAGE_KEYS)
    role = _choice(f"{where}.role", table.get("role"), ROLES, optional=False)
    content = _text(f"{where}.content", table.get("content"), optional=False)
    status = _choice(f"{where}.status", table.get("status", "complete"), STATUSES, optional=False)
    if role != "assistant" and status != "complete":
        raise MesoclawError(f"{where}.status: only a reply (role assistant) can be {status}")
    if table.get("usage") is not None:
        _usage(f"{where}.usage", table["usage"])
    return {
        "role": role, "content": content, "status": status,
        "provider": _text(f"{where}.provider", table.get("provider"), limit=64),
        "model": _model(f"{where}.model", table.get("model")),
        "task": _choice(f"{where}.task", table.get("task"), (t.value for t in TaskType)),
        "error": _text(f"{where}.error", table.get("error"), limit=100_000),
        "created_at": _timestamp(f"{where}.created_at", table.get("created_at")),
    }


def _usage(where: str, value: Any) -> None:
    table = _table(where, value, USAGE_KEYS)
    for key in ("input_tokens", "output_tokens"):
        number = table.get(key)
        if number is not None and (not isinstance(number, int) or isinstance(number, bool) or number < 0):
            raise MesoclawError(f"{where}.{key}: must be a whole number of tokens or null")
    cost = table.get("cost_usd")
    if cost is not None and (not isinstance(cost, int | float) or isinstance(cost, bool) or cost < 0):
        raise MesoclawError(f"{where}.cost_usd: must be a number of dollars or null")
    if not isinstance(table.get("estimated", False), bool):
        raise MesoclawError(f"{where}.estimated: must be true or false")
