"""Files attached to a prompt (`mesoclaw ask -a FILE`, the app's attach key): read, checked and turned
into what the engine sends.

An image (png, jpeg, gif, webp: told by its first bytes, whatever its name) is sent as an image
part, so only models with image input are routed to. Any other file must be text (UTF-8, no NUL
bytes) and is sent as a context block after the prompt, with its name:

    <file name="notes.md">
    …
    </file>

Limits, checked before anything is sent or stored: an image up to 5 MB (Anthropic's limit per
image, the smallest of the providers'), a text file up to 8 MB and no more tokens than the largest
context window of any model that could be routed to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.tokens import estimate_tokens
from ..core.types import MesoclawError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_TEXT_BYTES = 8 * 1024 * 1024
# The first bytes of each image type the providers take, and its media type.
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


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


async def largest_window(service: Any) -> int | None:
    """The largest context window of any model the request could go to (any model, with none configured)."""
    registry = await service.registry()
    configured = service.settings.configured()
    windows = [m.context_window for m in registry.models if m.context_window and not m.retired
               and (m.provider in configured or not configured)]
    return max(windows, default=None)
