"""bench.sizes measures as ``du`` does and reads a venv's parts, without installing anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.sizes import disk_usage, human, largest, main


def fake_venv(root: Path) -> Path:
    """A venv's layout with a big 'torch' (and its .libs), a small package and a dist-info."""
    site = root / "lib" / "python3.11" / "site-packages"
    for name, size in (("torch", 3 * 2**20), ("torch.libs", 2**20), ("tiny", 4096), ("tiny-1.0.dist-info", 9000)):
        (site / name).mkdir(parents=True)
        (site / name / "blob").write_bytes(os.urandom(size))
    return root


def test_disk_usage_counts_blocks_like_du_each_file_once(tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(os.urandom(300_000))
    os.link(tmp_path / "data", tmp_path / "hardlink")
    (tmp_path / "symlink").symlink_to("/usr")  # not followed
    du = subprocess.run(["du", "-s", "-B1", str(tmp_path)], check=True, capture_output=True, text=True)
    assert disk_usage(tmp_path) == int(du.stdout.split()[0])
    assert 300_000 <= disk_usage(tmp_path) < 2 * 300_000


@pytest.mark.parametrize(("n", "text"), [(512, "512B"), (4096, "4.0K"), (262_700_000, "250.5M"), (6 * 2**30, "6.0G")])
def test_human_reads_like_du_h(n: int, text: str) -> None:
    assert human(n) == text


def test_largest_counts_a_wheels_libs_with_its_package_and_skips_metadata(tmp_path: Path) -> None:
    assert largest(fake_venv(tmp_path), count=2).startswith("torch 4.0M, tiny ")


def test_measure_prints_an_existing_venvs_size_and_largest_parts(tmp_path: Path, capsys) -> None:
    venv = fake_venv(tmp_path / "venv")
    (venv / "bin").mkdir()
    (venv / "bin" / "python").symlink_to(sys.executable)
    assert main(["--kinds", "", "--measure", str(venv)]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.split()[:2] == ["measured", human(disk_usage(venv))] and "largest: torch 4.0M" in line
