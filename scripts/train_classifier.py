"""Train the task classifier offline and write mesoclaw_tui/core/classifier_model.json.

Multinomial logistic regression over the features of ``classifier.extract_features``
(the exact function the runtime uses, so training and inference cannot drift), trained
with AdaGrad, L2 regularisation and feature dropout in pure Python, averaged over three
runs. Deterministic: fixed seeds, fixed order, no hash-order dependence in the output, so
the weights are regenerated bit for bit (``--check`` verifies that the shipped file is what
this script writes).

The curated lexicon (data/classifier/lexicon.txt) adds one shared feature per task for its
words; after training that feature's weights are added into each of its words' weights, so
the runtime needs no lexicon and words the training prompts never used still count.

Trained on data/classifier/train.jsonl only. Reported, never trained on:
- data/classifier/validation.jsonl, written apart from the training prompts (our own
  held-out set, the one to tune on);
- the dev set (../shared/data/classifier-dev.jsonl), a read-only check;
- data/classifier/external-val.jsonl, 700 prompts written by another author (about half not
  English): a validation set to study, never to copy from (the builder refuses near-copies);
- data/classifier/heldout.jsonl, an independent set written by someone who never saw the
  training data: ``benchmarks/classifier.py`` reports it; tuning on it is not allowed, so
  this script does not even read it.

    python3 scripts/train_classifier.py            # train, report, write weights
    python3 scripts/train_classifier.py --dry-run  # report only
    python3 scripts/train_classifier.py --check    # exit 1 if the shipped weights differ
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mesoclaw_tui.core import classifier  # noqa: E402

DATA = REPO / "data/classifier"
TRAIN = DATA / "train.jsonl"
VALIDATION = DATA / "validation.jsonl"
EXTERNAL = DATA / "external-val.jsonl"
HELDOUT = DATA / "heldout.jsonl"
LEXICON = DATA / "lexicon.txt"
OUT = REPO / "mesoclaw_tui/core" / classifier.MODEL_FILE
CLASSES = [t.value for t in classifier.TASKS]
DEV_NAME = "shared/data/classifier-dev.jsonl"
DEV_ENV = "MESOCLAW_CLASSIFIER_DEV"

SEED = 7
EPOCHS = 20
LEARNING_RATE = 0.5
L2 = 1e-2
MIN_COUNT = 2  # a feature must occur in this many training prompts (see train() for exceptions)
DROPOUT = 0.2  # see fit()
BALANCE = False
RUNS = 3  # models averaged (see train())
PRUNE = 0.02  # drop features whose centred weights are all smaller than this

Vec = dict[classifier.Key, float]
Row = dict[str, str]


def find_dev() -> Path | None:
    """The shared dev set: $MESOCLAW_CLASSIFIER_DEV, else shared/data/ beside a parent folder.

    The checkout may be /work/main or a worktree /work/wt/<name>; both find /work/shared.
    """
    env = os.environ.get(DEV_ENV)
    if env:
        return Path(env) if Path(env).exists() else None
    for parent in REPO.parents:
        if (parent / DEV_NAME).exists():
            return parent / DEV_NAME
    return None


def load_rows(path: Path = TRAIN) -> list[Row]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


_WORD = re.compile(r"\w+")
_STOP = frozenset(
    "a an the and or of to in on for with is are was what whats what's how do does did you i my me "
    "it this that can could would should there their be by at from about as".split()
)


def normalise(prompt: str) -> str:
    """Lowercase words only: the same prompt up to case, spacing and punctuation."""
    return " ".join(_WORD.findall(prompt.lower()))


def near_copies(prompts: Iterable[str], others: Iterable[str]) -> list[tuple[str, str]]:
    """(prompt, other) pairs where a prompt is a near-copy of another set's prompt.

    The same words (normalised), or a Jaccard overlap of content words >= 0.6 once there are
    enough of them for that to mean a copied sentence rather than a shared frame
    ("what does X stand for").
    """
    exact: dict[str, str] = {}
    sets: list[tuple[frozenset[str], str]] = []
    index: dict[str, list[int]] = {}
    for o in others:
        exact.setdefault(normalise(o), o)
        ws = frozenset(w for w in _WORD.findall(o.lower()) if w not in _STOP)
        for w in ws:
            index.setdefault(w, []).append(len(sets))
        sets.append((ws, o))
    found = []
    for p in prompts:
        hit = exact.get(normalise(p))
        if hit is None:
            ws = frozenset(w for w in _WORD.findall(p.lower()) if w not in _STOP)
            shared = Counter(i for w in ws for i in index.get(w, ()))
            for i, n in sorted(shared.items()):
                union = len(ws | sets[i][0])
                if union >= 4 and n / union >= 0.6:
                    hit = sets[i][1]
                    break
        if hit is not None:
            found.append((p, hit))
    return found


def load_lexicon(path: Path = LEXICON) -> dict[bytes, str]:
    """word -> "#lex:<task>" for every single-token word of the curated lexicon."""
    lex: dict[bytes, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        task, words = line.split(":", 1)
        assert task in CLASSES, task
        for word in words.split():
            toks = classifier.extract_features(word)
            tok = word.lower().encode()
            if tok in toks and lex.get(tok, "#lex:" + task) == "#lex:" + task:
                lex[tok] = "#lex:" + task
            else:
                lex.pop(tok, None)  # ambiguous between tasks, or not one token: leave it to the data
    return lex


def _foreign(key: classifier.Key) -> bool:
    """A word or word pair with a non-ASCII letter in it."""
    if isinstance(key, bytes):
        return not key.isascii()
    return isinstance(key, tuple) and not (key[0].isascii() and key[1].isascii())


def _with_lexicon(vec: Vec, lex: dict[bytes, str]) -> Vec:
    out = dict(vec)
    for k, v in vec.items():
        tag = lex.get(k) if isinstance(k, bytes) else None
        if tag:
            out[tag] = out.get(tag, 0.0) + v
    return out


Sample = tuple[Vec, int]
Weights = dict[classifier.Key, list[float]]


def featurise(rows: list[Row], lex: dict[bytes, str]) -> list[Sample]:
    """(features, class index) per prompt, rare features dropped."""
    data = [
        (_with_lexicon(classifier.extract_features(r["prompt"]), lex), CLASSES.index(r["task"])) for r in rows
    ]
    # Rare features mostly memorise; keep a word seen once only if it is a whole prompt ("hola")
    # or a non-English word (few prompts per language: a word seen once is still evidence).
    df: Counter = Counter()
    for vec, _ in data:
        df.update(vec.keys())
    keep = {k for k, c in df.items() if c >= MIN_COUNT or _foreign(k)} | set(lex.values())
    for vec, _ in data:
        if sum(1 for k in vec if isinstance(k, bytes)) <= 2:
            keep.update(vec)
    return [({k: v for k, v in vec.items() if k in keep}, y) for vec, y in data]


def fit(
    data: list[Sample], *, epochs: int, l2: float, seed: int, dropout: float = 0.0, balance: bool = False
) -> tuple[Weights, list[float]]:
    """Multinomial logistic regression by AdaGrad: (weights per feature, bias).

    ``dropout``: each feature of a prompt is left out of a step with this probability, so the
    model cannot lean on one word alone (another author's prompt may lack it). ``balance``:
    each class weighs the same in the loss, whatever its share of the training prompts.
    """
    n = len(CLASSES)
    w: Weights = {}
    g2: Weights = {}
    bias = [0.0] * n
    bias_g2 = [1e-8] * n
    rng = random.Random(seed)
    order = list(range(len(data)))
    counts = Counter(y for _, y in data)
    cw = [len(data) / (n * counts[c]) if balance and counts[c] else 1.0 for c in range(n)]
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            vec, y = data[i]
            if dropout:
                rand = rng.random
                vec = {k: v for k, v in vec.items() if rand() >= dropout}
            scores = bias[:]
            for k, v in vec.items():
                wk = w.get(k)
                if wk is not None:
                    for c in range(n):
                        scores[c] += wk[c] * v
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            z = sum(exps)
            grad = [e / z * cw[y] for e in exps]
            grad[y] -= cw[y]
            for c in range(n):
                bias_g2[c] += grad[c] ** 2
                bias[c] -= LEARNING_RATE * grad[c] / math.sqrt(bias_g2[c])
            for k, v in vec.items():
                wk = w.setdefault(k, [0.0] * n)
                gk = g2.setdefault(k, [1e-8] * n)
                for c in range(n):
                    g = grad[c] * v + l2 * wk[c]
                    gk[c] += g * g
                    wk[c] -= LEARNING_RATE * g / math.sqrt(gk[c])
    return w, bias


def fold_lexicon(w: Weights, lex: dict[bytes, str]) -> None:
    """Add each lexicon feature's weights into its words' and drop it.

    Scores are linear, so a word's vector plus its lexicon vector gives the same sums, and the
    runtime needs no lexicon at all.
    """
    for word, tag in lex.items():
        if tag in w:
            wk = w.setdefault(word, [0.0] * len(CLASSES))
            w[word] = [a + b for a, b in zip(wk, w[tag], strict=True)]
    for tag in set(lex.values()):
        w.pop(tag, None)


def average(runs: list[tuple[Weights, list[float]]]) -> tuple[Weights, list[float]]:
    """The mean of several models' weights and biases (a feature a model lacks counts as 0)."""
    n = len(CLASSES)
    zero = [0.0] * n
    keys = dict.fromkeys(k for w, _ in runs for k in w)  # first-seen order: no hash order
    w = {k: [sum(r[0].get(k, zero)[c] for r in runs) / len(runs) for c in range(n)] for k in keys}
    bias = [sum(r[1][c] for r in runs) / len(runs) for c in range(n)]
    return w, bias


def train(
    rows: list[Row],
    *,
    epochs: int = EPOCHS,
    l2: float = L2,
    seed: int = SEED,
    dropout: float = DROPOUT,
    balance: bool = BALANCE,
    runs: int = RUNS,
) -> dict:
    """The model file's content, trained on ``rows``.

    The average of ``runs`` models, each trained on its own shuffle of the prompts (and its
    own dropout): one model's weights depend on the order it happened to see the prompts in,
    which shows on prompts written by someone else; the average depends on it much less.
    """
    lex = load_lexicon()
    data = featurise(rows, lex)
    w, bias = average(
        [
            fit(data, epochs=epochs, l2=l2, seed=seed + i, dropout=dropout, balance=balance)
            for i in range(runs)
        ]
    )
    fold_lexicon(w, lex)
    # Softmax is unchanged by adding a constant to all classes: centre each vector so the
    # sign says "towards" or "away from" a class, then drop the near-zero ones. Weights are
    # written as integers in hundredths (the runtime's unit), which also keeps the file exact.
    scale = classifier.WEIGHT_SCALE
    n = len(CLASSES)
    weights = {}
    for k, wk in w.items():
        mean = sum(wk) / n
        centred = [round((x - mean) * scale) for x in wk]
        if max(abs(x) for x in centred) >= PRUNE * scale:
            weights[classifier.key_to_json(k)] = centred
    bmean = sum(bias) / n
    return {
        "classes": CLASSES,
        "scale": scale,
        "bias": [round((b - bmean) * scale) for b in bias],
        "weights": dict(sorted(weights.items())),
        "meta": {
            "trained_on": len(rows),
            "epochs": epochs,
            "l2": l2,
            "seed": seed,
            "dropout": dropout,
            "balance": balance,
            "runs": runs,
        },
    }


def accuracy(rows: list[dict[str, str]]) -> tuple[float, dict[str, float], list[tuple[str, str, str]]]:
    """Accuracy, per-class recall and the misses, with the currently installed model."""
    hits: Counter = Counter()
    total: Counter = Counter()
    misses = []
    for r in rows:
        got = classifier.classify(r["prompt"]).task.value
        total[r["task"]] += 1
        if got == r["task"]:
            hits[r["task"]] += 1
        else:
            misses.append((r["task"], got, r["prompt"]))
    acc = sum(hits.values()) / max(1, len(rows))
    recall = {c: hits[c] / total[c] for c in CLASSES if total[c]}
    return acc, recall, misses


def model_json(model: dict) -> str:
    """The weights file's exact text (``--check`` compares it byte for byte)."""
    return json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n"


def report(name: str, rows: list[Row], *, show_misses: bool) -> None:
    acc, recall, misses = accuracy(rows)
    print(
        f"{name}: accuracy {acc:.3f} on {len(rows)} prompts; recall "
        + ", ".join(f"{c} {v:.2f}" for c, v in recall.items())
    )
    if show_misses:
        for want, got, prompt in misses:
            print(f"  {want:>8} -> {got:<8} {prompt[:110]!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true", help="report accuracy, write nothing")
    ap.add_argument(
        "--check", action="store_true", help="exit 1 unless the shipped weights are what training writes"
    )
    ap.add_argument(
        "--show-misses",
        action="store_true",
        help="list the validation, dev and external-val prompts it gets wrong",
    )
    args = ap.parse_args(argv)

    rows = load_rows()
    model = train(rows)
    text = model_json(model)
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT.relative_to(REPO)} {'matches' if same else 'DIFFERS from'} a fresh training run")
        return 0 if same else 1
    classifier.load_model_data(model)
    print(f"trained on {len(rows)} prompts, {len(model['weights'])} features")
    report("validation", load_rows(VALIDATION), show_misses=args.show_misses)
    dev = find_dev()
    if dev is not None:
        report("dev (read-only check)", load_rows(dev), show_misses=args.show_misses)
    if EXTERNAL.exists():
        report("external-val", load_rows(EXTERNAL), show_misses=args.show_misses)
    if not args.dry_run:
        OUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUT.relative_to(REPO)} ({OUT.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
