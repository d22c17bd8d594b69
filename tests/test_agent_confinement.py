"""The built-in tools stay inside the working directory (and the extra paths the user allows):
every escape attempt is refused with a message for the model, and nothing outside is read or
changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mesoclaw_tui.agent.approval import ApprovalRules
from mesoclaw_tui.agent.workspace import PathDenied

from .agent_helpers import Dirs, executor, make_dirs

YES = ApprovalRules(approve_all=True)  # approval is not what these tests are about


@pytest.fixture
def dirs(tmp_path: Path) -> Dirs:
    return make_dirs(tmp_path)


ESCAPES = ["../outside/secret.txt", "sub/../../outside/secret.txt", "./../outside/secret.txt"]


@pytest.mark.parametrize("path", ESCAPES)
async def test_dot_dot_paths_are_refused_for_every_file_tool(dirs: Dirs, path: str) -> None:
    (dirs.root / "sub").mkdir()
    run = executor(dirs.workspace(), rules=YES)
    for name, args in (("read_file", {"path": path}),
                       ("write_file", {"path": path, "content": "pwned"}),
                       ("edit_file", {"path": path, "old_string": "TOP", "new_string": "pwned"}),
                       ("list_dir", {"path": path.rsplit("/", 1)[0]}),
                       ("search", {"pattern": "SECRET", "path": path})):
        outcome = await run.execute(name, args)
        assert outcome.result.is_error, name
        assert "outside the allowed directories" in outcome.result.text, name
    assert dirs.secret.read_text() == "TOP SECRET\n"


async def test_absolute_paths_outside_are_refused_and_inside_are_allowed(dirs: Dirs) -> None:
    (dirs.root / "a.txt").write_text("inside\n")
    run = executor(dirs.workspace(), rules=YES)
    outside = await run.execute("read_file", {"path": str(dirs.secret)})
    assert outside.result.is_error and "TOP SECRET" not in outside.result.text
    etc = await run.execute("read_file", {"path": "/etc/passwd"})
    assert etc.result.is_error and "outside the allowed directories" in etc.result.text
    inside = await run.execute("read_file", {"path": str(dirs.root / "a.txt")})
    assert not inside.result.is_error and "inside" in inside.result.text


async def test_a_symlink_to_a_file_outside_is_refused_for_reads_and_writes(dirs: Dirs) -> None:
    (dirs.root / "link.txt").symlink_to(dirs.secret)
    run = executor(dirs.workspace(), rules=YES)
    read = await run.execute("read_file", {"path": "link.txt"})
    assert read.result.is_error and "TOP SECRET" not in read.result.text
    for name, args in (("write_file", {"path": "link.txt", "content": "pwned"}),
                       ("edit_file", {"path": "link.txt", "old_string": "TOP", "new_string": "pwned"})):
        outcome = await run.execute(name, args)
        assert outcome.result.is_error, name
    assert dirs.secret.read_text() == "TOP SECRET\n"


async def test_a_dangling_symlink_cannot_create_a_file_outside(dirs: Dirs) -> None:
    target = dirs.outside / "created-by-agent.txt"
    (dirs.root / "new.txt").symlink_to(target)
    run = executor(dirs.workspace(), rules=YES)
    outcome = await run.execute("write_file", {"path": "new.txt", "content": "pwned"})
    assert outcome.result.is_error
    assert not target.exists()


async def test_a_symlinked_directory_leading_outside_is_neither_entered_nor_walked(dirs: Dirs) -> None:
    (dirs.root / "escape").symlink_to(dirs.outside, target_is_directory=True)
    (dirs.root / "ok.txt").write_text("SECRET is a word here too\n")
    run = executor(dirs.workspace(), rules=YES)
    through = await run.execute("read_file", {"path": "escape/secret.txt"})
    assert through.result.is_error
    listing = await run.execute("list_dir", {"path": ".", "recursive": True})
    assert "escape@" in listing.result.text and "secret.txt" not in listing.result.text
    found = await run.execute("search", {"pattern": "SECRET"})
    assert "ok.txt:1:" in found.result.text and "TOP SECRET" not in found.result.text
    inside_link = await run.execute("list_dir", {"path": "escape"})
    assert inside_link.result.is_error


async def test_a_symlink_that_stays_inside_is_followed(dirs: Dirs) -> None:
    (dirs.root / "real.txt").write_text("real content\n")
    (dirs.root / "alias.txt").symlink_to(dirs.root / "real.txt")
    run = executor(dirs.workspace(), rules=YES)
    outcome = await run.execute("read_file", {"path": "alias.txt"})
    assert "real content" in outcome.result.text


async def test_a_nul_byte_or_an_empty_path_is_refused(dirs: Dirs) -> None:
    run = executor(dirs.workspace(), rules=YES)
    for path in ("a\0/../../outside/secret.txt", "", "   "):
        outcome = await run.execute("read_file", {"path": path})
        assert outcome.result.is_error


async def test_tilde_is_not_the_home_directory(dirs: Dirs) -> None:
    run = executor(dirs.workspace(), rules=YES)
    outcome = await run.execute("write_file", {"path": "~/.bashrc", "content": "x"})
    assert not outcome.result.is_error
    assert (dirs.root / "~" / ".bashrc").read_text() == "x"


async def test_extra_allowed_paths_are_usable_and_their_parents_are_not(dirs: Dirs, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.md").write_text("- ship it\n")
    run = executor(dirs.workspace(extra=[notes]), rules=YES)
    ok = await run.execute("read_file", {"path": str(notes / "todo.md")})
    assert "ship it" in ok.result.text
    written = await run.execute("edit_file", {"path": str(notes / "todo.md"), "old_string": "ship", "new_string": "test"})
    assert not written.result.is_error and (notes / "todo.md").read_text() == "- test it\n"
    parent = await run.execute("read_file", {"path": str(notes / ".." / "outside" / "secret.txt")})
    assert parent.result.is_error


def test_a_directory_swapped_for_a_symlink_after_the_check_is_not_followed(dirs: Dirs) -> None:
    """The race: the path is checked while `sub` is a real directory, then `sub` becomes a
    symlink to the outside before the file is opened or written."""
    workspace = dirs.workspace()
    (dirs.root / "sub").mkdir()
    (dirs.root / "sub" / "secret.txt").write_text("harmless\n")
    checked = workspace.resolve("sub/secret.txt")
    (dirs.root / "sub" / "secret.txt").unlink()
    (dirs.root / "sub").rmdir()
    (dirs.root / "sub").symlink_to(dirs.outside, target_is_directory=True)
    with pytest.raises(PathDenied, match="symlink"):
        with workspace.open_regular(checked):
            pass
    with pytest.raises(PathDenied):
        workspace.write_bytes(checked, b"pwned")
    assert dirs.secret.read_text() == "TOP SECRET\n"


def test_a_file_swapped_for_a_symlink_after_the_check_is_neither_read_nor_written_through(dirs: Dirs) -> None:
    workspace = dirs.workspace()
    (dirs.root / "notes.txt").write_text("mine\n")
    checked = workspace.resolve("notes.txt")
    (dirs.root / "notes.txt").unlink()
    (dirs.root / "notes.txt").symlink_to(dirs.secret)
    with pytest.raises(PathDenied):
        with workspace.open_regular(checked):
            pass
    workspace.write_bytes(checked, b"replaced\n")  # replaces the link itself, inside
    assert dirs.secret.read_text() == "TOP SECRET\n"
    assert not (dirs.root / "notes.txt").is_symlink()
    assert (dirs.root / "notes.txt").read_text() == "replaced\n"


async def test_an_edit_through_a_hard_link_does_not_change_the_file_outside(dirs: Dirs) -> None:
    os.link(dirs.secret, dirs.root / "hard.txt")
    run = executor(dirs.workspace(), rules=YES)
    outcome = await run.execute("edit_file", {"path": "hard.txt", "old_string": "TOP", "new_string": "NOT"})
    assert not outcome.result.is_error
    assert (dirs.root / "hard.txt").read_text() == "NOT SECRET\n"
    assert dirs.secret.read_text() == "TOP SECRET\n"


async def test_a_fifo_is_refused_at_once_instead_of_hanging(dirs: Dirs) -> None:
    os.mkfifo(dirs.root / "pipe")
    run = executor(dirs.workspace(), rules=YES)
    outcome = await run.execute("read_file", {"path": "pipe"})
    assert outcome.result.is_error and "not a regular file" in outcome.result.text


async def test_commands_run_in_the_working_directory(dirs: Dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(dirs.outside)
    run = executor(dirs.workspace(), rules=YES)
    outcome = await run.execute("run_command", {"argv": ["pwd"]})
    assert outcome.result.text.splitlines()[1] == str(dirs.root.resolve())
