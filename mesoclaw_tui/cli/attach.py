"""`mesoclaw ask -a FILE` and `--schema`: the attachments are the engine's (engine/attachments.py,
shared with the app); the schema is read here.

--schema takes a JSON Schema as a file or as the JSON itself (up to 1 MB); a reply to it is read
as JSON of the schema's top-level type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.types import MesoclawError
from ..engine.attachments import (  # noqa: F401  (the commands import them from here)
    MAX_IMAGE_BYTES,
    MAX_TEXT_BYTES,
    Attachments,
    check_fits,
    image_type,
    read_attachments,
)

MAX_SCHEMA_BYTES = 1024 * 1024
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "number": (int, float), "integer": (int,),
    "boolean": (bool,), "null": (type(None),),
}


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
