"""`make bot` without a token: one line that says what is missing and how to fix it, a non-zero exit.

The recipe runs under the Python running this test (``BIN=``) and a stamp made just now (``STAMP=``), so
make neither creates a venv nor installs anything: no network. ``DISCORD_TOKEN`` is set, empty, in the
environment, which wins over any ``.env`` a developer keeps in the checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE_TRAILER = re.compile(r"^make(\[\d+\])?: \*\*\* \[.*\bbot\] Error \d+$")  # GNU make's own last word


def no_token_line(folder: Path) -> str:
    """What ``python -m bot`` says in an empty folder (no .env there) with no token: one line, exit 2."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot"], cwd=folder, env=env, capture_output=True, text=True, check=False,
                          timeout=120)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_python_m_bot_without_a_token_names_it_and_where_to_set_it(tmp_path: Path) -> None:
    line = no_token_line(tmp_path)
    assert "DISCORD_TOKEN" in line and ".env" in line, line


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_bot_without_a_token_says_so_in_one_line(tmp_path: Path) -> None:
    stamp = tmp_path / "installed"
    stamp.touch()  # newer than pyproject.toml: the venv rule has nothing to do
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "DISCORD_TOKEN": "",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "--no-print-directory", "bot",
                           f"BIN={Path(sys.executable).parent}", f"STAMP={stamp}"],
                          env=env, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    assert lines[0] == no_token_line(tmp_path), done.stderr  # the bot's one line, first and unburied
    assert all(MAKE_TRAILER.match(line) for line in lines[1:]), done.stderr  # then only make's own trailer

