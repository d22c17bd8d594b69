"""`mesoclaw ask -a FILE` and `--schema`: files read, checked and turned into what the engine sends.

An image (png, jpeg, gif, webp: told by its first bytes, whatever its name) is sent as an image
part, so only models with image input are routed to. Any other file must be text (UTF-8, no NUL
bytes) and is sent as a context block after the prompt, with its name:

    <file name="notes.md">
    …
    </file>

Limits, checked before anything is sent or stored (exit 2): an image up to 5 MB (Anthropic's limit
per image, the smallest of the providers'), a text file up to 8 MB and no more tokens than the
largest context window of any model that could be routed to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.tokens import estimate_tokens
from ..core.types import MesoclawError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_TEXT_BYTES = 8 * 1024 * 1024
MAX_SCHEMA_BYTES = 1024 * 1024
# The first bytes of each image type the providers take, and its media type.
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "number": (int, float), "integer": (int,),
    "boolean": (bool,), "null": (type(None),),
}


@dataclass
class Attachments:
    texts: list[tuple[str, str]] = field(default_factory=list)  # (name, text)
    images: list[tuple[str, bytes, str]] = field(default_factory=list)  # (name, bytes, media type)

    def prompt(self, prompt: str) -> str:
        """The prompt as stored and classified: its text, each text file as a block, each image named."""
        blocks = [f'<file name="{name}">\n{text}{"" if text.endswith(chr(10)) else chr(10)}</file>'
                  for name, text in self.texts]
        blocks += [f"[attached image: {name}]" for name, _, _ in self.images]
        return "\n\n".join(part for part in (prompt, *blocks) if part) if blocks else prompt

    def content(self, text: str) -> Any:
        """What is sent as the prompt: the text alone, or the text and the images as parts."""
        if not self.images:
            return None
        from ..providers import ImagePart, TextPart

        return (TextPart(text), *(ImagePart.from_bytes(raw, media) for _, raw, media in self.images))


def image_type(head: bytes) -> str | None:
    for magic, media in _IMAGE_MAGIC:
        if head.startswith(magic):
            return media
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_attachments(paths: Sequence[str]) -> Attachments:
    attachments = Attachments()
    for given in paths:
        path = Path(given).expanduser()
        try:
            size = path.stat().st_size
            with path.open("rb") as fh:
                head = fh.read(12)
                media = image_type(head)
                limit = MAX_IMAGE_BYTES if media else MAX_TEXT_BYTES
                if size > limit:
                    what = "an image" if media else "a text file"
                    raise MesoclawError(f"{given}: {size / 1e6:.1f} MB is over the {limit // (1024 * 1024)} MB "
                                        f"limit for {what}")
                raw = head + fh.read(limit + 1 - len(head))
        except OSError as exc:
            raise MesoclawError(f"cannot read {given}: {exc.strerror or exc}") from None
        if media:
            attachments.images.append((path.name, raw, media))
        else:
            attachments.texts.append((path.name, _text_of(given, raw)))
    return attachments


def _text_of(given: str, raw: bytes) -> str:
    try:
        if b"\x00" in raw:
            raise UnicodeDecodeError("utf-8", raw, 0, 1, "NUL byte")
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MesoclawError(f"{given}: not a text file (UTF-8) or an image mesoclaw can send "
                            "(png, jpeg, gif, webp)") from None


def check_fits(attachments: Attachments, largest_window: int | None) -> None:
    """Refuse a text file larger than every model's context window, before anything is sent."""
    if not largest_window:
        return
    for name, text in attachments.texts:
        tokens = estimate_tokens(text)
        if tokens > largest_window:
            raise MesoclawError(f"{name} (~{tokens:,} tokens) is too big for every model: the largest context "
                                f"window is {largest_window:,} tokens")


# --schema -----------------------------------------------------------------------------------------------


def read_schema(value: str) -> dict[str, Any]:
    """A JSON Schema given as JSON text or as a file holding it."""
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value).expanduser()
        try:
            if path.stat().st_size > MAX_SCHEMA_BYTES:
                raise MesoclawError(f"--schema {value}: larger than {MAX_SCHEMA_BYTES // 1024} KB")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            raise MesoclawError(f"--schema: cannot read {value} ({why}); give a file or the schema as JSON") \
                from None
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise MesoclawError(f"--schema: not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise MesoclawError("--schema: a JSON Schema must be a JSON object, e.g. {\"type\": \"object\", …}")
    return schema


def reply_json(text: str, schema: dict[str, Any]) -> tuple[str | None, Any, str | None]:
    """The JSON of a reply to a --schema request: (its text, its value, None) or (None, None, why not).

    Only the schema's top-level type is checked. A reply wrapped in one ``` fence is read inside it.
    """
    body = _unfenced(text.strip())
    try:
        value = json.loads(body)
    except ValueError as exc:
        return None, None, f"the reply is not JSON ({exc})"
    wanted = schema.get("type")
    names = [wanted] if isinstance(wanted, str) else [w for w in wanted or () if isinstance(w, str)]
    kinds = tuple(kind for name in names for kind in _JSON_TYPES.get(name, ()))
    if kinds and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
        return None, None, f"the reply is JSON but not of the schema's type ({' or '.join(names)})"
    return body, value, None


def _unfenced(text: str) -> str:
    if text.startswith("```") and text.endswith("```") and "\n" in text:
        return text[text.index("\n") + 1:-3].strip()
    return text
