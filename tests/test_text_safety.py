"""The neutraliser, the model id check and the CLI's printing helpers, one rule at a time; and a
guard that cli/ prints only through cli/output.py (so a new command cannot forget)."""

from __future__ import annotations

import ast
import io
import json
import re
from pathlib import Path

import pytest

from mesoclaw_tui.core.model_ids import model_id_problem, skipped_ids, skipped_note
from mesoclaw_tui.core.text import is_safe, neutralise

CLI = Path(__file__).resolve().parents[1] / "mesoclaw_tui" / "cli"
MARKUP = re.compile(r"\[/\]|\[/?(?:bold|dim|italic|underline|red|green|yellow|blue|magenta|cyan)\]")


# the neutraliser ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b]52;c;aGk=\x07", "␛]52;c;aGk=␇"),  # clipboard write
    ("\x1b]0;title\x1b\\", "␛]0;title␛\\"),  # window title, ST-terminated
    ("\x1b[2J\x1b[H", "␛[2J␛[H"),  # clear, cursor home
    ("\x9b2J", "\ufffd2J"),  # C1 CSI alone
    ("\x1bP+q\x1b\\ \x1b_a\x1b\\ \x1b^p\x1b\\ \x1bXs\x1b\\", "␛P+q␛\\ ␛_a␛\\ ␛^p␛\\ ␛Xs␛\\"),  # DCS APC PM SOS
    ("ok\rfake \x08\x7f\x00", "ok␍fake ␈␡␀"),
    ("\u202eexe.txt\u202c \u2066x\u2069", "\ufffdexe.txt\ufffd \ufffdx\ufffd"),
    ("bad \udc9b byte", "bad \ufffd byte"),
    ("keep\nnew\tlines", "keep\nnew\tlines"),
    ("ünïcödé 中文 emoji 🙂 arabic العربية", "ünïcödé 中文 emoji 🙂 arabic العربية"),
])
def test_each_kind_of_control_is_shown_by_its_stand_in(raw: str, shown: str) -> None:
    assert neutralise(raw) == shown
    assert len(neutralise(raw)) == len(raw)  # one for one: styled text keeps its spans
    assert is_safe(shown) and is_safe(raw) == (raw == shown)
    assert neutralise(shown) == shown


def test_clean_text_is_returned_as_it_is() -> None:
    text = "a plain delta with a newline\n"
    assert neutralise(text) is text


def test_every_c0_c1_and_del_is_replaced_and_nothing_else_below_u_00a0() -> None:
    for code in range(0xA0):
        char = chr(code)
        if char in "\n\t" or 0x20 <= code < 0x7F:
            assert neutralise(char) == char
        else:
            assert neutralise(char) != char and neutralise(char).isprintable()


# model ids ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model_id", "problem"), [
    ("gpt-4o", None), ("openai/gpt-4o", None), ("llama3.2:3b", None), ("models/gemini-2.0-flash", None),
    ("x" * 256, None), ("模型-1", None),
    ("", "with no characters"), ("x" * 257, "longer than 256 characters"), ("a b", "with whitespace"),
    ("a\tb", "with whitespace"), ("a\u00a0b", "with whitespace"), ("a\x1b[2Jb", "with control characters"),
    ("a\x9bb", "with control characters"), ("gpt\u202e4o", "with control characters"),
    ("gpt\u200b4o", "with control characters"), ("a\udc9b", "with control characters"), (42, "not given as text"),
])
def test_model_id_problem(model_id: object, problem: str | None) -> None:
    assert model_id_problem(model_id) == problem


def test_skipped_note_says_how_many_and_why() -> None:
    assert skipped_note(skipped_ids(["ok", "a\x1b", "b\x07"])) == "skipped 2 ids with control characters"
    assert skipped_note(skipped_ids(["", "a\x1b"])) == "skipped 2 ids: 1 with control characters, 1 with no characters"
    assert skipped_note(skipped_ids(["a b"])) == "skipped 1 id with whitespace"
    assert skipped_note(skipped_ids(["fine"])) == ""


# the CLI's printing ------------------------------------------------------------------------------------------


def test_json_is_exact_and_escapes_what_a_terminal_would_act_on() -> None:
    from mesoclaw_tui.cli.output import json_text

    value = {"text": "a\x1b]0;t\x07 \x9b2J \x7f \u202ex \udc9b é 中"}
    text = json_text(value)
    assert json.loads(text) == value
    assert is_safe(text)
    assert "é 中" in text  # other non-ASCII text stays readable


def render(renderable: object, *, colour: bool = False) -> str:
    from mesoclaw_tui.cli import output as out

    console = out._safe_console()(file=io.StringIO(), width=100, markup=False, highlight=False, emoji=False,
                                  force_terminal=colour, color_system="truecolor" if colour else None)
    console.print(renderable)
    return console.file.getvalue()


def test_the_console_prints_text_literally_and_safe() -> None:
    from rich.text import Text

    from mesoclaw_tui.cli import output as out

    assert render("[providers.openai] \x1b]0;t\x07 [bold]x[/]") == "[providers.openai] ␛]0;t␇ [bold]x[/]\n"
    coloured = render(Text("id\x1b[2J\x9b", style="red"), colour=True)
    assert "id␛[2J\ufffd" in coloured and "\x1b[2J" not in coloured and "\x1b[" in coloured  # red is still red
    table = out.table("model", "why")
    table.add_row("evil\x1b]52;c;aGk=\x07", Text("\u202ereason", style="red"))
    assert is_safe(render(table)) and "evil␛]52;c;aGk=␇" in render(table)


def test_markup_templates_take_values_literally(monkeypatch) -> None:
    from mesoclaw_tui.cli import output as out

    monkeypatch.setattr(out, "is_plain", lambda: False)
    text = out.markup("[bold]{}[/] costs {:.2f} in {}", "[red]job[/]\x1b", 1.5, "x\\")
    assert text.plain == "[red]job[/]␛ costs 1.50 in x\\"
    assert [(span.start, span.end, str(span.style)) for span in text.spans] == [(0, 12, "bold")]
    text = out.markup("{}[dim]{}[/]{}", "", "a]b", "[/]")
    assert (text.plain, [(s.start, s.end) for s in text.spans]) == ("a]b[/]", [(0, 3)])


def test_cli_commands_print_only_through_output_helpers() -> None:
    """Outside output.py (and exits.say), cli/ never writes to stdout or stderr itself and never writes
    Rich markup outside out.markup(): the console's markup is off, so such a tag would print literally."""
    problems = []
    for path in sorted(CLI.glob("*.py")):
        if path.name in ("output.py", "exits.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        templates = {id(node.args[0]) for node in ast.walk(tree) if isinstance(node, ast.Call) and node.args
                     and isinstance(node.func, ast.Attribute) and node.func.attr == "markup"}
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
                    isinstance(node.value.value, ast.Name) and node.value.value.id == "sys" and \
                    node.value.attr in ("stdout", "stderr") and node.attr == "write":
                problems.append(f"{where}: sys.{node.value.attr}.write (use out.write / out.echo)")
            elif isinstance(node, ast.Call) and (
                    (isinstance(node.func, ast.Name) and node.func.id == "print") or
                    (isinstance(node.func, ast.Attribute) and node.func.attr in ("echo", "secho")
                     and isinstance(node.func.value, ast.Name) and node.func.value.id == "click"
                     and not _help_text(node))):
                problems.append(f"{where}: {ast.unparse(node.func)}() (use out.echo)")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MARKUP.search(node.value) \
                    and id(node) not in templates:
                problems.append(f"{where}: markup {node.value!r} outside out.markup()")
    assert problems == []


def _help_text(call: ast.Call) -> bool:
    """click.echo of a command's own help (main.py): no outside text in it."""
    return "get_help" in ast.unparse(call)
