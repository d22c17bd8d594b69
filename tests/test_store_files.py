"""Bad database files, as users meet them: a newer mesoclaw's database, a full disk, damage, a file
that is not SQLite or not mesoclaw's, one that cannot be read. Each is one line naming the file and
what to do, exit 1, never a traceback, never a hang, and nothing written to a file that is not ours.

A full disk is simulated without privileges: SQLite's `PRAGMA max_page_count` caps how far a
connection may grow the file, and SQLite then reports SQLITE_FULL exactly as on a full disk. The cap
is put on every connection of a child process (the environment), not on mesoclaw's code.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pty
import select
import shutil
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from mesoclaw_tui.store import SCHEMA_VERSION

from .conftest import PROVIDER_ENV, REPO, run_mesoclaw
from .fakes.provider_server import Stream

NEWER = 99


def db_of(home: Path) -> Path:
    return home / "mesoclaw.db"


def make_database(home: Path) -> Path:
    assert run_mesoclaw("router", "profile", "set", "eco", env={"MESOCLAW_HOME": str(home)}).returncode == 0
    return db_of(home)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# a newer mesoclaw's database: every entry point says so and exits, none hangs --------------------------


@pytest.mark.parametrize("args", [
    ("router", "status"),
    ("ask", "hello"),
    ("schedule", "list"),
    ("scheduler", "run", "--once"),
    ("serve", "--port", "0"),
])
def test_every_entry_point_refuses_a_newer_database_and_exits(isolated_env, args):
    db = make_database(isolated_env)
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {NEWER}")
    done = run_mesoclaw(*args, env={"MESOCLAW_HOME": str(isolated_env)}, timeout=30)  # a hang fails here
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line == (f"mesoclaw: {db} was written by a newer mesoclaw (schema {NEWER} > {SCHEMA_VERSION}): "
                    "upgrade mesoclaw, or give this one another database with --db")


def test_the_app_refuses_a_newer_database_and_exits(isolated_env):
    """The full-screen app, through its launcher on a real terminal (a pty): it says why, and quits."""
    db = make_database(isolated_env)
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {NEWER}")
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env.update(MESOCLAW_HOME=str(isolated_env), TERM="xterm-256color")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    app = subprocess.Popen([sys.executable, "-m", "mesoclaw_tui"], stdin=slave, stdout=slave, stderr=slave,
                           env=env, cwd=REPO, start_new_session=True)
    os.close(slave)
    screen, quit_sent, started = b"", False, time.monotonic()
    try:
        while app.poll() is None and time.monotonic() - started < 60:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    screen += os.read(master, 65536)
                except OSError:
                    break
            if not quit_sent and b"newer mesoclaw" in screen:
                os.write(master, b"\x11")  # ctrl+q
                quit_sent = True
        app.wait(15)  # after ctrl+q the process must end: no thread left running
        while select.select([master], [], [], 0.2)[0]:
            try:
                screen += os.read(master, 65536)
            except OSError:
                break
    finally:
        if app.poll() is None:
            app.kill()
        os.close(master)
    assert quit_sent, screen[-500:]
    assert app.returncode == 1
    assert screen.rstrip().endswith(f"newer mesoclaw (schema {NEWER} > {SCHEMA_VERSION}): upgrade mesoclaw, "
                                    "or give this one another database with --db".encode())


# files that are not (or no longer) a usable database ------------------------------------------------------


def test_a_zero_byte_file_is_a_new_database(isolated_env):
    isolated_env.mkdir(parents=True)
    db_of(isolated_env).touch()
    done = run_mesoclaw("router", "profile", env={"MESOCLAW_HOME": str(isolated_env)})
    assert done.returncode == 0 and done.stdout.startswith("balanced")
    with sqlite3.connect(db_of(isolated_env)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_zero_byte_file_beside_a_leftover_wal_is_refused(isolated_env):
    db = make_database(isolated_env)
    (isolated_env / "mesoclaw.db-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\0" * 4000)  # frames of the old file
    db.write_bytes(b"")
    done = run_mesoclaw("router", "status", env={"MESOCLAW_HOME": str(isolated_env)})
    assert done.returncode == 1
    assert f"{db} is empty but mesoclaw.db-wal beside it holds changes" in one_line(done.stderr)


def test_random_bytes_in_the_middle_of_the_file_say_it_is_damaged(isolated_env):
    db = make_database(isolated_env)
    conn = sqlite3.connect(db)
    with conn:  # a file of many pages
        conn.executemany("INSERT INTO conversations (title) VALUES (?)", [("x" * 500,)] * 400)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = db.stat().st_size
    with open(db, "r+b") as fh:
        fh.seek(4096)
        fh.write(os.urandom(size - 8192))
    env = {"MESOCLAW_HOME": str(isolated_env)}
    for args in (("router", "status"), ("schedule", "list"), ("ask", "--model", "gpt-4o", "hi")):
        done = run_mesoclaw(*args, env=env, timeout=30)
        assert done.returncode == 1, (args, done.stderr)
        line = one_line(done.stderr)
        assert f"{db} is damaged" in line and "move it aside" in line and "restore a backup" in line


def test_a_file_that_is_not_sqlite_is_refused(isolated_env):
    isolated_env.mkdir(parents=True)
    db_of(isolated_env).write_bytes(b"not a database at all" * 50)
    done = run_mesoclaw("schedule", "list", env={"MESOCLAW_HOME": str(isolated_env)})
    assert done.returncode == 1
    assert one_line(done.stderr) == (f"mesoclaw: {db_of(isolated_env)} is not a SQLite database: move it aside "
                                     "(mesoclaw then creates a new one) or give another path with --db")


def test_a_directory_where_the_database_should_be_is_one_line(isolated_env):
    db_of(isolated_env).mkdir(parents=True)
    for _ in range(5):  # it used to race with aiosqlite's thread into a traceback now and then
        done = run_mesoclaw("router", "status", env={"MESOCLAW_HOME": str(isolated_env)})
        assert done.returncode == 1
        assert f"{db_of(isolated_env)} is not a regular file" in one_line(done.stderr)


def test_someone_elses_sqlite_file_is_refused_and_left_untouched(isolated_env, tmp_path):
    theirs = tmp_path / "notes.db"
    with sqlite3.connect(theirs) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('mine')")
    digest = hashlib.sha256(theirs.read_bytes()).hexdigest()
    for args in (("router", "profile", "set", "eco"), ("ask", "--model", "gpt-4o", "hi"), ("schedule", "list")):
        done = run_mesoclaw("--db", str(theirs), *args, env={"MESOCLAW_HOME": str(isolated_env)})
        assert done.returncode == 1
        line = one_line(done.stderr)
        assert f"{theirs} is not a mesoclaw database (it holds notes" in line and "nothing was written" in line
    assert hashlib.sha256(theirs.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("notes")) == ["notes.db"]  # no -wal
    with sqlite3.connect(theirs) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def _without_file_permission_override() -> list[str] | None:
    """A command prefix under which file permissions apply: nothing as a normal user; as root, setpriv
    dropping CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (root ignores file modes otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--inh-caps=-dac_override,-dac_read_search",
              "--bounding-set=-dac_override,-dac_read_search"]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    return prefix if probe.returncode == 0 else None


def test_an_unreadable_database_is_one_line_every_time(isolated_env):
    prefix = _without_file_permission_override()
    if prefix is None:
        pytest.skip("cannot drop root's file-permission override here (no setpriv)")
    db = make_database(isolated_env)
    os.chmod(db, 0)
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env["MESOCLAW_HOME"] = str(isolated_env)
    try:
        for _ in range(8):  # it used to be a traceback about one run in ten
            done = subprocess.run([*prefix, sys.executable, "-m", "mesoclaw_tui", "router", "status"], cwd=REPO,
                                  env=env, capture_output=True, text=True, timeout=30)
            assert done.returncode == 1
            assert one_line(done.stderr) == (f"mesoclaw: cannot read {db}: Permission denied; it must be readable "
                                             f"and writable by you (chmod 600 {db})")
    finally:
        os.chmod(db, 0o600)


# a full disk ------------------------------------------------------------------------------------------------

FULL_DISK = """
import sqlite3, sys
_connect = sqlite3.connect
def connect(*args, **kwargs):
    conn = _connect(*args, **kwargs)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {{max(pages, 1) + {spare}}}")  # the disk has room for `spare` pages
    return conn
sqlite3.connect = connect
from mesoclaw_tui.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def on_full_disk(spare_pages: int, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", FULL_DISK.format(spare=spare_pages), *args], cwd=REPO,
                          env=full_env, capture_output=True, text=True, timeout=60)


def test_a_full_disk_is_said_as_such_and_nothing_is_half_written(isolated_env):
    env = {"MESOCLAW_HOME": str(isolated_env)}
    done = on_full_disk(0, "router", "status", env=env)  # a new database, and no room to create it
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert f"the disk holding {db_of(isolated_env)} is full" in line and "free some space" in line
    assert "I/O error" not in line and "not a usable" not in line
    # Nothing half-written: once there is room, the same file is a good new database.
    assert run_mesoclaw("router", "profile", env=env).stdout.startswith("balanced")


def test_import_on_a_nearly_full_disk_says_so_and_changes_nothing(isolated_env, tmp_path):
    env = {"MESOCLAW_HOME": str(isolated_env)}
    make_database(isolated_env)
    assert run_mesoclaw("router", "task", "code", "--set", "o3", env=env).returncode == 0
    before = run_mesoclaw("router", "export", env=env).stdout
    big = tmp_path / "big.toml"
    big.write_text('[router]\nprofile = "premium"\n' + "".join(
        f'[[models]]\nprovider = "groq"\nmodel = "m{i}"\ntier = "low"\nbest_for = "{"x" * 400}"\n'
        for i in range(300)))
    done = on_full_disk(2, "router", "import", str(big), env=env)
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert "is full" in line and "no transaction is active" not in line
    assert run_mesoclaw("router", "export", env=env).stdout == before


def test_a_reply_that_cannot_be_saved_still_reaches_the_user(isolated_env, provider_server):
    """The disk fills up while the reply streams: the reply is printed all the same, and the user is
    told once that it was not saved."""
    reply = "word " * 40_000  # 200 KB: more than the disk has room for
    provider_server.default(provider_server.chat_path("openai"), Stream("openai", [reply]))
    env = {"MESOCLAW_HOME": str(isolated_env), **provider_server.env("openai", api_key="sk-test-full-0001")}
    make_database(isolated_env)
    done = on_full_disk(8, "ask", "--model", "gpt-4o", "write a lot", env=env)
    assert done.stdout.strip() == reply.strip()
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "not saved" in line]
    assert len(said) == 1 and "is full" in said[0]
    assert "Traceback" not in done.stderr
