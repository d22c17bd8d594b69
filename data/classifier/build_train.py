"""Build data/classifier/train.jsonl from the hand-written prompts in data/classifier/src/.

Each src/<task>.txt holds one prompt per line ("# " comments, "@xx " language prefix,
"\\n" for a newline, "\\\\" for a backslash). On top of those, a small, deterministic set of
*pasted* prompts is assembled from hand-written bodies (articles, emails, code, logs, data)
and hand-written requests placed before and/or after them, so the model learns that the
user's request, not the pasted material, decides the task.

The dev set is never read for training; if it is present, this script only checks that no
training prompt is a near-copy of a dev prompt (word-set Jaccard), and fails if one is.

    python3 data/classifier/build_train.py
"""

from __future__ import annotations

import json
import random
import re
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
OUT = HERE / "train.jsonl"
DEV = HERE.parents[1].parent / "shared/data/classifier-dev.jsonl"
TASKS = ("code", "general", "fast", "creative", "analysis")
HOLDOUT_PERCENT = 15
SEED = 20240611

_ESC = re.compile(r"\\(n|t|\\)")


def _unescape(s: str) -> str:
    return _ESC.sub(lambda m: {"n": "\n", "t": "\t", "\\": "\\"}[m.group(1)], s)


def read_src() -> list[dict[str, str]]:
    rows = []
    for task in TASKS:
        for line in (SRC / f"{task}.txt").read_text(encoding="utf-8").splitlines():
            line = line.rstrip()
            if not line or line.startswith("# "):
                continue
            lang = "en"
            if line.startswith("@"):
                lang, line = line[1:].split(" ", 1)
            rows.append({"prompt": _unescape(line), "task": task, "lang": lang})
    return rows


# --- pasted material -------------------------------------------------------------------------

ARTICLES = [
    "The city council voted 7-2 on Tuesday to convert the old rail yard into a mixed-use district. "
    "Supporters say the plan will add 1,200 homes and a park; opponents worry about traffic on Harbor "
    "Street and the loss of the last industrial jobs in the area. Construction is expected to start in "
    "spring and take six years. The developer has promised that 20% of units will be affordable, but the "
    "agreement does not say for how long.",
    "Researchers followed 4,000 adults for ten years and found that those who walked at least 7,000 steps "
    "a day had a 30% lower risk of early death than those who walked fewer than 4,000. The benefit leveled "
    "off above 10,000 steps. The study was observational, so it cannot prove that walking itself caused the "
    "difference; people who walk more may also be healthier in other ways.",
    "Our quarterly town hall covered three topics. First, the new expense tool goes live on the 1st and old "
    "receipts must be submitted before then. Second, the parking garage will be closed for repairs for two "
    "weeks in May. Third, leadership announced that the annual bonus will be paid in two parts this year, "
    "half in March and half in September, depending on second-half results.",
    "Once upon a time, in a village at the edge of a salt marsh, lived a ferryman who had never left the "
    "river. Every morning he carried merchants across, and every evening he carried them back. One winter "
    "the river froze, and for the first time in forty years nobody needed him. He walked across the ice to "
    "the other bank and found that the town there had a statue of him in the square.",
    "Terms of service, section 4: The subscriber may cancel at any time. Refunds are provided on a pro-rata "
    "basis for annual plans only. Monthly plans are non-refundable. The company may change prices with 30 "
    "days' notice by email. Continued use after a price change constitutes acceptance. Data is retained for "
    "90 days after cancellation and then permanently deleted.",
    "Hi all, quick update from the venue: the hall can hold 120 people seated, catering must be booked "
    "through their approved list, and we need to be out by 11pm. They asked for a deposit of $1,500 by the "
    "end of the month. The cheaper Saturday slot is gone, so it's either Friday evening or Sunday afternoon. "
    "Let me know what you all prefer. Thanks, Dana",
    "Dear customer, we regret to inform you that your order #48213 has been delayed due to unforeseen supply "
    "issues. The estimated delivery date is now three weeks later than originally promised. If you would "
    "like to cancel, please reply to this email. We apologise for the inconvenience. Kind regards, the "
    "customer service team",
    "Minutes: Attendees: Priya, Tom, Alex, Mei. Priya reported that the pilot in the two northern stores "
    "raised basket size by 6% but checkout times went up by 40 seconds. Tom thinks staff training will fix "
    "the checkout times. Alex is worried the 6% is a holiday effect. Mei proposed extending the pilot to "
    "one more store before deciding. No decision was taken; to be revisited next week.",
    "The Industrial Revolution transformed not only how goods were produced but how people lived. Within "
    "two generations, millions moved from farms to cities, working hours were set by factory clocks rather "
    "than by daylight, and child labour became widespread before reformers pushed back. Historians still "
    "debate whether living standards for ordinary workers rose or fell in the first fifty years.",
    "Product review: I bought this blender because of the reviews. It is powerful and crushes ice easily, but "
    "it is very loud and the lid leaks if you fill it past the 1 litre line. Customer service replaced the "
    "lid once but the new one leaks too. For smoothies it's great, for soups it's a mess. Three stars.",
]

CODE_BODIES = [
    "def load_users(path):\n    users = []\n    with open(path) as f:\n        for line in f:\n"
    "            name, age = line.split(',')\n            users.append({'name': name, 'age': int(age)})\n"
    "    return users\n\n\ndef oldest(users):\n    return max(users, key=lambda u: u['age'])\n",
    "function renderList(items) {\n  const ul = document.createElement('ul');\n  for (var i = 0; i < items.length; i++) {\n"
    "    const li = document.createElement('li');\n    li.textContent = items[i].title;\n"
    "    li.onclick = function () { alert(i); };\n    ul.appendChild(li);\n  }\n  return ul;\n}\n",
    "SELECT c.name, SUM(o.total) AS spent\nFROM customers c\nJOIN orders o ON o.customer_id = c.id\n"
    "WHERE o.created_at > NOW() - INTERVAL '30 days'\nGROUP BY c.name\nORDER BY spent DESC;\n",
    "version: '3.8'\nservices:\n  web:\n    build: .\n    ports:\n      - \"8000:8000\"\n    depends_on:\n"
    "      - db\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: example\n",
    'package main\n\nimport "fmt"\n\nfunc main() {\n\tch := make(chan int)\n\tgo func() {\n'
    "\t\tfor i := 0; i < 5; i++ {\n\t\t\tch <- i\n\t\t}\n\t}()\n\tfor v := range ch {\n\t\tfmt.Println(v)\n\t}\n}\n",
    "public class Counter {\n    private int count = 0;\n    public void increment() { count++; }\n"
    "    public int get() { return count; }\n}\n",
]

LOGS = [
    'Traceback (most recent call last):\n  File "/srv/app/worker.py", line 88, in run\n    job = queue.get(timeout=5)\n'
    '  File "/usr/lib/python3.11/queue.py", line 179, in get\n    raise Empty\n_queue.Empty\n',
    "2024-05-02 10:14:03 ERROR [http-nio-8080-exec-3] o.a.c.c.C.[.[.[/].[dispatcherServlet] : Servlet.service() threw exception\n"
    "java.lang.IllegalStateException: Connection pool shut down\n\tat org.apache.http.util.Asserts.check(Asserts.java:34)\n"
    "\tat com.acme.billing.Client.send(Client.java:112)\n",
    "npm ERR! code ELIFECYCLE\nnpm ERR! errno 1\nnpm ERR! web@1.0.0 build: `next build`\nnpm ERR! Exit status 1\n"
    "npm ERR! Failed at the web@1.0.0 build script.\n",
    "May 02 09:12:44 host systemd[1]: myapp.service: Main process exited, code=exited, status=203/EXEC\n"
    "May 02 09:12:44 host systemd[1]: myapp.service: Failed with result 'exit-code'.\n"
    "May 02 09:12:49 host systemd[1]: myapp.service: Scheduled restart job, restart counter is at 5.\n",
]

TABLES = [
    "month,visitors,signups,revenue\njan,12000,340,8200\nfeb,11800,310,7900\nmar,15100,290,7600\n"
    "apr,16900,300,8100\nmay,17400,410,10900\n",
    "region | q1 | q2 | q3 | q4\nnorth | 120 | 135 | 128 | 160\nsouth | 98 | 91 | 87 | 80\n"
    "east | 143 | 150 | 149 | 171\nwest | 60 | 75 | 92 | 118\n",
]

# requests to put before/after pasted material, per task, per kind of material
REQUESTS: dict[str, dict[str, list[str]]] = {
    "text": {
        "analysis": [
            "summarize this in three bullet points",
            "what are the main arguments here, and which one is weakest?",
            "tl;dr please",
            "can you summarize the key points and any open questions",
            "what is the author assuming without saying it?",
            "analyze the tone of this and who it is written for",
            "summarize the text above and list the decisions that still need to be made",
        ],
        "general": [
            "write a polite reply to this saying we'll take the friday slot",
            "help me respond to this email, i want to cancel but stay friendly",
            "draft a short reply thanking them and asking for a refund instead",
            "how should i answer this? write the email for me",
        ],
        "creative": [
            "turn this into a funny poem",
            "rewrite this as a fairy tale for kids",
            "write a short story inspired by this",
            "make this into song lyrics",
        ],
    },
    "code": {
        "code": [
            "what does this code do?",
            "can you find the bug in this",
            "refactor this and add type hints",
            "why doesn't this work?",
            "review this and tell me what you'd change",
            "write unit tests for this",
            "explain this line by line",
            "convert this to typescript",
        ],
        "creative": [
            "write a haiku about this code",
            "write a funny poem about this function",
        ],
    },
    "log": {
        "code": [
            "what's wrong here and how do i fix it",
            "our service keeps crashing with this, any idea?",
            "what does this error mean",
            "help, this happens every time i deploy",
        ],
    },
    "table": {
        "analysis": [
            "what trends do you see in this data",
            "interpret these numbers for me, what stands out?",
            "which region is improving fastest and why might that be",
            "is there anything worrying in this?",
        ],
        "code": [
            "write python code to plot this with matplotlib",
            "write a sql query that would produce this table from an orders table",
        ],
    },
}


def pasted(rng: random.Random) -> list[dict[str, str]]:
    kinds = {"text": ARTICLES, "code": CODE_BODIES, "log": LOGS, "table": TABLES}
    rows = []
    for kind, by_task in REQUESTS.items():
        for task, requests in by_task.items():
            for req in requests:
                for _ in range(2):
                    body = rng.choice(kinds[kind])
                    # long pastes: the same material several times over (a big file, a long thread)
                    body = body * rng.choice((1, 1, 2, 4))
                    where = rng.choice(("before", "after", "both"))
                    if where == "before":
                        prompt = f"{req}\n\n{body}"
                    elif where == "after":
                        prompt = f"{body}\n\n{req}"
                    else:
                        prompt = f"{req}:\n\n{body}\n\nagain, {req}"
                    rows.append({"prompt": prompt, "task": task, "lang": "en"})
    return rows


# --- checks ----------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


_STOP = frozenset(
    "a an the and or of to in on for with is are was what whats what's how do does did you i my me "
    "it this that can could would should there their be by at from about as".split()
)


def _wordset(s: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(s.lower()) if w not in _STOP)


def check_against_dev(rows: list[dict[str, str]]) -> list[str]:
    """Near-copies of dev prompts; the dev set is never trained on.

    Flags the same words, or a Jaccard overlap of content words >= 0.6 once there are enough of
    them for that to mean a copied sentence rather than a shared frame ("what does X stand for").
    """
    if not DEV.exists():
        return []
    dev = [json.loads(line)["prompt"] for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    dev_sets = [(_wordset(d), d) for d in dev]
    bad = []
    for r in rows:
        ws = _wordset(r["prompt"])
        norm = _WORD.findall(r["prompt"].lower())
        for ds, d in dev_sets:
            union = len(ws | ds)
            if norm == _WORD.findall(d.lower()) or (union >= 4 and len(ws & ds) / union >= 0.6):
                bad.append(f"{r['prompt'][:70]!r} ~ dev {d[:70]!r}")
    return bad


def is_heldout(prompt: str) -> bool:
    """Same rule as scripts/train_classifier.py: a stable hash of the prompt, ~15% held out."""
    return zlib.crc32(prompt.encode()) % 100 < HOLDOUT_PERCENT


def main() -> int:
    rng = random.Random(SEED)
    rows = read_src() + pasted(rng)
    seen: set[str] = set()
    unique = []
    for r in rows:
        if r["prompt"] not in seen:
            seen.add(r["prompt"])
            unique.append(r)
    bad = check_against_dev(unique)
    if bad:
        print("training prompts too close to dev prompts:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 1
    with OUT.open("w", encoding="utf-8") as f:
        for i, r in enumerate(unique, 1):
            rec = {"id": f"tr-{i:04d}", "prompt": r["prompt"], "task": r["task"], "lang": r["lang"]}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    counts = {t: sum(r["task"] == t for r in unique) for t in TASKS}
    langs = sum(r["lang"] != "en" for r in unique)
    held = sum(is_heldout(r["prompt"]) for r in unique)
    print(f"wrote {len(unique)} prompts to {OUT} ({counts}; non-English {langs}; held-out {held})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
