"""``key=value`` arguments of ``!style``, guild defaults and limits, and the options line of a result.

The engine (:func:`engine.nst.params.parse_options`) owns every name, alias, default and
bound; this module only splits the user's text, adds what the guild chose, and checks
the guild-level limits the engine cannot know about.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.errors import keyed
from bot.core.spoilers import parse_choice
from bot.core.store import GuildConfig
from bot.requests.links import is_link
from engine.errors import ParamError
from engine.nst.media import AnimationLimits
from engine.nst.params import PRESETS, StyleParams, canonical_name, parse_options, preset_params

# Options users may not choose: where the weights come from (a file path!) and which device runs it.
OPERATOR_ONLY = frozenset({"backbone", "device"})
EXAMPLE = "`!style beta=1000 size=384`"
FOOTER_PREFIX = "options: "  # read back by the buttons: the same in every language

GRID_WORD = "grid"
QUICK_WORD = "quick"  # `!style quick ...`: the draft is the result (engine.jobs.drafts)
TRY_WORD = "try"  # `!style try`: the photo drafted in every saved style (a subcommand of !style)
SPOILER_WORD = "spoiler"  # spoiler=yes: not an engine option, it is how the result is posted


@dataclass
class Request:
    """What the text after ``!style`` asks for: options, saved styles by name, and whether a strength grid."""

    options: dict[str, str] = field(default_factory=dict)
    styles: list[str] = field(default_factory=list)
    grid: bool = False
    quick: bool = False
    links: list[str] = field(default_factory=list)  # images named by links, in the order written
    spoiler: bool = False


def parse_request(text: str) -> Request:
    """``starry monet style_blend=2,1 bold grid``: options, a preset word, ``grid``, and style names;
    links (``https://…``) name images, ``spoiler=yes`` posts the result as a spoiler.

    Any other bare word is the name of a saved style (checked against the library later);
    names can never be preset words or ``grid`` (see :mod:`bot.core.library`).
    """
    request = Request()
    for token in _tokens(text):
        word = token.lower()
        if is_link(token):
            request.links.append(token.strip("<>"))
        elif word.partition("=")[0].strip() == SPOILER_WORD and "=" in word:
            request.spoiler = parse_choice(token.partition("=")[2])
        elif "=" in token:
            key, value = _option(token)
            request.options[key] = value
        elif word in PRESETS:
            request.options["preset"] = word
        elif word == GRID_WORD:
            request.grid = True
        elif word == QUICK_WORD:
            request.quick = True
        elif re.fullmatch(r"[\w-]+", word):
            request.styles.append(word)
        else:
            raise keyed(ParamError, "options.not_understood", token=token, example=EXAMPLE)
    return request


def parse_args(text: str) -> dict[str, str]:
    """Split ``beta=1000 layers=relu1_1,relu2_1 bold`` into options; a bare preset name picks the preset."""
    options: dict[str, str] = {}
    for token in _tokens(text):
        if "=" not in token and token.lower() in PRESETS:
            options["preset"] = token.lower()
            continue
        if "=" not in token:
            raise keyed(ParamError, "options.not_understood", token=token, example=EXAMPLE)
        key, value = _option(token)
        options[key] = value
    return options


def _tokens(text: str) -> list[str]:
    try:
        return shlex.split(text or "")
    except ValueError:
        raise keyed(ParamError, "options.unreadable", example=EXAMPLE) from None


def _option(token: str) -> tuple[str, str]:
    key, _, value = token.partition("=")
    if not key.strip() or not value.strip():
        raise keyed(ParamError, "options.needs_value", token=token, example=EXAMPLE)
    return canonical_name(key), value


def resolve(
    options: Mapping[str, Any], guild: GuildConfig, *, max_size: int, max_steps: int
) -> tuple[dict[str, Any], StyleParams]:
    """Options to submit (guild defaults added) and the params they give; ParamError if not allowed here.

    ``max_size``/``max_steps`` are the bot-wide defaults; the guild's own limits replace them.
    """
    chosen = {canonical_name(k): v for k, v in options.items()}
    blocked = sorted(OPERATOR_ONLY & chosen.keys())
    if blocked:
        raise keyed(ParamError, "options.operator_only", name=blocked[0])
    if guild.preset and "preset" not in chosen:
        chosen["preset"] = guild.preset
    if guild.size and "size" not in chosen:
        chosen["size"] = guild.size
    params = parse(chosen)
    _check_limits(params, guild.max_size or max_size, guild.max_steps or max_steps)
    return chosen, params


def parse(options: Mapping[str, Any]) -> StyleParams:
    """The one place where the bot turns what a user typed into checked params (ParamError if bad)."""
    return parse_options(options)


def _check_limits(params: StyleParams, max_size: int, max_steps: int) -> None:
    if params.size > max_size:
        raise keyed(ParamError, "options.over_limit", name="size", limit=max_size, value=params.size)
    if params.size * params.style_scale > max(max_size, params.size):
        raise keyed(ParamError, "options.scaled_over_limit", limit=max_size)
    for name in ("steps", "coarse_steps", "frame_steps"):
        if getattr(params, name) > max_steps:
            raise keyed(ParamError, "options.over_limit", name=name, limit=max_steps, value=getattr(params, name))


def animation_limits(guild: GuildConfig, max_frames: int, max_seconds: float) -> AnimationLimits:
    """The frame and duration limits of animated inputs here: the bot's, or the guild's where lower."""
    return AnimationLimits(frames=min(guild.max_frames or max_frames, max_frames),
                           seconds=min(guild.max_duration or max_seconds, max_seconds))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def options_of(params: StyleParams) -> dict[str, Any]:
    """The options that reproduce ``params``: the preset plus what differs from it (a user may set them all)."""
    base = preset_params(params.preset).to_dict()
    items = {"preset": params.preset, "size": params.size}  # size too: a guild's default may change
    for key, value in params.to_dict().items():
        if key not in OPERATOR_ONLY and value != base[key]:
            items[key] = value
    return {k: v for k, v in items.items() if v is not None}


def options_line(params: StyleParams) -> str:
    """:func:`options_of` as ``key=value`` text (a result's footer, pasted back after ``!style``)."""
    return " ".join(f"{k}={_text(v)}" for k, v in options_of(params).items())


def read_options_line(text: str) -> dict[str, str]:
    """Options back from a result's footer (see :func:`options_line`); ParamError if it is not one."""
    if not text.startswith(FOOTER_PREFIX):
        raise keyed(ParamError, "options.no_footer")
    return parse_args(text[len(FOOTER_PREFIX):])
