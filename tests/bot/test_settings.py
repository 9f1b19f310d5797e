"""Settings are documented and parsed the way .env.example says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.errors import UserError
from bot.core.library import check_name
from bot.core.settings import BotSettings
from bot.core.store import GuildConfig
from bot.requests.options import options_line, parse_args, parse_request, read_options_line, resolve
from engine.errors import ParamError
from engine.jobs.redis.settings import WorkerSettings
from engine.jobs.settings import QueueSettings, RunnerSettings
from engine.nst.params import parse_options
from engine.ops.settings import load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def example_values(*, commented: bool = True) -> dict[str, str]:
    pattern = r"^#?([A-Z_]+)=(.*)$" if commented else r"^([A-Z_]+)=(.*)$"
    found = re.findall(pattern, EXAMPLE.read_text(), flags=re.MULTILINE)
    return {name.lower(): value for name, value in found}


def test_every_setting_of_the_bot_and_the_workers_is_documented_in_env_example() -> None:
    assert set(example_values()) == set(BotSettings.model_fields) | set(WorkerSettings.model_fields)


def test_env_example_shows_the_real_defaults(monkeypatch) -> None:
    for name in BotSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    shown = {k: v for k, v in example_values(commented=False).items() if v}  # uncommented lines are defaults
    defaults = BotSettings(_env_file=None).model_dump()
    assert BotSettings(_env_file=None, **shown).model_dump() == defaults


def test_the_bot_and_the_workers_read_the_queue_settings_alike(monkeypatch) -> None:
    for name in (*QueueSettings.model_fields, *RunnerSettings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("QUEUE_NAME", "gpu-a")
    monkeypatch.setenv("MAX_QUEUE", "7")
    monkeypatch.setenv("RESULT_TTL_S", "600")
    bot, worker = BotSettings(_env_file=None), WorkerSettings(_env_file=None)
    assert isinstance(bot, QueueSettings) and isinstance(worker, QueueSettings)  # what the queues take, whole
    assert bot.model_dump(include=set(QueueSettings.model_fields)) == worker.model_dump(
        include=set(QueueSettings.model_fields)) == {"queue_name": "gpu-a", "per_user_limit": 3, "max_queue": 7,
                                                     "job_time_limit_s": 900.0, "result_ttl_s": 600,
                                                     "input_ttl_s": 86400}


def test_the_bot_and_the_workers_run_jobs_by_the_same_settings(monkeypatch) -> None:
    for name in RunnerSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    runner = set(RunnerSettings.model_fields)
    bot, worker = BotSettings(_env_file=None), WorkerSettings(_env_file=None)
    assert isinstance(bot, RunnerSettings) and isinstance(worker, RunnerSettings)  # what runners take, whole
    defaults = {"device": "auto", "max_batch": None, "compile": "off"}
    assert bot.model_dump(include=runner) == worker.model_dump(include=runner) == defaults
    monkeypatch.setenv("DEVICE", "cuda:1")
    monkeypatch.setenv("MAX_BATCH", "4")
    monkeypatch.setenv("COMPILE", "reduce-overhead")
    chosen = {"device": "cuda:1", "max_batch": 4, "compile": "reduce-overhead"}
    assert BotSettings(_env_file=None).model_dump(include=runner) == chosen
    assert WorkerSettings(_env_file=None).model_dump(include=runner) == chosen
    flags = ["--device", "cpu", "--max-batch", "2", "--compile", "default"]  # a worker's flags win
    from_flags = load_settings(WorkerSettings, _env_file=None, _cli_parse_args=flags)
    assert from_flags.model_dump(include=runner) == {"device": "cpu", "max_batch": 2, "compile": "default"}


@pytest.mark.parametrize("cls", [BotSettings, WorkerSettings])
def test_a_device_that_is_no_device_stops_the_process_at_start_with_one_line(cls, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DEVICE", "gpu0")
    with pytest.raises(SystemExit) as stop:
        load_settings(cls, _env_file=None)
    assert stop.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "invalid setting DEVICE" in line
    for fine in ("auto", "cpu", "mps", "cuda", "cuda:3"):
        monkeypatch.setenv("DEVICE", fine)
        assert load_settings(cls, _env_file=None).device == fine


def test_options_line_reproduces_the_params() -> None:
    params = parse_options(
        {"preset": "strokes", "beta": "250", "layers": "relu1_1,relu2_1", "seed": 7, "tv": 0.5})
    again = parse_options(read_options_line("options: " + options_line(params)))
    assert again == params


def test_guild_defaults_do_not_override_what_the_user_chose() -> None:
    guild = GuildConfig(preset="bold", size=40)
    options, params = resolve(parse_args("size=64 beta=10"), guild, max_size=1024, max_steps=500)
    assert (params.preset, params.size, params.style_weight) == ("bold", 64, 10.0)
    assert options == {"size": "64", "style_weight": "10", "preset": "bold"}


def test_a_request_reads_saved_style_names_a_preset_word_and_grid() -> None:
    request = parse_request("Starry monet bold grid style_blend=2,1")
    assert request.styles == ["starry", "monet"] and request.grid
    assert request.options == {"preset": "bold", "style_blend": "2,1"}
    with pytest.raises(ParamError, match="I don't understand `<@123>`"):
        parse_request("<@123>")
    with pytest.raises(ParamError, match="I don't understand `starry`"):  # a result's footer holds options only
        read_options_line("options: preset=classic starry")


def test_style_names_are_never_a_word_that_means_something_else() -> None:
    assert check_name(" Starry-Night_2 ") == "starry-night_2"
    for word in ("save", "styles", "delete", "rename", "grid", "bold", "classic"):
        with pytest.raises(UserError, match="already means something"):
            check_name(word)
    for bad in ("x", "a" * 33, "<@123456789012345678>", "@everyone", "two words", "-dash"):
        with pytest.raises(UserError, match="can't be a style name: use 2 to 32"):
            check_name(bad)
