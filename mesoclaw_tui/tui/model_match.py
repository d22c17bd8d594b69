"""How a typed filter ranks models, the same in every list that filters them (the model picker, the
override picker, the model browser): a model named exactly (canonical name, alias, provider:id or
the provider's id) first, then one whose name starts with what was typed, then one whose
description holds every typed word. Only when nothing matches so do names holding the typed
characters in order (`g4o` → `gpt-4o`) show: a fallback for a typo, not noise under a search that
found something. Within a rank, the list's own order stands. Pure, no Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

EXACT, PREFIX, WORDS = range(3)


def normalise_query(query: str) -> str:
    return " ".join(query.lower().split())


def _in_order(needle: str, name: str) -> bool:
    """Every character of needle appears in name, in order."""
    position = 0
    for char in needle:
        position = name.find(char, position) + 1
        if not position:
            return False
    return True


def rank(query: str, names: Sequence[str], haystack: str) -> int | None:
    """The rank of one model for a normalised, non-empty query (None: no match but perhaps a fuzzy
    one). names: the lower-cased names it answers to; haystack: everything searchable about it."""
    if query in names:
        return EXACT
    if any(name.startswith(query) for name in names):
        return PREFIX
    if all(word in haystack for word in query.split()):
        return WORDS
    return None


def fuzzy(query: str, names: Sequence[str]) -> bool:
    """The typed characters (spaces aside) appear in order in one of the names."""
    compact = query.replace(" ", "")
    return len(compact) > 1 and any(_in_order(compact, name) for name in names)


def ranked(items: Iterable[T], query: str, names: Callable[[T], Sequence[str]],
           haystack: Callable[[T], str]) -> list[T]:
    """The items that match `query`, best first (stable: the given order within a rank); all of
    them, in order, for an empty query."""
    q = normalise_query(query)
    if not q:
        return list(items)
    pool = list(items)
    scored = []
    for index, item in enumerate(pool):
        r = rank(q, names(item), haystack(item))
        if r is not None:
            scored.append((r, index, item))
    if not scored:
        return [item for item in pool if fuzzy(q, names(item))]
    scored.sort(key=lambda s: (s[0], s[1]))
    return [item for _, _, item in scored]


def model_names(canonical: str, aliases: Iterable[str], ids: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """What a model answers to, lower-cased: its canonical name, aliases, and each provider's id
    both alone and as provider:id."""
    out = [canonical, *aliases]
    for provider, model_id in ids:
        out += [model_id, f"{provider}:{model_id}"]
    return tuple(dict.fromkeys(n.lower() for n in out if n))
