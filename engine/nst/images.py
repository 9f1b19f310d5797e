"""Image input and output of the engine: the one place where uploaded bytes become pixels.

Every front end (CLI, bot, worker) hands the raw upload to :func:`decode_image`, so a file
is accepted, rejected or normalised the same way everywhere, and every rejection is an
:class:`~engine.errors.InputError` whose message can be shown to the user as is.

Uploads are untrusted: the size is checked from the header before any pixel is decoded,
only a few well-worn decoders are allowed, and any failure inside Pillow becomes an
``InputError`` instead of a crash. Pillow's globals (``MAX_IMAGE_PIXELS``,
``LOAD_TRUNCATED_IMAGES``) are neither changed nor relied upon.

torch is imported inside :func:`to_tensor` and :func:`to_image` only, so a bot process that
sends jobs to Redis can import this module without loading torch.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import InputError
from engine.texts import Message, msg

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

MAX_BYTES = 25 * 2**20
MAX_PIXELS = 40_000_000
MAX_SIDE = 16384

# Pillow format ids that decode_image will open (JPEG covers MPO, the multi-picture JPEG of
# many phones). Everything else is refused on purpose: EPS would run Ghostscript, and the
# rarer decoders have seen far less hostile input than these.
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")

_BACKGROUND = (255, 255, 255, 255)  # transparent parts are shown as on a white page
_HIGH_BIT_MODES = ("I", "F")  # plus every "I;16..." variant


def decode_image(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES) -> Image.Image:
    """Turn an uploaded file into a fully loaded RGB image, or raise :class:`InputError`.

    The first frame of an animation is used, EXIF orientation is applied, transparency is
    composited over white and 16/32-bit images are scaled (not clipped) to 8 bits, so the
    engine only ever sees plain 8-bit RGB. ``max_pixels`` and ``max_bytes`` bound the work
    one upload can cause; no side may exceed :data:`MAX_SIDE` either.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_image expects bytes, not {type(data).__name__}")
    check_upload(data, max_bytes)
    size, fmt = len(data), "image"
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as im:
            fmt = im.format or fmt
            _check_dimensions(im.size, max_pixels)
            im.load()  # the first frame only: Image.open leaves an animation on frame 0
            return _to_rgb(_apply_orientation(im))
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(msg("input.not_image")) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own check against its global limit fired before ours (the warning only
        # arrives here as an exception when warnings are errors): refuse it the same way.
        raise InputError(_too_large("too many pixels", max_pixels)) from None
    except Exception as exc:  # untrusted input: a decoder may raise anything (re-raised as InputError)
        # Only the kind of failure is logged: never the bytes, nor Pillow's message about them.
        log.info("rejected undecodable %s upload (%d bytes): %s", fmt, size, type(exc).__name__)
        raise InputError(msg("input.damaged", format=fmt)) from exc


def peek(data: bytes, formats: tuple[str, ...] | None = FORMATS) -> tuple[str, tuple[int, int]] | None:
    """An encoded image's format and size as it is shown (EXIF orientation applied), from its header only;
    None when Pillow cannot read it as one of ``formats`` (None: any it knows). Nothing is decoded."""
    try:
        with Image.open(io.BytesIO(data), formats=formats) as im:
            width, height = im.size
            if _exif_orientation(im) in (5, 6, 7, 8):  # turned a quarter: shown with the sides swapped
                width, height = height, width
            return im.format or "", (width, height)
    except Exception:  # noqa: BLE001 - untrusted bytes: whatever the header parser raised, not an image here
        return None


def looks_like_image(data: bytes) -> bool:
    """Whether the header is one of :data:`FORMATS`' (a damaged file still is one: the decoder then says why)."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS):
            return True
    except UnidentifiedImageError:
        return False
    except Exception:  # noqa: BLE001 - an image, but a bad one: decode_image says why
        return True


def _exif_orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(0x0112, 1))  # ExifTags.Base.Orientation
    except Exception:  # noqa: BLE001 - a broken EXIF block is ignored, as decode_image ignores it
        return 1


def check_upload(data: bytes, max_bytes: int = MAX_BYTES) -> None:
    """Refuse an empty upload or one over ``max_bytes`` (a still or an animation: one sentence each)."""
    if not data:
        raise InputError(msg("input.empty"))
    if len(data) > max_bytes:
        raise InputError(msg("input.too_many_bytes", size_bytes=len(data), limit_bytes=max_bytes))


def _check_dimensions(size: tuple[int, int], max_pixels: int) -> None:
    """Reject an image by its header size, before a single pixel is allocated."""
    width, height = size
    if width < 1 or height < 1:
        raise InputError(msg("input.no_pixels", width=width, height=height))
    if width > MAX_SIDE or height > MAX_SIDE or width * height > max_pixels:
        raise InputError(_too_large((width, height), max_pixels))


def _too_large(what: str | tuple[int, int], max_pixels: int) -> Message:
    """The refusal of an image over the limits: its size when known, else "too many pixels"."""
    limits = {"megapixels": max_pixels / 1e6, "side": MAX_SIDE}
    if isinstance(what, tuple):
        return msg("input.too_large_image", width=what[0], height=what[1], **limits)
    return msg("input.too_many_pixels", **limits)


def _apply_orientation(im: Image.Image) -> Image.Image:
    """Rotate/flip as the camera's EXIF orientation says, so photos are upright.

    EXIF is only metadata: when it cannot be parsed the pixels are still good, so the image
    is kept as stored rather than rejected.
    """
    try:
        return ImageOps.exif_transpose(im)
    except Exception as exc:  # noqa: BLE001 - a broken EXIF block must not reject the image
        log.info("ignored unreadable EXIF orientation: %s", type(exc).__name__)
        return im


def _to_rgb(im: Image.Image) -> Image.Image:
    """Normalise any decoded mode to 8-bit RGB (always a new image)."""
    if im.mode in _HIGH_BIT_MODES or im.mode.startswith("I;16"):
        return _scale_to_8bit(im).convert("RGB")
    has_alpha = bool({"A", "a"} & set(im.getbands())) or "transparency" in im.info
    if has_alpha:  # RGBA, RGBa, LA, PA, and P/L/RGB with a transparent colour
        background = Image.new("RGBA", im.size, _BACKGROUND)
        return Image.alpha_composite(background, im.convert("RGBA")).convert("RGB")
    return im.convert("RGB")  # RGB, L, 1, P, CMYK, YCbCr, LAB, HSV, RGBX


def _scale_to_8bit(im: Image.Image) -> Image.Image:
    """Map a 16-bit, 32-bit integer or float grayscale image onto 0..255 ("L").

    Pillow's own ``convert`` clips these to 255, which turns a normal 16-bit photo white.
    The full scale is read from the mode where it says one (16-bit: 65535), else guessed:
    32-bit integers within 0..65535 are 16-bit data, floats within 0..1 are unit scale;
    any other range is stretched from its minimum to its maximum.
    """
    a = np.asarray(im, dtype=np.float32)
    finite = np.isfinite(a)
    if not finite.all():
        a = np.where(finite, a, 0.0).astype(np.float32)
    lo, hi = float(a.min()), float(a.max())
    if im.mode.startswith("I;16") or (im.mode == "I" and lo >= 0 and hi <= 65535):
        unit = a / 65535.0
    elif im.mode == "F" and lo >= 0 and hi <= 1:
        unit = a
    elif hi > lo:
        unit = (a - lo) / (hi - lo)
    else:
        unit = np.zeros_like(a)
    return Image.fromarray(np.rint(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8))


def encode_image(img: Image.Image, *, format: str = "PNG", quality: int = 90) -> bytes:
    """Encode an image to file bytes (PNG by default; ``quality`` is used by JPEG/WebP/AVIF)."""
    fmt = format.upper()
    fmt = "JPEG" if fmt == "JPG" else fmt
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")  # JPEG has no alpha
    options = {"quality": quality} if fmt in ("JPEG", "WEBP", "AVIF") else {}
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def fit_to_size(img: Image.Image, longest_side: int) -> Image.Image:
    """Resize (down or up, Lanczos) so the longest side is ``longest_side``, keeping the aspect.

    The other side is rounded and kept at least 1 px, so even a 1000×1 strip stays an image.
    """
    if longest_side < 1:
        raise ValueError(f"longest_side must be at least 1, not {longest_side}")
    width, height = img.size
    if width >= height:
        size = (longest_side, max(1, round(height * longest_side / width)))
    else:
        size = (max(1, round(width * longest_side / height)), longest_side)
    return img.resize(size, Image.Resampling.LANCZOS)


PREVIEW_SIDE = 256  # longest side of a progress preview, px
PREVIEW_QUALITY = 70  # JPEG quality of progress previews: small enough to attach to every status edit


def preview_jpeg(img: Image.Image, longest_side: int | None = PREVIEW_SIDE) -> bytes:
    """A progress preview: ``img`` fitted to ``longest_side`` (None: as it is), as a small JPEG."""
    if longest_side is not None:
        img = fit_to_size(img, longest_side)
    return encode_image(img, format="JPEG", quality=PREVIEW_QUALITY)


def to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB image -> float32 tensor of shape 1×3×H×W with values in [0, 1] (on the CPU)."""
    import torch

    rgb = img if img.mode == "RGB" else img.convert("RGB")
    array = np.asarray(rgb, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_image(t: torch.Tensor) -> Image.Image:
    """Tensor of shape 1×3×H×W or 3×H×W in [0, 1] -> RGB image.

    Values are clamped to [0, 1] (NaN becomes 0) and rounded, not truncated, so
    ``to_image(to_tensor(img))`` gives back the same pixels.
    """
    import torch

    if t.dim() == 4 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 3 or t.shape[0] != 3:
        raise ValueError(f"expected a 1×3×H×W or 3×H×W tensor, got shape {tuple(t.shape)}")
    pixels = torch.nan_to_num(t.detach().float(), nan=0.0).clamp(0.0, 1.0).mul(255.0).round()
    # Quantise on the tensor's device and move only the uint8 result.
    array = pixels.to(torch.uint8).permute(1, 2, 0).contiguous().cpu().numpy()
    return Image.fromarray(array)


def keep_colors(painted: Image.Image, content: Image.Image) -> Image.Image:
    """Luminance-only transfer (``preserve_colors``): the painted image's brightness with the photo's colour
    (YCbCr chroma). Torch-free, so the optimisation, the draft network and the warm start share it."""
    y, _, _ = painted.convert("YCbCr").split()
    _, cb, cr = content.convert("RGB").resize(painted.size, Image.Resampling.LANCZOS).convert("YCbCr").split()
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")
