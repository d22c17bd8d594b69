"""The `mesoclaw` entry point: bare `mesoclaw` opens the app without loading click; anything else is a
click command. Both keep the contract: one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import run_mesoclaw


def test_bare_mesoclaw_without_a_terminal_is_one_line_exit_2_and_loads_no_click() -> None:
    code = textwrap.dedent("""
        import sys
        from mesoclaw_tui.cli import main
        code = main([])
        print(code, "click" in sys.modules, "textual" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=60)
    assert result.stdout.split() == ["2", "False", "False"]
    assert result.stderr == ("mesoclaw: the app needs a terminal; for scripts use `mesoclaw ask` or "
                             "`mesoclaw router …`\n")


def test_the_installed_command_still_runs_click_commands_and_reports_bad_input() -> None:
    assert run_mesoclaw("router", "profile", "set", "eco").returncode == 0
    bad = run_mesoclaw("router", "profile", "set", "cheap")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "eco" in bad.stderr
    assert "Traceback" not in bad.stderr
