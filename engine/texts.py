"""The engine's words: message keys with their arguments, and the English default of each.

The engine never sends a sentence across the queue: a refusal or failure travels as a message,
``{"key": "job.oom", "args": {"size": 512}}`` (plain data: it goes through Redis and SQLite as
JSON), and the front end renders it in its user's language (the bot's catalogue, ``bot/words/locale``,
has every key below). The CLI speaks English: :func:`english` renders a message from
:data:`ENGLISH`, which the bot's English catalogue must match (a test compares them).

Placeholders are named. Two name endings carry a unit, so each language formats it itself:
``*_s`` is a duration in seconds and ``*_bytes`` a file size. A message with ``count`` among its
arguments has a singular and a plural form (a tuple here).
"""

from __future__ import annotations

import json
from typing import Any, TypedDict


class Message(TypedDict):
    """A sentence as data: its catalogue key and the values of its placeholders (JSON-able)."""

    key: str
    args: dict[str, Any]


IMAGE_FORMATS = "PNG, JPEG, WebP, GIF, BMP or TIFF"

ENGLISH: dict[str, str | tuple[str, str]] = {
    # the queues and the job runtime
    "refusal.user_limit": ("you already have {count} job in the queue; wait for it to finish or cancel it",
                           "you already have {count} jobs in the queue; wait for one to finish or cancel one"),
    "refusal.queue_full": ("the queue is full ({count} job); please try again in a few minutes",
                           "the queue is full ({count} jobs); please try again in a few minutes"),
    "refusal.closing": "the queue is shutting down; please try again in a minute",
    "job.gone": "this job is no longer known (finished jobs are kept for a limited time)",
    "job.result_gone": "the result is no longer available (results are kept {ttl_s})",
    "job.bad_grid": "a strength grid takes 1 to {cells} positive style-weight factors",
    "job.still_only": "strength grids and upscales are made of still pictures, not animations",
    "job.grid_upscale": "a strength grid cannot start from an image; upscale one of its cells instead",
    "job.internal": "the engine hit an internal error; the admins can see it in the logs",
    "job.timeout": "the job took longer than {limit_s} and was stopped",
    "job.oom": "the GPU ran out of memory even at size {size}; try a smaller size",
    "job.too_large": "size {size} is larger than this worker allows ({side} px)",
    "job.interrupted": (("the job was interrupted {count} time (the bot or a worker stopped while running it); "
                        "giving up"),
                        ("the job was interrupted {count} times (the bot or a worker stopped while running it); "
                        "giving up")),
    "job.expired": "the job's images expired before a worker was free; please submit it again",
    "job.diverged": "the optimisation diverged (the cost became infinite); try smaller weights",
    "job.failed": "the job failed",
    "job.cancelled": "cancelled",
    "job.cancelled_by": "cancelled by {name}",
    "job.unanswerable": "nobody can be told any more: its channel (or its user) is gone",
    "job.draft_still": "quick drafts are made of one still photo, not of an animation, a grid or an upscale",
    "job.bad_try": "a sheet of drafts takes 1 to {most} style images, one caption each",
    "job.note": "{note}",  # a reason given as free text (an operator's, a test's): shown as written
    # input checks: still images (engine.nst.images)
    "input.not_image": f"that file is not an image I can read; please send a {IMAGE_FORMATS} file",
    "input.too_many_pixels": "that image is too large (too many pixels); please send one of at most "
                             "{megapixels} megapixels and {side} pixels per side",
    "input.too_large_image": "that image is too large ({width}×{height} pixels); please send one of at most "
                             "{megapixels} megapixels and {side} pixels per side",
    "input.damaged": "that {format} file is damaged or incomplete; please re-save or re-export it and send it again",
    "input.empty": "that file is empty (0 bytes); please attach it again",
    "input.too_many_bytes": "that file is too large ({size_bytes}); please send one under {limit_bytes}",
    "input.no_pixels": "that image has no pixels ({width}×{height}); please send a different one",
    "input.too_thin": "the {role} image is too long and thin ({width}x{height}); crop it to at most {ratio}:1",
    # input checks: animations and clips (engine.nst.media, engine.nst.video)
    "input.frames_over": "that animation has {frames} frames; the limit here is {limit} (cut it shorter or drop frames)",
    "input.frames_more": "that animation has more than {limit} frames; the limit here is {limit} "
                         "(cut it shorter or drop frames)",
    "input.too_long": "that animation lasts {seconds_s}; the limit here is {limit_s}",
    "input.no_frames": "that {format} file has no frames I can read",
    "input.not_animation": "that file is not an animation I can read; please send a GIF, WebP, APNG, "
                           "MP4, WebM or MOV file",
    "input.animation_damaged": "that animation is damaged or incomplete; please re-save it and send it again",
    "input.video_damaged": "that video is damaged or not a format I read; please send an MP4, WebM or MOV file",
    "input.not_video": "that file is not a video I can read; please send an MP4, WebM or MOV file",
    "input.video_frames": "that video has more than {limit} frames; the limit here is {limit} frames and {limit_s}",
    "input.video_seconds": "that video has more than {limit_s}; the limit here is {limit} frames and {limit_s}",
    "input.video_slow": "that video takes too long to decode; please send a shorter or smaller one",
    "input.frame_budget": "that is {frames} frames of {width}×{height} px, more than the {megapixels} "
                          "megapixel-frames allowed here; use a smaller size or a shorter clip",
    "reduced.size": "size {size} → {side} px (the most for animations here)",
    # parameters (engine.nst.params)
    "input.no_style": "give at least one style image",
    "param.blend_count": "`style_blend` has {weights} weights for {styles} style images",
    "param.not_finite": "`{name}` must be a finite number, not {value}",
    "param.out_of_range": "`{name}` must be between {lo} and {hi}, not {value}",
    "param.unknown_preset": "unknown preset `{value}`; choose one of: {choices}",
    "param.unknown_optimizer": "unknown optimizer `{value}`; choose one of: {choices}",
    "param.unknown_format": "unknown animation format `{value}`; choose one of: {choices}",
    "param.unknown_init": "unknown init `{value}`; choose one of: {choices}",
    "param.unknown_layer": "unknown layer `{layer}`; layers look like relu1_1 .. relu5_4 (conv, relu or pool)",
    "param.no_layers": "give at least one style layer",
    "param.layer_weights": "`layer_weights` has {weights} values but there are {layers} style layers",
    "param.both_zero": "`content_weight` and `style_weight` cannot both be 0",
    "param.blend_zero": "`style_blend` needs at least one positive weight",
    "param.not_bool": "`{name}` must be yes/no, not `{raw}`",
    "param.not_int": "`{name}` must be a whole number, not `{raw}`",
    "param.not_number": "`{name}` must be a number, not `{raw}`",
    "param.not_list": "`{name}` must be a list, not `{raw}`",
    "param.unknown_option": "unknown option `{key}`; known options: {known}",
    # drawn by the engine into a strength grid, under each cell: notation (an option's name and numbers),
    # the same in every language, and in ASCII (Pillow's bundled font has no β, nor Hangul)
    "grid.caption": "beta x{factor} = {beta}",
    # the roles of a job's images, used inside other messages
    "role.content": "content",
    "role.style": "style",
}


def msg(key: str, /, **args: Any) -> Message:
    """The message ``key`` with these placeholder values (``KeyError`` for a key the engine lacks)."""
    if key not in ENGLISH:
        raise KeyError(f"no engine text {key!r}")
    return {"key": key, "args": args}


def note(text: str) -> Message:
    """A reason given as free text (an operator's or a test's), shown as written in every language."""
    return msg("job.note", note=text)


def as_message(reason: Message | str | None, default: str = "job.cancelled") -> Message:
    """A message from what a caller gave: a message (or its JSON, :func:`to_json`), an engine key,
    free text (:func:`note`) or nothing (``default``)."""
    if not reason:
        return msg(default)
    if isinstance(reason, str) and reason.startswith("{"):
        try:
            reason = json.loads(reason)
        except ValueError:
            pass
    if isinstance(reason, dict) and "key" in reason:
        return {"key": str(reason["key"]), "args": dict(reason.get("args") or {})}
    text = str(reason)
    return msg(text) if text in ENGLISH else note(text)


def to_json(message: Message | None) -> str:
    """How a message is kept in Redis and SQLite ('' for none); :func:`as_message` reads it back."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")) if message else ""


def _english_value(name: str, value: Any) -> str:
    if isinstance(value, dict) and "key" in value:
        return english(value)  # type: ignore[arg-type]
    if name.endswith("_s") and isinstance(value, (int, float)):
        return f"{value:g} s"
    if name.endswith("_bytes") and isinstance(value, int):
        return f"{value / 2**20:.1f} MB" if value >= 2**20 else f"{value / 1024:.0f} KB" if value >= 1024 \
            else f"{value} bytes"
    return f"{value:g}" if isinstance(value, float) else str(value)


def english(message: Message) -> str:
    """The English sentence of ``message`` (the CLI's language and every exception's ``str()``)."""
    template = ENGLISH.get(message["key"], message["key"])
    args = message.get("args") or {}
    if isinstance(template, tuple):
        template = template[0 if args.get("count") == 1 else 1]
    return template.format(**{name: _english_value(name, value) for name, value in args.items()})
