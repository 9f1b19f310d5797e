"""`python -m engine stylize` with an animation: the output's extension picks the format; a wrong one is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.__main__ import main
from engine.demo import gif_bytes, moving_scene
from engine.nst.media import decode_clip
from tests.support.images import noise_png

TINY = ["--size", "32", "--steps", "1", "--levels", "1", "--frame-steps", "1", "--quiet"]


def test_a_gif_is_painted_into_the_animation_the_output_name_asks_for(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    clip, style = tmp_path / "clip.gif", tmp_path / "style.png"
    clip.write_bytes(gif_bytes(moving_scene(3, 40, 30), duration_ms=90))
    style.write_bytes(noise_png(3))
    assert main(["stylize", str(clip), str(style), "-o", str(tmp_path / "out.gif"), *TINY]) == 0
    out = decode_clip((tmp_path / "out.gif").read_bytes())
    assert out.format == "GIF" and len(out.frames) == 3 and out.durations_ms == [90] * 3
    assert "3 frames" in capsys.readouterr().out
    assert main(["stylize", str(clip), str(style), "-o", str(tmp_path / "out.png"), *TINY]) == 2
    assert "an animation is written as .webp, .gif or .mp4, not `out.png`" in capsys.readouterr().err
