"""Build train.jsonl and validation.jsonl from the hand-written prompts beside this script.

Two separately written sets, in the same format:
- ``src/``: the training prompts. ``src/<task>.txt`` holds one prompt per line ("# " comments,
  "@xx " language prefix, "\\n" for a newline, "\\\\" for a backslash); ``src/lang/<lang>.txt``
  and ``src/topics/<topic>.txt`` hold ``<task> [@lang] prompt`` lines; ``src/pastes/`` whole
  pasted prompts, one per file; and ``src/material/`` + ``src/requests.txt`` are combined into
  more pasted prompts (hand-written bodies: articles, emails, code, logs, tables; hand-written
  requests placed before and/or after them), so the model learns that the user's request, not
  the pasted material, decides the task.
- ``val/``: the validation prompts (``val/<task>.txt``, ``val/pastes/``), written apart from
  ``src/`` and never trained on; the trainer and the benchmark report accuracy on them.

Pasted prompts are files named ``<task>--<lang>--<slug>.txt`` whose whole text is the prompt.

The dev set (``../shared/data/classifier-dev.jsonl``) and the independent held-out set
(``heldout.jsonl``) are never read for training. This script reads them only to refuse a
training prompt that is a near-copy of one of their prompts, or of a validation prompt
(word-set Jaccard), so that none of those figures is flattered by a copy.

    python3 data/classifier/build_train.py          # rebuild both files
    python3 data/classifier/build_train.py --check  # exit 1 if they are out of date
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scripts.train_classifier import (  # noqa: E402
    EXTERNAL,
    HELDOUT,
    TRAIN,
    VALIDATION,
    find_dev,
    load_rows,
    near_copies,
)

SRC = HERE / "src"
VAL = HERE / "val"
TASKS = ("code", "general", "fast", "creative", "analysis")
SEED = 20240611

_ESC = re.compile(r"\\(n|t|\\)")

Row = dict[str, str]


def _unescape(s: str) -> str:
    return _ESC.sub(lambda m: {"n": "\n", "t": "\t", "\\": "\\"}[m.group(1)], s)


def read_lines(folder: Path) -> list[Row]:
    """The one-prompt-per-line files ``<folder>/<task>.txt``."""
    rows = []
    for task in TASKS:
        for line in (folder / f"{task}.txt").read_text(encoding="utf-8").splitlines():
            line = line.rstrip()
            if not line or line.startswith("# ") or line == "#":
                continue
            lang = "en"
            if line.startswith("@"):
                lang, line = line[1:].split(" ", 1)
            rows.append({"prompt": _unescape(line), "task": task, "lang": lang})
    return rows


def read_tagged(folder: Path) -> list[Row]:
    """Files of ``<task> [@lang] prompt`` lines: ``lang/<lang>.txt`` (one language a file) and
    ``topics/<topic>.txt`` (one kind of prompt a file, English unless a line says otherwise)."""
    rows = []
    for path in sorted(folder.glob("*.txt")):
        default = path.stem if len(path.stem) == 2 else "en"
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.rstrip()
            if not line or line.startswith("#"):
                continue
            task, rest = line.split(" ", 1)
            lang = default
            if rest.startswith("@"):
                lang, rest = rest[1:].split(" ", 1)
            if task not in TASKS:
                raise SystemExit(f"{path}: unknown task {task!r} in {line!r}")
            rows.append({"prompt": _unescape(rest), "task": task, "lang": lang})
    return rows


def read_pastes(folder: Path) -> list[Row]:
    """Whole prompts, one per file ``<task>--<lang>--<slug>.txt``, in name order."""
    rows = []
    for path in sorted(folder.glob("*.txt")):
        task, lang, _ = path.name.split("--", 2)
        if task not in TASKS:
            raise SystemExit(f"{path}: unknown task {task!r}")
        rows.append({"prompt": path.read_text(encoding="utf-8").strip("\n"), "task": task, "lang": lang})
    return rows


def read_material() -> dict[str, list[str]]:
    bodies: dict[str, list[str]] = {}
    for path in sorted((SRC / "material").glob("*.txt")):
        kind = path.name.split("--", 1)[0]
        bodies.setdefault(kind, []).append(path.read_text(encoding="utf-8"))
    return bodies


def read_requests() -> list[tuple[str, str, str, str]]:
    """(kind, task, lang, request) from src/requests.txt: ``<kind> <task> [@lang] request``."""
    out = []
    for line in (SRC / "requests.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, task, rest = line.split(" ", 2)
        lang = "en"
        if rest.startswith("@"):
            lang, rest = rest[1:].split(" ", 1)
        if task not in TASKS:
            raise SystemExit(f"requests.txt: unknown task {task!r} in {line!r}")
        out.append((kind, task, lang, rest))
    return out


def pasted(rng: random.Random) -> list[Row]:
    """Each request twice, over material of its kind, before, after or around it."""
    bodies = read_material()
    rows = []
    for kind, task, lang, req in read_requests():
        for _ in range(2):
            body = rng.choice(bodies[kind])
            # long pastes: the same material several times over (a big file, a long thread)
            body = body * rng.choice((1, 1, 2, 4))
            where = rng.choice(("before", "after", "after", "both"))
            if where == "before":
                prompt = f"{req}\n\n{body}"
            elif where == "after":
                prompt = f"{body}\n\n{req}"
            else:
                prompt = f"{req}:\n\n{body}\n\n{req}"
            rows.append({"prompt": prompt.strip("\n"), "task": task, "lang": lang})
    return rows


def unique(rows: Iterable[Row]) -> list[Row]:
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["prompt"] not in seen:
            seen.add(r["prompt"])
            out.append(r)
    return out


def render(rows: list[Row], prefix: str) -> str:
    """The JSONL text of ``rows``, numbered ``<prefix>-0001`` ..."""
    out = []
    for i, r in enumerate(rows, 1):
        rec = {"id": f"{prefix}-{i:04d}", "prompt": r["prompt"], "task": r["task"], "lang": r["lang"]}
        out.append(json.dumps(rec, ensure_ascii=False) + "\n")
    return "".join(out)


def _describe(rows: list[Row]) -> str:
    counts = {t: sum(r["task"] == t for r in rows) for t in TASKS}
    langs = sum(r["lang"] != "en" for r in rows)
    return f"{len(rows)} prompts ({counts}; non-English {langs})"


def build() -> tuple[list[Row], list[Row]]:
    train = unique(
        read_lines(SRC)
        + read_tagged(SRC / "lang")
        + read_tagged(SRC / "topics")
        + read_pastes(SRC / "pastes")
        + pasted(random.Random(SEED))
    )
    return train, unique(read_lines(VAL) + read_pastes(VAL / "pastes"))


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (sys.argv[1:] if argv is None else argv)
    train, val = build()
    if check:
        stale = [
            path.name
            for path, rows, prefix in ((TRAIN, train, "tr"), (VALIDATION, val, "va"))
            if not path.exists() or path.read_text(encoding="utf-8") != render(rows, prefix)
        ]
        print(
            f"out of date: {', '.join(stale)}" if stale else "train.jsonl and validation.jsonl are up to date"
        )
        return 1 if stale else 0
    others = [("validation", [r["prompt"] for r in val])]
    dev = find_dev()
    if dev is not None:
        others.append(("dev", [r["prompt"] for r in load_rows(dev)]))
    for name, path in (("external-val", EXTERNAL), ("heldout", HELDOUT)):
        if path.exists():
            others.append((name, [r["prompt"] for r in load_rows(path)]))
    bad = []
    for name, prompts in others:
        pairs = near_copies([r["prompt"] for r in train], prompts)
        bad += [f"{t[:70]!r} ~ {name} {o[:70]!r}" for t, o in pairs]
    if bad:
        print("training prompts too close to evaluation prompts:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 1
    TRAIN.write_text(render(train, "tr"), encoding="utf-8")
    VALIDATION.write_text(render(val, "va"), encoding="utf-8")
    print(f"wrote {TRAIN.name}: {_describe(train)}")
    print(f"wrote {VALIDATION.name}: {_describe(val)}")
    print("checked against: " + ", ".join(name for name, _ in others))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
