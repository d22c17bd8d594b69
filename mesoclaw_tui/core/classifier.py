"""Prompt -> task type: a small linear model over words plus cheap structural features.

The router's budget for classify + route is ~20 us, so the hot path is built from C-level
primitives only: one ``bytes.translate`` (lowercase, digits -> 0, punctuation -> space),
one ``split``, and dictionary look-ups summed with ``map``/``zip``. No regex runs on plain
ASCII prompts, and nothing per token happens in Python bytecode.

The weights (multinomial logistic regression, trained offline by
``scripts/train_classifier.py`` from ``data/classifier/train.jsonl``) ship as
``classifier_model.json`` next to this file (integers, in hundredths) and are loaded
lazily on the first call.

Features, all whole-token (``classify`` is never ``class``):
- words, and word pairs among the first few words (the request's verb phrase);
- the first word (the user's verb: "write", "how", "summarize" ...), and when there is more
  than one sentence the first two words of the last one ("... I'm stuck. can you ...",
  "... wants to know: how long ..."): after a preamble, that is where the request is;
- which punctuation characters occur (``?``, ``(``, ``{``, ``=``, newline ...);
- a length bucket (fast prompts are short);
- structural flags: code fence, stack-trace lines, indented code; for pastes also file
  paths, SQL statements and code-dense punctuation;
- other scripts: Chinese and Japanese as characters and character pairs (and katakana
  loanwords whole), Korean as words (also without their particle: "코틀린에서" is "코틀린"
  too) and syllable pairs, and the first letters of long non-ASCII words as a stand-in for
  a stemmer (Russian, Hindi, Polish ... inflect their endings).
A curated per-task lexicon (``data/classifier/lexicon.txt``) is learned as a shared feature
and folded into the word weights by the trainer, so it costs nothing here.

Long prompts (a pasted article, log or file) are read as: the first and last lines at full
weight (that is where the user's own request sits; when one is a paragraph and the other a
short line, only the short one), a bounded head and tail of the body at
a weight that shrinks with its size, and cheap whole-text scans (``in``, ``count``) for the
structural flags. Cost is linear in the length and small beyond the bounded windows.

Conversation: with ``previous`` given, a short follow-up ("make it shorter", "otra",
"继续") keeps the previous task, and a short message the words leave unclear leans on it;
a clear new request ("write a haiku about rain") is classified on its own.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Iterable
from importlib import resources
from itertools import repeat
from typing import Any

from mesoclaw_tui.core.types import Classification, TaskType

__all__ = [
    "MODEL_FILE",
    "TASKS",
    "WEIGHT_SCALE",
    "classify",
    "extract_features",
    "key_to_json",
    "load_model_data",
]

MODEL_FILE = "classifier_model.json"

# Class order of every weight vector (the model file repeats it and is checked against it).
TASKS: tuple[TaskType, ...] = (
    TaskType.CODE,
    TaskType.GENERAL,
    TaskType.FAST,
    TaskType.CREATIVE,
    TaskType.ANALYSIS,
)
_NAMES: tuple[str, ...] = tuple(t.value for t in TASKS)
_N = len(TASKS)
_FAST = TASKS.index(TaskType.FAST)
# by member and by value, so a task name read back from storage works as well
_TASK_INDEX: dict[str, int] = {k: i for i, t in enumerate(TASKS) for k in (t, t.value)}

# A feature key is bytes (a word, or b"^" + the first words), a tuple of two words (a
# bigram), an int (a punctuation byte) or a str starting with "#" (a structural flag).
Key = bytes | tuple[bytes, bytes] | int | str

# --- tokenisation tables -------------------------------------------------------------------


def _make_tables() -> tuple[bytes, bytes]:
    table = bytearray(range(256))
    delete = bytearray()
    for b in range(128):
        c = chr(b)
        if "A" <= c <= "Z":
            table[b] = b + 32
        elif "1" <= c <= "9":
            table[b] = 0x30  # every digit is "0": "2023" and "1999" are the same token
        elif c.isalnum() or c == "_":
            pass  # "_" stays inside identifiers such as user_id or __init__
        else:
            table[b] = 0x20
        if (c.isalnum() or c == "_" or c.isspace()) and c != "\n":
            delete.append(b)
    delete.extend(range(128, 256))
    return bytes(table), bytes(delete)


_TABLE, _NOT_PUNCT = _make_tables()

# Non-ASCII punctuation that would otherwise glue itself to words ("¿qué", "«erreur»", "代码。").
# A character-class regex with a callback on the (few) matches: str.translate with a dict
# costs ~50 ns per character on non-ASCII text, this ~10.
_UNI_MAP = {c: " " for c in "¿¡«»—–…„‚‹›·•、：；「」『』【】〈〉《》～・\u3000\u00a0"} | {
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "，": ",",
    "。": ".",
    "？": "?",
    "！": "!",
    "（": "(",
    "）": ")",
}
_UNI_PUNCT = re.compile("[" + re.escape("".join(_UNI_MAP)) + "]")


def _uni_punct(m: re.Match[str]) -> str:
    return _UNI_MAP[m.group()]


# Chinese and Japanese are written without spaces: read them as characters and character pairs.
_CJK_MAX = 48  # CJK characters read per prompt (see _cjk_keys)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
_CJK_LEAD = re.compile(rb"[\xe3-\xed]")  # their UTF-8 lead bytes: a C scan, unlike max() over the bytes

# Length buckets by word count; the last bucket is open-ended.
_LEN_EDGES = (1, 2, 3, 5, 8, 14, 25, 50)
_LEN_KEYS = tuple(f"#len{i}" for i in range(len(_LEN_EDGES) + 1))
_LEN_OF = tuple(
    _LEN_KEYS[next((i for i, e in enumerate(_LEN_EDGES) if n <= e), len(_LEN_EDGES))]
    for n in range(_LEN_EDGES[-1] + 1)
)
_LEN_TOP = len(_LEN_OF)
_LEN_LAST = _LEN_KEYS[-1]

# Up to _SHORT characters, or _LONG on a single line, a prompt is read whole; anything
# longer is a paste, read as instruction lines + body (see the module docstring).
_SHORT = 200
_LONG = 600
_LINE = 200  # the longest first/last line counted as the user's instruction
_SENTENCE_ENDS = (". ", "? ", "! ", ": ")
_WINDOW = 2000  # head and tail of the body that are tokenised
_BODY_WEIGHT = 3.0  # the body's total weight is about this many instruction words

# Stack-trace lines of the common runtimes (checked on the lowercased bytes).
_TRACE_MARKS = (
    b"traceback (most recent call last)",
    b'\n  file "',
    b"\n\tat ",
    b"\n    at ",
    b"exception in thread",
    b"panic: ",
    b"npm err!",
    b"error[e0",
    b"segmentation fault",
)
_PATH = re.compile(
    rb"(?:^|[\s\"'(])(?:~|\.{1,2})?/[\w.-]+/[\w./-]+|[a-z]:\\[\w\\. -]+|\b[\w-]+\.(?:py|js|ts|tsx|jsx|go|rs|java|rb|php|cs|cpp|c|h|sh|yml|yaml|toml|json|sql|tf|kt|swift)\b"
)
_SQL = re.compile(
    rb"\bselect\b[^;]{1,400}?\bfrom\b|\b(?:insert into|update \w+ set|create table|alter table|delete from)\b"
)

_SIGNAL_OF_FLAG = {
    "#fence": "code fence",
    "#trace": "stack-trace lines",
    "#indent": "indented code lines",
    "#path": "file path",
    "#sql": "SQL statement",
    "#codechars": "dense code punctuation",
    "#paste": "long paste: request read from first/last lines",
}


def _words(text: str, with_stems: bool = True) -> tuple[list[bytes], bytes, list[bytes]]:
    """Whole-word tokens of ``text``, its lowercased bytes (for the structural checks) and the
    stems of its non-ASCII words (see _stems; none for ASCII or CJK text)."""
    if text.isascii():
        raw = text.encode()
        return raw.translate(_TABLE).split(), raw.lower(), []
    low = text.lower()
    raw = low.encode()
    # UTF-8 lead bytes of the punctuation in _UNI_MAP (C2, E2 80, E3, EF) and of CJK text
    # (E3..ED): accented Latin (C3 ..) has none of them, so it skips both regex scans.
    if b"\xc2" in raw or b"\xe2\x80" in raw or b"\xe3" in raw or b"\xef" in raw:
        low = _UNI_PUNCT.sub(_uni_punct, low)
        raw = low.encode()
    runs = _CJK.findall(low) if _CJK_LEAD.search(raw) else None
    if not runs:
        toks = raw.translate(_TABLE).split()
        return toks, raw, _stems(toks) if with_stems else []
    # the other words ("python" in "用python写一个函数") are read as usual
    toks = _cjk_keys(runs)
    toks += _CJK.sub(" ", low).encode().translate(_TABLE).split()
    return toks, raw, []


# Every character _CJK matches is three bytes in UTF-8, so on the encoded text these split
# it into characters and (overlapping) character pairs in C, with no str.encode per key.
_CJK_CHARS = re.compile(rb"...", re.S)
_CJK_PAIRS = re.compile(rb"(?=(......))...", re.S)
_KO_STEM = re.compile(
    "([\uac00-\ud7af]{2,}?)(?:에서|에게|한테|으로|이랑|하고|부터|까지|처럼|보다|로|를|을|이|가|은|는|랑|와|과|의|에|도|만)(?= |$)"
)
_KATAKANA = re.compile("[\u30a1-\u30fa\u30fc]{2,}")
_CJK_GAP = "\u3000"  # joins runs: a three-byte space, so pairs across a gap stay aligned


def _cjk_keys(runs: list[str]) -> list[bytes]:
    """Keys of the Chinese, Japanese and Korean runs of a prompt.

    Chinese and Japanese are written without spaces: read as characters and character pairs.
    Korean is written in words: read as words and syllable pairs (stem + ending). Characters
    and pairs are read from the first _CJK_MAX characters only (where the request usually is):
    each makes two keys, and a 200-character CJK prompt is as long as ~130 English words, so
    this keeps its cost near an English prompt's.
    """
    words = [r for r in runs if r[0] >= "\uac00"]
    keys = list(map(str.encode, words))
    if words:
        # Korean nouns carry their particle ("코틀린에서", "파이썬으로"): the noun alone is a key too
        keys += map(str.encode, _KO_STEM.findall(" ".join(words)))
    if len(words) < len(runs):
        cj = "".join([r for r in runs if r[0] < "\uac00"])
        keys += _CJK_CHARS.findall(cj[:_CJK_MAX].encode())
        # katakana words are loanwords read whole: "プレゼント" is a present, not "プ" as in "プログラム"
        keys += map(str.encode, _KATAKANA.findall(cj))
    keys += _CJK_PAIRS.findall(_CJK_GAP.join(runs)[:_CJK_MAX].encode())
    return keys


def _flags(low: bytes) -> tuple[str, ...]:
    """Structural flags: a handful of substring tests, each a C loop over the bytes."""
    flags = []
    if b"```" in low:
        flags.append("#fence")
    if b"\n" in low:
        if any(m in low for m in _TRACE_MARKS):
            flags.append("#trace")
        if b"\n    " in low or b"\n\t" in low:
            flags.append("#indent")
    elif b"error" in low:
        # a one-line error message as pasted from a terminal ("ModuleNotFoundError: ...")
        if b"error:" in low or b"error[" in low or b"err!" in low:
            flags.append("#trace")
    elif b"exception" in low and b"exception:" in low:
        flags.append("#trace")
    return tuple(flags)


def _paste_flags(low: bytes, window: bytes) -> list[str]:
    """Structural flags of a paste: substring tests over it all, regexes over bounded windows."""
    flags = list(_flags(low))
    if _SQL.search(window):
        flags.append("#sql")
    if _PATH.search(window):
        flags.append("#path")
    # Code is dense in ;{=( even when its words are ordinary English identifiers.
    dense = low.count(b";") + low.count(b"{") + low.count(b"=") + low.count(b"(")
    if dense * 40 > len(low):
        flags.append("#codechars")
    return flags


def _stems(toks: list[bytes]) -> list[bytes]:
    """Prefixes of the long non-ASCII words: "функцию" and "функция" share "~функ".

    Inflected languages (Russian, Polish, Turkish, Hindi ...) change word endings far more
    than English; a prefix of about four letters is a cheap stand-in for a stemmer. The
    cut is in bytes: 5 for Latin words with accents, 8 (4 letters) for two-byte scripts
    (Cyrillic, Greek, Arabic), 9 (3 letters) for three-byte ones (Devanagari, Thai).
    """
    out = []
    for t in toks:
        if t.isascii():
            continue
        cut = 5 if t[0] < 0x80 else 8 if t[0] < 0xE0 else 9
        if len(t) > cut + 1:
            while cut < len(t) and 0x80 <= t[cut] < 0xC0:  # not inside a letter's UTF-8 bytes
                cut += 1
            out.append(b"~" + t[:cut])
    return out


def _first_sentence(line: str) -> str:
    if len(line) <= _LINE:
        return line
    cuts = [i for i in (line.find(sep, 8, _LINE) for sep in _SENTENCE_ENDS) if i > 0]
    return line[: min(cuts) + 1] if cuts else line[:_LINE]


def _last_sentence(line: str) -> str:
    if len(line) <= _LINE:
        return line
    start = len(line) - _LINE
    cuts = [i for i in (line.rfind(sep, start, len(line) - 8) for sep in _SENTENCE_ENDS) if i > 0]
    return line[max(cuts) + 2 :] if cuts else line[-_LINE:]


_BIGRAM_SPAN = 3  # bigrams only among the first words: the request's verb phrase ("write a python")
_NO_FLAGS: tuple[str, ...] = ()
_FLAG_CHARS = frozenset(b"`\n:[!")


_SENTENCE_CHARS = frozenset(b".?!:")


def _last_sentence_keys(text: str) -> list[Key]:
    """The opening words of the last sentence, when there is more than one, as "$" keys.

    After a preamble ("my kid is doing a school project and wants to know: how long is ...",
    "... I'm stuck. can you turn it into a speech?") the last sentence is usually the request,
    and its first words ("how long", "can you") say more than the preamble's.
    """
    cut = max(map(text.rfind, _SENTENCE_ENDS, repeat(0), repeat(len(text) - 3)))
    if cut < 0:
        return []
    # room for two words; split at spaces only: Chinese and Japanese have none (skipped below)
    toks = text[cut + 2 : cut + 34].lower().encode().translate(_TABLE).split(None, 2)
    if not toks or toks[0][0] >= 0xE3:
        return []
    head = b"$" + toks[0]
    return [head, (head, toks[1])] if len(toks) > 1 else [head]


def _short_keys(text: str) -> tuple[list[Key], list[bytes], tuple[str, ...]]:
    """(keys, words, flags) of a prompt read whole. The hot path: no helper calls for ASCII."""
    if text.isascii():
        raw = text.encode()
        toks = raw.translate(_TABLE).split()
        keys: list[Key] = toks.copy()
    else:
        toks, raw, stems = _words(text)
        keys = toks + stems
    n = len(toks)
    if n:
        keys.extend(zip(toks[:_BIGRAM_SPAN], toks[1 : _BIGRAM_SPAN + 1], strict=False))
        keys.append(b"^" + toks[0])
    punct = set(raw.translate(None, _NOT_PUNCT))
    keys.extend(punct)
    keys.append(_LEN_OF[n] if n < _LEN_TOP else _LEN_LAST)
    if not punct.isdisjoint(_SENTENCE_CHARS):
        keys.extend(_last_sentence_keys(text))
    # Every structural flag needs a backtick, a newline, or an error line's ":" / "[" / "!":
    # test the punctuation set first, so plain prompts skip the substring scans.
    if not punct.isdisjoint(_FLAG_CHARS):
        flags = _flags(raw.lower())
        if flags:
            keys.extend(flags)
            return keys, toks, flags
    return keys, toks, _NO_FLAGS


def _paste_keys(text: str) -> tuple[list[Key], list[bytes], tuple[str, ...], list[bytes], float]:
    """(keys, words, flags, body words, body weight) of a paste.

    The first and last lines (or sentences) carry the request and count in full; the body
    only hints, with a total weight that grows like the square root of its size. When one
    of those lines is a paragraph and the other a short line, the short one is the request
    ("summarize this:" above an article, "what does this mean?" below a log) and the
    paragraph is only material.
    """
    n = len(text)
    stripped = text.strip()
    first_line = stripped[: _LINE * 2].split("\n", 1)[0]
    last_line = stripped[-_LINE * 2 :].rsplit("\n", 1)[-1]
    first = _first_sentence(first_line)
    last = _last_sentence(last_line)
    if (len(first_line) > _LINE) != (len(last_line) > _LINE):
        first = last = first if len(first_line) <= _LINE else last
    ftoks, flow, fstems = _words(first)
    keys: list[Key] = ftoks + fstems
    if ftoks:
        keys.extend(zip(ftoks[:_BIGRAM_SPAN], ftoks[1 : _BIGRAM_SPAN + 1], strict=False))
        keys.append(b"^" + ftoks[0])
    words = ftoks.copy()
    punct = flow.translate(None, _NOT_PUNCT)
    if last != first:
        ltoks, llow, lstems = _words(last)
        keys.extend(ltoks)
        keys.extend(lstems)
        keys.extend(zip(ltoks[:_BIGRAM_SPAN], ltoks[1 : _BIGRAM_SPAN + 1], strict=False))
        if ltoks:
            keys.append(b"$" + ltoks[0])
        words.extend(ltoks)
        punct += llow.translate(None, _NOT_PUNCT)
    keys.extend(set(punct))
    if n > 2 * _WINDOW:
        body, window, _ = _words(text[:_WINDOW] + "\n" + text[-_WINDOW:], False)
        # the flags see the whole text, not just the windows: bytes.lower() and `in` are
        # linear C loops, affordable even for a megabyte
        low = text.encode().lower() if text.isascii() else text.lower().encode()
    else:
        body, low, _ = _words(text, False)
        window = low
    if b"\n" in low:
        keys.append(10)
    flags = ("#paste", *_paste_flags(low, window))
    keys.extend(flags)
    scale = _BODY_WEIGHT / math.sqrt(len(body)) if body else 0.0
    return keys, words, flags, body, scale


def _is_short(text: str) -> bool:
    n = len(text)
    return n <= _SHORT or (n <= _LONG and "\n" not in text)


def extract_features(text: str) -> dict[Key, float]:
    """The feature vector the model sees, as {key: value}; used by the offline trainer."""
    vec: dict[Key, float] = {}
    if _is_short(text):
        keys, *_ = _short_keys(text)
        body: list[bytes] = []
        scale = 0.0
    else:
        keys, _, _, body, scale = _paste_keys(text)
    for k in keys:
        vec[k] = vec.get(k, 0.0) + 1.0
    for k in body:
        vec[k] = vec.get(k, 0.0) + scale
    return vec


# --- model file ----------------------------------------------------------------------------


def key_to_json(key: Key) -> str:
    """A feature key as a JSON object key: w:word, b:word word, p:char, or #flag."""
    if isinstance(key, bytes):
        return "w:" + key.decode()
    if isinstance(key, tuple):
        return "b:" + key[0].decode() + " " + key[1].decode()
    if isinstance(key, int):
        return "p:" + chr(key)
    return key


def _key_from_json(s: str) -> Key:
    tag, rest = s[:2], s[2:]
    if tag == "w:":
        return rest.encode()
    if tag == "b:":
        a, b = rest.split(" ", 1)
        return (a.encode(), b.encode())
    if tag == "p:":
        return ord(rest)
    return s


# Each key's five weights, in hundredths, are packed into one int, 32 bits per task, so that
# scoring a prompt is one C-level sum() of ints instead of five sums of floats. Python ints
# are exact, so negative weights need no care while packing; adding 2**31 to every field
# before unpacking keeps each field in [0, 2**32) as long as no sum reaches 2**31 (twenty
# million in weight units: far beyond any prompt, since the body is bounded).
_BITS = 32
WEIGHT_SCALE = 100  # the model file stores weights as integers in hundredths: finer changes no answer
_SCALE = WEIGHT_SCALE
_HALF = sum(1 << (_BITS * i + _BITS - 1) for i in range(_N))
_UNPACK = struct.Struct("<" + "I" * _N)
_NBYTES = _BITS * _N // 8


def _pack(weights: Iterable[int]) -> int:
    return sum(w << (_BITS * i) for i, w in enumerate(weights))


def _unpack(total: int) -> tuple[int, ...]:
    """Field sums, each offset by 2**31 (the offset cancels in the softmax's differences)."""
    return _UNPACK.unpack((total + _HALF).to_bytes(_NBYTES, "little"))


_CUE = _SCALE // 2  # a word pulling at least 0.5 towards a task may be named as its signal
_CUE_HEAD = 12  # words searched first for that cue
_NOT_CUES = (b"^", b"$", b"~")  # first-word and stem keys: not words a user would recognise


class _Model:
    __slots__ = ("bias", "packed", "cues")

    def __init__(self, data: dict[str, Any]) -> None:
        if tuple(data["classes"]) != _NAMES or data.get("scale") != _SCALE:
            raise ValueError(f"model classes {data['classes']} != {_NAMES} or scale != {_SCALE}")
        self.bias = _pack(data["bias"])
        # This runs on the first classify() of every process, over ~2.5 * 10^4 keys: comprehensions
        # rather than a loop with branches, and no per-key helper call for the words (most keys).
        items = data["weights"].items()
        words = [(k[2:].encode(), w) for k, w in items if k[:2] == "w:"]
        packed: dict[Key, int] = {
            key: a + (b << 32) + (c << 64) + (d << 96) + (e << 128) for key, (a, b, c, d, e) in words
        }
        packed.update(
            (_key_from_json(k), a + (b << 32) + (c << 64) + (d << 96) + (e << 128))
            for k, (a, b, c, d, e) in items
            if k[:2] != "w:"
        )
        self.packed = packed
        # Per task, the words pulling hard towards it ("traceback" -> code) that may be named as
        # the signal: a set to intersect with a prompt's words (one C loop) and their weights to
        # pick the strongest of the few that match. First-word and stem keys are not words.
        self.cues: tuple[tuple[frozenset[bytes], Any], ...] = tuple(
            (frozenset(strong), strong.__getitem__)
            for strong in (
                {key: w[i] for key, w in words if w[i] >= _CUE and not key.startswith(_NOT_CUES)}
                for i in range(_N)
            )
        )


_model: _Model | None = None


def _load() -> _Model:
    global _model
    if _model is None:
        text = resources.files(__package__).joinpath(MODEL_FILE).read_text(encoding="utf-8")
        _model = _Model(json.loads(text))
    return _model


def load_model_data(data: dict[str, Any]) -> None:
    """Install model weights from a dict (the trainer evaluates a fresh model with this)."""
    global _model
    _model = _Model(data)


# --- follow-ups ----------------------------------------------------------------------------

# A short message made only of these words refers back to the previous answer.
_FOLLOW_WORDS = frozenset(
    w.encode()
    for w in """
    a an the it its that this these those them one ones some few couple of to in on for with
    without and but or so then now also too just only again instead else other same please pls
    plz can could would will you u me my i we us do does did go on keep going next proceed more
    less bit little lot much way very really even still yes yeah yep yup sure ok okay alright
    great good fine cool nice perfect well
    another continue redo rewrite retry try make give show write add remove drop cut expand
    shorten lengthen elaborate explain fix change tweak polish rephrase reword edit improve clean
    up tighten tone down simplify summarize translate it version versions variant variation
    option options alternative shorter longer short long simpler simple easier funnier funny
    formal formally casual informal better different professional friendly polite warmer colder
    cuter darker lighter happier sadder stronger clearer concise brief briefer punchier catchier
    detail details detailed example examples bullet bullets points point list table sentence
    sentences words word paragraph paragraphs lines line verse stanza rhyme rhyming style
    half twice times what about how why
    sí si vale hazlo haz otra otro más mas corto corta largo continúa continua sigue de nuevo por
    favor vez eso esto oui encore une un autre plus court courte continue vas fais le la s il te
    plaît plait ça ca ja nochmal noch einmal mal eins einen eine kürzer länger weiter mach bitte es das
    sim outra outro mais curto continue faça faz isso ancora altra altro più breve fallo sì
    """.split()
)
# ... and at least one of them actually asks for something (so "ok cool" stays an acknowledgement).
_FOLLOW_CUES = frozenset(
    w.encode()
    for w in """
    it that this them those yes yeah yep yup sure please do go keep next proceed more less again
    another continue redo rewrite retry try make add remove drop cut expand shorten lengthen
    elaborate tweak polish rephrase reword edit improve tighten simplify version variant
    alternative shorter longer simpler funnier different instead same
    sí si hazlo otra otro más corto continúa continua sigue eso oui encore autre plus court
    continue fais ja nochmal noch einmal kürzer länger weiter mach sim outra outro mais curto faça isso
    ancora altra altro più breve fallo sì
    """.split()
)
_FOLLOW_CJK = re.compile(
    r"继续|再来|再写|再给|再一|短一|长一|换一|もっと|続け|もう一|もう少し|短く|長く|別の"
)
_FOLLOW_MAX_WORDS = 8
_FOLLOW_MAX_CHARS = 80


def _is_follow_up(text: str, toks: list[bytes]) -> bool:
    if _CJK.search(text):
        return len(text) <= 12 and _FOLLOW_CJK.search(text) is not None
    if not toks or len(toks) > _FOLLOW_MAX_WORDS:
        return False
    return _FOLLOW_WORDS.issuperset(toks) and not _FOLLOW_CUES.isdisjoint(toks)


# --- classify ------------------------------------------------------------------------------

_EXP = math.exp
_INV_SCALE = 1.0 / _SCALE
_BODY_OFFSET = 1 << (_BITS - 1)


def _paste_scores(text: str, get: Any, bias: int) -> tuple[tuple[float, ...], list[bytes], tuple[str, ...]]:
    """(scores, words, flags) of a paste: instruction lines in full, the body scaled down."""
    keys, words, flags, body, scale = _paste_keys(text)
    inst = _unpack(sum(map(get, keys, repeat(0)), bias))
    bsum = _unpack(sum(map(get, body, repeat(0))))
    return tuple(a + scale * (b - _BODY_OFFSET) for a, b in zip(inst, bsum, strict=True)), words, flags


def _with_previous(
    text: str, words: list[bytes], probs: list[float], best: int, prev: int
) -> tuple[list[float], int, tuple[str, ...] | None]:
    """Lean on the conversation's previous task for a short follow-up; signals None if not."""
    if _is_follow_up(text, words):
        # "make it shorter", "another one": keep the previous task; the scores still
        # show what the words alone would say.
        probs = [0.3 * p for p in probs]
        probs[prev] += 0.7
        return probs, prev, ("follow-up keeps previous task",)
    if prev != best and len(words) <= _FOLLOW_MAX_WORDS:
        # A short message the words do not settle ("now in javascript", "can you add
        # error handling") most likely continues the conversation; a clear new request
        # ("write a haiku about rain", "what is 2+2") keeps its own task.
        mixed = [0.6 * p for p in probs]
        mixed[prev] += 0.4
        if mixed[prev] > mixed[best]:
            return mixed, prev, ("short and unclear on its own: keeps previous task",)
    return probs, best, None


def _signals(model: _Model, best: int, words: list[bytes], flags: tuple[str, ...]) -> tuple[str, ...]:
    """Name what decided it: structural flags, then the clear cue word that pulled hardest."""
    cues, cue = model.cues[best]
    # the request usually opens the prompt: look there first, the rest only if needed
    hits = cues.intersection(words[:_CUE_HEAD])
    if not hits and len(words) > _CUE_HEAD:
        hits = cues.intersection(words)
    if hits:
        word = max(zip(map(cue, hits), hits, strict=True))[1]  # the strongest (ties: by the word)
        sig = f"word '{word.decode()}' -> {_NAMES[best]}"
        signals = (*map(_SIGNAL_OF_FLAG.__getitem__, flags), sig) if flags else (sig,)
    elif flags:
        signals = tuple(map(_SIGNAL_OF_FLAG.__getitem__, flags))
    else:
        signals = ("no single strong cue: overall wording",)
    if best == _FAST and len(words) <= 3:
        signals += ("short message",)
    return signals


def classify(text: str, *, previous: TaskType | None = None) -> Classification:
    """Classify one prompt; ``previous`` is the task of the conversation's last turn.

    Written flat on purpose: each helper call or comprehension costs a Python frame, and
    the router's whole budget is ~20 us. Only the rarer paths (pastes, follow-ups) and the
    signals are helpers.
    """
    model = _model or _load()
    n = len(text)
    if n <= _SHORT or (n <= _LONG and "\n" not in text):  # _is_short(), inlined
        keys, words, flags = _short_keys(text)
        total = sum(map(model.packed.get, keys, repeat(0)), model.bias)
        raw: tuple[float, ...] = _UNPACK.unpack((total + _HALF).to_bytes(_NBYTES, "little"))
    else:
        raw, words, flags = _paste_scores(text, model.packed.get, model.bias)

    # softmax over the five scores (in hundredths), unrolled
    r0, r1, r2, r3, r4 = raw
    top = max(raw)
    e0 = _EXP((r0 - top) * _INV_SCALE)
    e1 = _EXP((r1 - top) * _INV_SCALE)
    e2 = _EXP((r2 - top) * _INV_SCALE)
    e3 = _EXP((r3 - top) * _INV_SCALE)
    e4 = _EXP((r4 - top) * _INV_SCALE)
    inv = 1.0 / (e0 + e1 + e2 + e3 + e4)
    probs = [e0 * inv, e1 * inv, e2 * inv, e3 * inv, e4 * inv]
    best = raw.index(top)

    signals = None
    prev = _TASK_INDEX.get(previous, -1) if previous is not None else -1  # unknown: ignored
    if prev >= 0 and n <= _FOLLOW_MAX_CHARS:
        probs, best, signals = _with_previous(text, words, probs, best, prev)
    if signals is None:
        signals = _signals(model, best, words, flags)

    rest = probs.copy()
    rest[best] = -1.0
    # positional: task, signals, confidence, runner_up, scores
    return Classification(
        TASKS[best],
        signals,
        probs[best],
        TASKS[rest.index(max(rest))],
        {"code": probs[0], "general": probs[1], "fast": probs[2], "creative": probs[3], "analysis": probs[4]},
    )
