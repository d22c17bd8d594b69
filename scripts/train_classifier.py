"""Train the task classifier offline and write mesoclaw_tui/core/classifier_model.json.

Multinomial logistic regression over the features of ``classifier.extract_features``
(the exact function the runtime uses, so training and inference cannot drift), trained
with AdaGrad and L2 regularisation in pure Python. Deterministic: fixed seed, fixed
order, no hash-order dependence in the output.

The curated lexicon (data/classifier/lexicon.txt) adds one shared feature per task for its
words; after training that feature's weights are added into each of its words' weights, so
the runtime needs no lexicon and words the training prompts never used still count.

Only the ``train`` part of data/classifier/train.jsonl is used (``is_heldout`` keeps ~15%
aside, by a stable hash of each prompt), so the held-out accuracy printed here and by
benchmarks/classifier.py is an honest estimate for the shipped weights. The dev set is never
read here.

    python3 scripts/train_classifier.py            # train, report held-out accuracy, write weights
    python3 scripts/train_classifier.py --dry-run  # report only
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import zlib
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mesoclaw_tui.core import classifier  # noqa: E402

TRAIN = REPO / "data/classifier/train.jsonl"
LEXICON = REPO / "data/classifier/lexicon.txt"
OUT = REPO / "mesoclaw_tui/core" / classifier.MODEL_FILE
CLASSES = [t.value for t in classifier.TASKS]
HOLDOUT_PERCENT = 15

SEED = 7
EPOCHS = 40
LEARNING_RATE = 0.5
L2 = 1e-3
MIN_COUNT = 2  # a feature must occur in this many training prompts (single-word prompts aside)
PRUNE = 0.02  # drop features whose centred weights are all smaller than this
DECIMALS = 3

Vec = dict[classifier.Key, float]


def is_heldout(prompt: str) -> bool:
    """A stable ~15% of the prompts, chosen by a hash of the text, never trained on."""
    return zlib.crc32(prompt.encode()) % 100 < HOLDOUT_PERCENT


def load_rows(path: Path = TRAIN) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def split(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    train = [r for r in rows if not is_heldout(r["prompt"])]
    held = [r for r in rows if is_heldout(r["prompt"])]
    return train, held


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


def _with_lexicon(vec: Vec, lex: dict[bytes, str]) -> Vec:
    out = dict(vec)
    for k, v in vec.items():
        tag = lex.get(k) if isinstance(k, bytes) else None
        if tag:
            out[tag] = out.get(tag, 0.0) + v
    return out


def train(rows: list[dict[str, str]], *, epochs: int = EPOCHS, l2: float = L2, seed: int = SEED) -> dict:
    lex = load_lexicon()
    data = [
        (_with_lexicon(classifier.extract_features(r["prompt"]), lex), CLASSES.index(r["task"])) for r in rows
    ]
    # Rare features mostly memorise; keep a word seen once only if it is a whole prompt ("hola").
    df: Counter = Counter()
    for vec, _ in data:
        df.update(vec.keys())
    keep = {k for k, c in df.items() if c >= MIN_COUNT} | set(lex.values())
    for vec, _ in data:
        if sum(1 for k in vec if isinstance(k, bytes)) <= 2:
            keep.update(vec)
    data = [({k: v for k, v in vec.items() if k in keep}, y) for vec, y in data]

    n = len(CLASSES)
    w: dict[classifier.Key, list[float]] = {}
    g2: dict[classifier.Key, list[float]] = {}
    bias = [0.0] * n
    bias_g2 = [1e-8] * n
    rng = random.Random(seed)
    order = list(range(len(data)))
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            vec, y = data[i]
            scores = bias[:]
            for k, v in vec.items():
                wk = w.get(k)
                if wk is not None:
                    for c in range(n):
                        scores[c] += wk[c] * v
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            z = sum(exps)
            grad = [e / z for e in exps]
            grad[y] -= 1.0
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

    # Fold the lexicon features into their words: scores are linear, so a word's vector plus
    # its lexicon vector gives the same sums, and the runtime needs no lexicon at all.
    for word, tag in lex.items():
        if tag in w:
            wk = w.setdefault(word, [0.0] * n)
            w[word] = [a + b for a, b in zip(wk, w[tag], strict=True)]
    for tag in set(lex.values()):
        w.pop(tag, None)

    # Softmax is unchanged by adding a constant to all classes: centre each vector so the
    # sign says "towards" or "away from" a class, then drop the near-zero ones.
    weights = {}
    for k, wk in w.items():
        mean = sum(wk) / n
        centred = [round(x - mean, DECIMALS) for x in wk]
        if max(abs(x) for x in centred) >= PRUNE:
            weights[classifier.key_to_json(k)] = centred
    bmean = sum(bias) / n
    return {
        "classes": CLASSES,
        "bias": [round(b - bmean, DECIMALS) for b in bias],
        "weights": dict(sorted(weights.items())),
        "meta": {"trained_on": len(rows), "epochs": epochs, "l2": l2, "seed": seed},
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true", help="report held-out accuracy, write nothing")
    ap.add_argument("--show-misses", action="store_true", help="list the held-out prompts it gets wrong")
    args = ap.parse_args(argv)

    rows = load_rows()
    train_rows, held = split(rows)
    model = train(train_rows)
    classifier.load_model_data(model)
    acc, recall, misses = accuracy(held)
    print(f"trained on {len(train_rows)} prompts, {len(model['weights'])} features")
    print(
        f"held-out accuracy {acc:.3f} on {len(held)} prompts; recall "
        + ", ".join(f"{c} {v:.2f}" for c, v in recall.items())
    )
    if args.show_misses:
        for want, got, prompt in misses:
            print(f"  {want:>8} -> {got:<8} {prompt[:110]!r}")
    if not args.dry_run:
        OUT.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {OUT.relative_to(REPO)} ({OUT.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
