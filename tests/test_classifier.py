"""Behaviour of the task classifier as a user of the router would notice it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from mesoclaw_tui.core import classifier
from mesoclaw_tui.core.classifier import classify
from mesoclaw_tui.core.types import Classification, TaskType
from scripts import train_classifier

CODE, GENERAL, FAST, CREATIVE, ANALYSIS = (
    TaskType.CODE,
    TaskType.GENERAL,
    TaskType.FAST,
    TaskType.CREATIVE,
    TaskType.ANALYSIS,
)
DEV = train_classifier.find_dev()


def task(text: str, previous: TaskType | None = None) -> TaskType:
    return classify(text, previous=previous).task


# --- whole words, not substrings -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "classify these emails by urgency",  # "class" is inside "classify"
        "please categorize these support tickets by urgency: refund request, login broken, feature idea",
        "what does the word 'encode' mean in everyday english",  # "code" is inside "encode"
        "my grandma's recipe book has a coded message in the margins, help me make sense of the shopping list",
    ],
)
def test_substrings_of_code_words_do_not_make_code(text: str) -> None:
    assert task(text) != CODE


# --- keyword traps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write a python function that removes duplicate rows from a csv", CODE),
        ("write me a small bash loop that pings every host in hosts.txt", CODE),
        ('explain this error: TypeError: can only concatenate str (not "int") to str', CODE),
        ("explain what a closure is in javascript", CODE),
        ("speech for my 25 year class reunion, funny and a bit nostalgic", CREATIVE),
        ("a limerick about my yoga class", CREATIVE),
        ("write a short story about a lighthouse keeper's last night on the job", CREATIVE),
        (
            "summarize this story's themes: a fisherman spends his life chasing one fish and lets it go",
            ANALYSIS,
        ),
        ("explain in depth how interest rates affect house prices", ANALYSIS),
        ("write an email to my landlord asking when the broken window will be fixed", GENERAL),
        ("design a weekly chore chart for my two teenagers", GENERAL),
        ("a haiku about tea", CREATIVE),
        ("haiku about a rainy bus stop", CREATIVE),
        ("capital of portugal?", FAST),
        ("how many grams in a kilogram", FAST),
        ("thank you!", FAST),
        ("good morning", FAST),
    ],
)
def test_keyword_traps(text: str, expected: TaskType) -> None:
    assert task(text) is expected


# --- conversations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        ("yes, do it", CODE),
        ("make it shorter", CREATIVE),
        ("another one", CREATIVE),
        ("continue", ANALYSIS),
        ("shorter please", GENERAL),
        ("make it funnier", CREATIVE),
        ("can you make it more formal?", GENERAL),
        ("otra, por favor", CREATIVE),
        ("encore une", CREATIVE),
        ("noch einmal bitte", CREATIVE),
        ("继续", ANALYSIS),
        ("もっと短くして", CREATIVE),
    ],
)
def test_short_follow_up_keeps_previous_task(text: str, previous: TaskType) -> None:
    c = classify(text, previous=previous)
    assert c.task is previous
    assert "follow-up keeps previous task" in c.signals


@pytest.mark.parametrize(
    ("text", "previous", "expected"),
    [
        ("write a haiku about rain", CODE, CREATIVE),
        ("what is 2+2", CREATIVE, FAST),
        ("write a python script that renames my photos by date", CREATIVE, CODE),
        ("thanks, that's all", CODE, FAST),
    ],
)
def test_self_contained_request_is_not_forced_to_previous(
    text: str, previous: TaskType, expected: TaskType
) -> None:
    c = classify(text, previous=previous)
    assert c.task is expected
    assert "follow-up keeps previous task" not in c.signals


def test_unclear_short_message_leans_on_the_conversation() -> None:
    assert task("now in javascript", previous=CODE) is CODE


def test_follow_up_without_previous_is_classified_on_its_own() -> None:
    c = classify("make it shorter")
    assert "follow-up keeps previous task" not in c.signals


# --- pasted material -------------------------------------------------------------------------

ARTICLE = (
    "The regional transit authority announced on Monday that it will cut service on four bus "
    "lines starting next quarter, citing a budget gap of twelve million dollars. Riders' groups "
    "said the cuts fall hardest on night-shift workers, while the authority argued that the lines "
    "carry fewer than ten passengers an hour after 9pm. A public hearing is scheduled for May.\n"
)
CODE_PASTE = (
    "import os\nimport sys\n\n\ndef main(argv):\n    total = 0\n    for name in os.listdir(argv[1]):\n"
    "        if name.endswith('.log'):\n            total += os.path.getsize(os.path.join(argv[1], name))\n"
    "    print(total)\n\n\nif __name__ == '__main__':\n    main(sys.argv)\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ARTICLE * 30 + "\nwrite a funny haiku about this", CREATIVE),
        (ARTICLE * 30 + "\nsummarize the above in two sentences", ANALYSIS),
        ("summarize this for me:\n\n" + ARTICLE * 30, ANALYSIS),
        (
            ARTICLE * 10 + "\nreply to this politely, I can't make the hearing but want to send comments",
            GENERAL,
        ),
        (CODE_PASTE * 20 + "\nwhat does this do?", CODE),
        ("can you find the bug here\n\n" + CODE_PASTE, CODE),
        (
            'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n'
            "    import requests\nModuleNotFoundError: No module named 'requests'\n" * 40,
            CODE,
        ),
    ],
)
def test_long_paste_is_read_through_the_users_request(text: str, expected: TaskType) -> None:
    c = classify(text)
    assert c.task is expected
    assert "long paste: request read from first/last lines" in c.signals


def test_megabyte_prompt_is_fast() -> None:
    text = ARTICLE * (1_000_000 // len(ARTICLE)) + "\nwhat are the main arguments on each side?"
    classify("warm up")
    # CPU time of this thread: what classifying costs, whatever else the machine's cores are busy with.
    t0 = time.thread_time()
    c = classify(text)
    elapsed = time.thread_time() - t0
    assert c.task is ANALYSIS
    assert elapsed < 0.05, f"{elapsed * 1000:.1f} ms for 1 MB"


# --- other languages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Escribe un poema corto sobre la luna", CREATIVE),
        ("¿Cómo quito el óxido de una bicicleta?", GENERAL),
        ("écris une fonction python qui inverse une chaîne", CODE),
        ("Quelle est la capitale du Japon ?", FAST),
        ("Vergleiche die Vor- und Nachteile von Solarenergie und Windkraft", ANALYSIS),
        ("写一个Python函数来反转字符串", CODE),
        ("東京の人口は？", FAST),
        ("Come posso togliere la muffa dal muro del bagno?", GENERAL),
    ],
)
def test_non_english_prompts(text: str, expected: TaskType) -> None:
    assert task(text) is expected


# --- prompts unlike the dev set (each of these went wrong before the data grew) ---------------


@pytest.mark.parametrize(
    "text",
    [
        "what should we call our new hiking podcast? a few options",
        "suggest a name for my pottery shop",
        "band names",
        "best man speech for my old army buddy",
        "напиши тост на день рождения мамы",
        "बेटी के जन्मदिन पर एक कविता लिखो",
    ],
)
def test_naming_speeches_and_toasts_are_creative(text: str) -> None:
    assert task(text) is CREATIVE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("생일 축하 시 써줘", CREATIVE),
        ("내일 면접인데 뭘 준비해야 할까?", GENERAL),
        ("겨울에 난방비 줄이는 방법", GENERAL),
        ("한국과 일본의 교육 제도를 비교해줘", ANALYSIS),
        ("파이썬에서 파일 읽는 코드 알려줘", CODE),
        ("자바스크립트에서 배열 정렬하는 방법", CODE),
    ],
)
def test_korean_prompts(text: str, expected: TaskType) -> None:
    assert task(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("напиши стихи про море", CREATIVE),
        ("придумай название для магазина цветов", CREATIVE),
        ("сравни плюсы и минусы ипотеки и аренды", ANALYSIS),
        ("как научиться плавать взрослому?", GENERAL),
        ("बच्चे को सुबह जल्दी कैसे उठाएं?", GENERAL),
        ("पायथन में डिक्शनरी कैसे बनाते हैं?", CODE),
    ],
)
def test_russian_and_hindi_prompts(text: str, expected: TaskType) -> None:
    assert task(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kubectl", CODE),
        ("dockerfile", CODE),
        ("limerick", CREATIVE),
        ("slogan pls", CREATIVE),
        ("tl;dr", ANALYSIS),
        ("keynes vs friedman", ANALYSIS),
        ("meal plan", GENERAL),
        ("gift ideas for a 10 year old", GENERAL),
    ],
)
def test_one_word_and_very_short_prompts(text: str, expected: TaskType) -> None:
    assert task(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # about a task: advice
        ("is learning rust worth it for a frontend developer's career", GENERAL),
        ("best books for learning to write jokes", GENERAL),
        ("which is better for learning to code, a course or a book", GENERAL),
        ("what's a good way to learn SQL?", GENERAL),
        # doing it
        ("write SQL that lists customers with no orders", CODE),
        ("write a limerick about a failing unit test", CREATIVE),
    ],
)
def test_prompts_about_a_task_are_advice_not_the_task(text: str, expected: TaskType) -> None:
    assert task(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in my novel-writing app, how do I save drafts to localStorage every 30 seconds?", CODE),
        ("write a script that picks a random poem from a folder and emails it to me", CODE),
        ("write a haiku about `rm -rf /`", CREATIVE),
        ("a bedtime story for my daughter starring a friendly bug that lives in my code", CREATIVE),
    ],
)
def test_mixed_code_and_prose_go_by_the_request(text: str, expected: TaskType) -> None:
    assert task(text) is expected


NOTES = (
    "Necesito un discurso para la jubilación de mi compañera. Datos:\n"
    "- Se llama Carmen, ha trabajado 32 años en la biblioteca municipal\n"
    "- Organizó el club de lectura de los jueves durante 20 años\n"
    "- Siempre tenía caramelos en el cajón para los lectores más pequeños\n"
    "- Le encantan los gatos y las novelas policiacas\n"
    "- Se va a vivir cerca del mar con su marido\n"
    "Que sea emotivo pero con algo de humor, unos tres minutos."
)
SILLY_CODE = "def is_even(n):\n" + "".join(
    f"    {'if' if i == 0 else 'elif'} n == {i}:\n        return {i % 2 == 0}\n" for i in range(8)
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NOTES, CREATIVE),
        (
            SILLY_CODE
            + "\na colleague committed this. write a limerick roasting it (gently) for our team channel",
            CREATIVE,
        ),
        (
            "이 글의 핵심 주장을 요약하고 약점을 지적해줘.\n\n"
            + "재택근무는 생산성을 높인다는 주장이 있다. " * 20,
            ANALYSIS,
        ),
    ],
)
def test_pastes_with_the_request_at_either_end(text: str, expected: TaskType) -> None:
    assert task(text) is expected


# --- prompts written the way other people write them (each of these went wrong before the
# training set grew past the first author's habits; none is in the training data) ------------


@pytest.mark.parametrize(
    "text",
    [
        "need words for a plaque on the bench we're donating in memory of my aunt, she walked her dogs there every morning",
        "need something to read at my coworker's leaving drinks, she ran the post room for 19 years and knew everyone's coffee order",
        "I want to surprise my husband with a letter for our 15th anniversary, we met at a bus stop in the rain. help me write it?",
        "what could we call our new family group chat? there are three generations in it",
        "Ho bisogno di un discorso per la festa di pensione di mio padre, ha fatto il ferroviere per 40 anni",
        "Pour le mariage de mon meilleur ami je dois faire un petit discours, on s'est connus au lycée en cours de chimie",
    ],
)
def test_creative_request_wrapped_in_its_backstory_is_creative(text: str) -> None:
    """The occasion's everyday words (wedding, coworker, anniversary) do not make it advice."""
    assert task(text) is CREATIVE


@pytest.mark.parametrize(
    "text",
    [
        'sorting out my late father\'s paperwork and a letter says "probate". what does that mean, briefly?',
        'on a train in Italy and the ticket says "binario". what is that?',
        'the invoice says "VAT reg no". what\'s VAT short for?',
        'Kurze Frage, ich lese gerade einen Mietvertrag: was bedeutet "Kaution" auf Englisch?',
        'Ich schreibe gerade eine Karte: schreibt man "Alles Gute" groß oder klein?',
        'estoy escribiendo un correo formal y dudo: ¿se escribe "a parte" o "aparte"?',
        "회의록 쓰다가 궁금한데 'ASAP'이 뭐의 약자야?",
    ],
)
def test_one_fact_question_behind_a_preamble_is_fast(text: str) -> None:
    """The preamble (paperwork, a lease, an invoice) is context; the question wants one line."""
    assert task(text) is FAST


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("we found a small python in the shed, it's probably someone's pet. what should we do?", GENERAL),
        ("what does the whale symbolise in Moby-Dick", ANALYSIS),
        ("코틀린에서 확장 함수는 어떻게 만들어?", CODE),
        ("타입스크립트에서 제네릭은 언제 써?", CODE),
    ],
)
def test_words_read_in_their_sense(text: str, expected: TaskType) -> None:
    """A snake is not the language; a symbol in a novel is not an acronym; a Korean noun with its
    particle ("코틀린에서": in Kotlin) is still the language."""
    assert task(text) is expected


# --- the shape of the answer -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "hi", "write a poem", "```\nx = 1\n```", "🙂", "a" * 5000, "why?" * 300],
)
def test_classification_is_well_formed(text: str) -> None:
    c = classify(text)
    assert isinstance(c, Classification)
    assert 0.0 <= c.confidence <= 1.0
    assert c.runner_up is not None and c.runner_up is not c.task
    assert set(c.scores) == {t.value for t in TaskType}
    assert sum(c.scores.values()) == pytest.approx(1.0)
    assert c.scores[c.task.value] == pytest.approx(c.confidence)
    assert max(c.scores, key=c.scores.__getitem__) == c.task.value
    assert c.signals and all(isinstance(s, str) and s for s in c.signals)


def test_signals_say_what_decided() -> None:
    assert "word 'traceback' -> code" in classify("what does this traceback mean").signals
    fenced = classify("why does this fail\n```\nprint(undefined_name)\n```")
    assert fenced.task is CODE and "code fence" in fenced.signals
    assert "short message" in classify("hello").signals


def test_confidence_tracks_clarity() -> None:
    clear = classify("write a python function that sorts a list of dicts by a key")
    vague = classify("can you help me with something")
    assert clear.confidence > 0.9
    assert vague.confidence < clear.confidence


@pytest.mark.parametrize(
    "text",
    [
        "write a python function that sorts a list",
        "Escribe un poema sobre el mar",
        "写一首关于秋天的诗",
        "summarize this:\n\n" + ARTICLE * 3,
        ARTICLE * 200 + "\nwhat does this mean for riders?",
    ],
)
def test_runtime_scores_match_the_trained_model(text: str) -> None:
    """The packed-integer fast path computes exactly the model the trainer wrote."""
    import math

    path = Path(classifier.__file__).with_name(classifier.MODEL_FILE)
    data = json.loads(path.read_text(encoding="utf-8"))
    scale = data["scale"]
    logits = [b / scale for b in data["bias"]]
    for key, value in classifier.extract_features(text).items():
        for i, w in enumerate(data["weights"].get(classifier.key_to_json(key), ())):
            logits[i] += w / scale * value
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    expected = {name: e / sum(exps) for name, e in zip(data["classes"], exps, strict=True)}
    got = classify(text).scores
    for name in expected:
        assert got[name] == pytest.approx(expected[name], abs=1e-6)


def test_weights_file_is_small_and_ships_in_the_package() -> None:
    path = Path(classifier.__file__).with_name(classifier.MODEL_FILE)
    assert path.stat().st_size < 1_000_000
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["classes"] == [t.value for t in classifier.TASKS]


# --- accuracy --------------------------------------------------------------------------------

ACCURACY_TARGET = 0.95
RECALL_TARGET = 0.90


def _accuracy(rows: list[dict]) -> tuple[float, dict[str, float]]:
    hits: Counter = Counter()
    total: Counter = Counter()
    for r in rows:
        total[r["task"]] += 1
        hits[r["task"]] += task(r["prompt"]).value == r["task"]
    return sum(hits.values()) / len(rows), {c: hits[c] / total[c] for c in total}


@pytest.mark.skipif(DEV is None, reason="dev set not present (set MESOCLAW_CLASSIFIER_DEV)")
def test_dev_set_accuracy() -> None:
    assert DEV is not None
    acc, recall = _accuracy(train_classifier.load_rows(DEV))
    assert acc >= ACCURACY_TARGET, (acc, recall)
    assert min(recall.values()) >= RECALL_TARGET, recall


def test_validation_accuracy() -> None:
    """Our own held-out set: written apart from the training prompts, never trained on."""
    rows = train_classifier.load_rows(train_classifier.VALIDATION)
    assert len(rows) >= 500
    assert {r["task"] for r in rows} == set(train_classifier.CLASSES)
    acc, recall = _accuracy(rows)
    assert acc >= ACCURACY_TARGET, (acc, recall)
    assert min(recall.values()) >= RECALL_TARGET, recall


def test_external_validation_accuracy() -> None:
    """700 prompts by another author (about half not English): studied, never trained on."""
    rows = train_classifier.load_rows(train_classifier.EXTERNAL)
    assert len(rows) >= 700
    assert {r["task"] for r in rows} == set(train_classifier.CLASSES)
    acc, recall = _accuracy(rows)
    assert acc >= ACCURACY_TARGET, (acc, recall)
    assert min(recall.values()) >= RECALL_TARGET, recall


# --- honest evaluation -----------------------------------------------------------------------


def _evaluation_sets() -> list[tuple[str, list[str]]]:
    sets = [("validation", [r["prompt"] for r in train_classifier.load_rows(train_classifier.VALIDATION)])]
    if DEV is not None:
        sets.append(("dev", [r["prompt"] for r in train_classifier.load_rows(DEV)]))
    sets.append(
        ("external-val", [r["prompt"] for r in train_classifier.load_rows(train_classifier.EXTERNAL)])
    )
    if train_classifier.HELDOUT.exists():
        sets.append(("heldout", [r["prompt"] for r in train_classifier.load_rows(train_classifier.HELDOUT)]))
    return sets


def test_no_evaluation_prompt_is_in_the_training_data() -> None:
    """No dev, validation, external-val or held-out prompt, normalised, nor a near-copy of one, is
    trained on."""
    training = [r["prompt"] for r in train_classifier.load_rows()]
    normalised = {train_classifier.normalise(p) for p in training}
    for name, prompts in _evaluation_sets():
        assert not [p for p in prompts if train_classifier.normalise(p) in normalised], name
        assert train_classifier.near_copies(training, prompts) == [], name


def test_near_copies_are_caught() -> None:
    pairs = train_classifier.near_copies(
        ["Write a haiku about RAIN!", "write a short story about a lighthouse keeper", "what is 2+2"],
        ["write a haiku about rain", "write a short story about an old lighthouse keeper", "what is 3+3"],
    )
    assert [p for p, _ in pairs] == [
        "Write a haiku about RAIN!",
        "write a short story about a lighthouse keeper",
    ]


def test_training_files_are_built_from_the_sources() -> None:
    script = train_classifier.DATA / "build_train.py"
    r = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_shipped_weights_are_what_training_writes() -> None:
    """Training is deterministic and offline: the weights file is regenerated bit for bit."""
    assert train_classifier.main(["--check"]) == 0


def test_heldout_accuracy() -> None:
    """564 prompts by a third author, added only after training was final: never seen, never studied
    (see data/classifier/README.md). The figure the issue asks for ("prompts it has never seen"); from
    now on it guards regressions."""
    rows = train_classifier.load_rows(train_classifier.HELDOUT)
    assert len(rows) >= 560
    assert {r["task"] for r in rows} == set(train_classifier.CLASSES)
    acc, recall = _accuracy(rows)
    assert acc >= ACCURACY_TARGET, (acc, recall)
    assert min(recall.values()) >= RECALL_TARGET, recall
