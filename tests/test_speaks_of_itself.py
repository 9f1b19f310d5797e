"""The project speaks of itself only: no file names the tracker's issue numbers, the work sessions that
wrote it, or paths outside the repository.

Every text file the repository tracks (``git ls-files``; a walk of the tree where git is absent) is read
line by line; a failure lists ``file:line: text`` for each hit. Three rules:

* issue numbers: "issue 16", "issue #16", "issues 15" (any case). Say what changed and why instead.
* work sessions: phrases such as "this session" or "four other sessions". The word alone is legitimate
  (aiohttp's ``ClientSession``, onnxruntime's ``InferenceSession``, a gateway session, pytest's
  ``scope="session"``), so only the phrases that mean a work session are matched.
* paths outside the repository: ``/work/``, ``../shared`` and ``shared/images``-like folders. The test
  photographs and the naive reference script live beside the checkout; exactly one module per side names
  that folder (``ALLOWED``) and everything else takes it from there.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()  # its own patterns would match themselves
SKIP_DIRS = {".git", ".venv", "out", "__pycache__", ".pytest_cache", ".ruff_cache", "build", "dist"}

RULES: dict[str, re.Pattern[str]] = {
    "issue number": re.compile(r"\bissues?\s*#?\s*\d+", re.IGNORECASE),
    "work session": re.compile(
        r"\b(?:this|that|earlier|previous|other|another|sibling|parallel|concurrent|helper|lead's"
        r"|two|three|four|five|six|several|many)\s+(?:other\s+)?sessions?\b", re.IGNORECASE),
    "path outside the repository": re.compile(
        r"/work/|\.\./shared\b|\bshared/(?:images|bench|notes)\b|parents\[\d\]\s*/\s*[\"']shared[\"']"),
}

# The one module per side that names the folder beside the checkout (photographs, the naive reference).
ALLOWED: dict[str, set[str]] = {
    "path outside the repository": {
        "tests/support/images.py",  # the tests: SHARED, SHARED_IMAGES, SHARED_BENCH
        "bench/compare.py",  # the benchmarks: SHARED, which the other benchmarks import
    },
}


def tracked_files() -> list[str]:
    """The repository's files, as git lists them; without git, every file under the root."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        return [name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        found = []
        for folder, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
            found += [(Path(folder) / f).relative_to(ROOT).as_posix() for f in files]
        return found


def text_lines(name: str) -> list[str]:
    """The file's lines, or none for a binary file (a NUL byte, or not UTF-8) or one that is gone."""
    try:
        data = (ROOT / name).read_bytes()
    except OSError:  # listed by git, deleted in the work tree
        return []
    if b"\0" in data:
        return []
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return []


def hits(rule: str) -> list[str]:
    pattern, allowed = RULES[rule], ALLOWED.get(rule, set())
    found = []
    for name in sorted(tracked_files()):
        if name == SELF or name in allowed:
            continue
        for number, line in enumerate(text_lines(name), 1):
            if pattern.search(line):
                found.append(f"{name}:{number}: {line.strip()[:160]}")
    return found


@pytest.mark.parametrize("rule", list(RULES))
def test_no_file_names(rule: str) -> None:
    found = hits(rule)
    assert not found, f"{len(found)} line(s) name a {rule}:\n" + "\n".join(found)


def test_the_rules_catch_what_they_mean_and_spare_the_code() -> None:
    caught = ["since issue 16 a job", "(issue #3)", "Issues 15 and 18", "in this session", "four other sessions'",
              "../shared/images/tubingen.jpg", "see shared/notes/discord.md", 'parents[2] / "shared"',
              "/work/main/.venv"]
    spared = ["aiohttp.ClientSession(connector=c)", "onnxruntime.InferenceSession(model)", '@pytest.fixture(scope="session")',
              "one session per checked host", "the gateway sessions of the clients", "the first job of a session",
              "an issue of the magazine", "tests/support/images.py", "a shared folder"]
    assert all(any(p.search(s) for p in RULES.values()) for s in caught)
    assert not any(p.search(s) for p in RULES.values() for s in spared)
