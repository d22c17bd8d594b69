"""What may be a model id: the one check for ids from a provider's model list (refresh, check), a
user's `models add` and an imported file. Pure.

An id is stored, routed to, sent back to its provider and shown in tables, so it must be a short
single token of printable text: non-empty, at most MAX_MODEL_ID_LENGTH characters, no whitespace,
no control or invisible format characters (an id with ESC in it would write to the terminal of
whoever lists the models; one with a bidi override would read as another id).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

MAX_MODEL_ID_LENGTH = 256

NOT_TEXT = "not given as text"
EMPTY = "with no characters"
TOO_LONG = f"longer than {MAX_MODEL_ID_LENGTH} characters"
CONTROL = "with control characters"
WHITESPACE = "with whitespace"


def model_id_problem(model_id: object) -> str | None:
    """None for a usable id; otherwise why not, as a phrase that follows "1 id" or "2 ids": "with no
    characters", "longer than 256 characters", "with control characters", "with whitespace", "not
    given as text"."""
    if not isinstance(model_id, str):
        return NOT_TEXT
    if not model_id:
        return EMPTY
    if len(model_id) > MAX_MODEL_ID_LENGTH:
        return TOO_LONG
    if model_id.isprintable() and " " not in model_id:
        return None
    # Not printable: control (Cc), format (Cf: bidi, zero-width), surrogate, private or unassigned
    # characters, or whitespace other than the space (which is printable).
    if any(not c.isprintable() and not c.isspace() for c in model_id):
        return CONTROL
    return WHITESPACE


def skipped_ids(ids: Iterable[object]) -> Counter[str]:
    """How many of `ids` are unusable, by problem (empty when all are fine)."""
    return Counter(p for p in map(model_id_problem, ids) if p is not None)


def skipped_note(skipped: Mapping[str, int]) -> str:
    """One line for people, e.g. "skipped 2 ids with control characters", or
    "skipped 3 ids: 2 with control characters, 1 with whitespace"; "" when nothing was skipped."""
    counts = [(problem, n) for problem, n in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])) if n]
    total = sum(n for _, n in counts)
    if not total:
        return ""
    ids = f"{total} id{'' if total == 1 else 's'}"
    if len(counts) == 1:
        return f"skipped {ids} {counts[0][0]}"
    return f"skipped {ids}: " + ", ".join(f"{n} {problem}" for problem, n in counts)
