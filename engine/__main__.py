"""Command line: ``python -m engine stylize CONTENT STYLE [STYLE ...] -o OUT``.

Every option comes from :class:`engine.nst.params.StyleParams` (defaults and help text
included), so the CLI can never drift from the library.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from engine.errors import BackboneUnavailable, EngineError, InputError, JobCancelled
from engine.nst.media import OUTPUT_FORMATS
from engine.nst.params import FIELDS, PRESETS, StyleParams, parse_options
from engine.nst.types import Progress

log = logging.getLogger("engine")
_DEFAULTS = StyleParams()


def _add_param_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("style-transfer parameters (defaults: the classic preset)")
    for name, f in FIELDS.items():
        flags = [f"--{name.replace('_', '-')}", *(f"--{a.replace('_', '-')}" for a in f.metadata["aliases"])]
        default = getattr(_DEFAULTS, name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        extra = f"; one of: {', '.join(PRESETS)}" if name == "preset" else ""
        # fields whose default is None say what None means in their help text already
        text = f"{f.metadata['help']}{extra}" + ("" if default is None else f" (default: {shown})")
        if isinstance(default, bool):
            group.add_argument(*flags, dest=name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            group.add_argument(*flags, dest=name, metavar=name.upper(), default=None, help=text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Gatys et al. neural style transfer.")
    sub = parser.add_subparsers(dest="command", required=True)
    # Parameter options write their own "(default: ...)" from StyleParams: they default to None
    # so that only what the user typed overrides the preset.
    st = sub.add_parser("stylize", help="paint a photo in the style of one or more images")
    st.add_argument("content", type=Path, help="content photo")
    st.add_argument("styles", type=Path, nargs="+", help="style image(s); several are blended")
    st.add_argument("-o", "--output", type=Path, required=True,
                    help="where to write the result: PNG/JPEG/WebP; for an animated GIF/WebP/APNG or an "
                         "MP4/WebM/MOV clip, .webp, .gif or .mp4")
    st.add_argument("--report", type=Path, help="also write a JSON report (times, losses, settings) here")
    st.add_argument("--quiet", action="store_true", help="no progress bar")
    st.add_argument("--compile", default="off", choices=("off", "default", "reduce-overhead", "max-autotune"),
                    help="torch.compile the VGG19 feature stack (pays only on some GPUs; default: off)")
    st.add_argument("--bf16", choices=("auto", "on", "off"), default=None,
                    help="bf16 convolutions: auto = where the CPU does bf16 natively, and on CUDA; off stands in "
                         "for an AVX2-only CPU (default: $STYLEBOT_BF16, else auto)")
    st.add_argument("--conv", choices=("auto", "winograd", "direct"), default=None,
                    help="fp32 CPU convolutions: winograd (NNPACK) or direct (oneDNN); auto = winograd on an "
                         "AVX2 CPU (default: $STYLEBOT_CONV, else auto)")
    _add_param_options(st)
    demo = sub.add_parser("demo", help="stylize a bundled photo with a painting the project draws; offline")
    demo.add_argument("-o", "--output", type=Path, default=Path("out/demo.png"))
    demo.add_argument("--size", default="256", help="longest side of the output (default: 256)")
    return parser


class ProgressBar:
    """A one-line terminal progress bar on stderr (the engine itself knows nothing about terminals)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and p.step != p.total):
            return
        self.last = now
        width = 30
        filled = int(width * p.step / p.total)
        eta = p.remaining_s or 0.0
        frame = f"frame {p.frame}/{p.frames} " if p.frames else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {frame}{p.step}/{p.total} "
                         f"loss {p.losses['total']:.4g}  {p.elapsed:.1f}s elapsed, ~{eta:.0f}s left ")
        if p.step == p.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def stylize_files(args: argparse.Namespace) -> dict:
    from engine.nst.render import render
    from engine.nst.stylize import get_stylizer

    options = {name: getattr(args, name) for name in FIELDS if getattr(args, name) is not None}
    params = parse_options(options)
    content, styles = _read(args.content), [_read(p) for p in args.styles]
    t0 = time.perf_counter()
    stylizer = get_stylizer(params.backbone, args.compile, args.bf16, args.conv)
    load_s = time.perf_counter() - t0
    done = render(content, styles, params, stylizer=stylizer, on_progress=ProgressBar(not args.quiet),
                  animated=lambda p: p.replace(animation_format=_animation_format(p.animation_format, args.output)))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if done.clip is not None:
        args.output.write_bytes(done.clip)
    else:
        assert done.picture is not None
        done.picture.save(args.output)
    report = {"output": str(args.output), "model_load_seconds": round(load_s, 3), **done.report}
    if args.report:
        args.report.write_text(json.dumps(report, indent=2))
    return report


def _animation_format(requested: str, output: Path) -> str:
    """An animation's format: the output file's extension (.webp, .gif, .mp4), which must match any asked for."""
    suffix = output.suffix.lower().lstrip(".")
    if suffix not in OUTPUT_FORMATS:
        raise InputError(f"an animation is written as .webp, .gif or .mp4, not `{output.name}`")
    if requested not in ("auto", suffix):
        raise InputError(f"`--animation-format {requested}` does not match the output file `{output.name}`")
    return suffix


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from engine.demo import run_demo

            report = run_demo(args.output, args.size)
        else:
            report = stylize_files(args)
    except (InputError, BackboneUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, JobCancelled):
        print("\ncancelled", file=sys.stderr)
        return 130
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    final = report["final_loss"]
    anim = report.get("animation")
    frames = f", {anim['frames']} frames at {anim['fps']:g} fps, {report['steps']} steps" if anim else ""
    print(f"wrote {report['output']} ({report['width']}x{report['height']}{frames}) in {report['seconds']:.1f}s "
          f"on {report['device']}: loss {report['initial_loss']['total']:.4g} -> {final['total']:.4g} "
          f"(content {final['content']:.4g}, style {final['style']:.4g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
