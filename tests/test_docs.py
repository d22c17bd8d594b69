"""Docs that lie are bugs: the CLI reference matches the click commands, the README's commands exist."""

import re
import subprocess
import sys

from .conftest import REPO


def test_cli_reference_is_in_sync_with_the_commands():
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_cli_docs.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_readme_commands_exist(cli):
    readme = (REPO / "README.md").read_text()
    mentioned = set(re.findall(r"^\s*(mesoclaw(?: [a-z][a-z-]*)+)", readme, flags=re.M))
    assert mentioned, "the README shows the CLI"
    for line in mentioned:
        words = line.split()[1:]
        while words:
            r = cli(*words, "--help")
            if r.code == 0:
                break
            words = words[:-1]  # trailing words may be arguments (a profile name, a task)
        assert words, f"README mentions `{line}`, which is not a command"


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    block = re.search(r"<!-- test-command -->\s*```bash\n(.*?)```", readme, flags=re.S)
    assert block, "the README marks its test command"
    command = block.group(1).strip()
    assert command in ci


def test_code_is_ruff_clean():
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "mesoclaw_tui", "tests", "benchmarks", "scripts"],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
