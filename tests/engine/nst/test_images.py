"""decode_image is the engine's only door for user files: every bad kind of upload must come
back as a user-facing InputError, every supported mode as correct 8-bit RGB pixels."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from engine.errors import InputError
from engine.nst.images import MAX_SIDE, decode_image, encode_image, fit_to_size, peek, to_image, to_tensor

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def save(img: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def noise(size: int = 64, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def png_header(width: int, height: int) -> bytes:
    """A syntactically valid PNG that claims a size but holds (almost) no pixel data."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def pixels(img: Image.Image) -> list:
    return [img.getpixel((x, y)) for y in range(img.height) for x in range(img.width)]


def close(a: tuple, b: tuple, tol: int = 3) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def assert_user_message(exc: pytest.ExceptionInfo, *words: str) -> None:
    message = str(exc.value)
    assert len(message) < 200 and "Traceback" not in message and "PIL" not in message
    for word in words:
        assert word in message


# --- bad input -------------------------------------------------------------------------------


def test_empty_file_is_rejected_as_empty():
    with pytest.raises(InputError) as exc:
        decode_image(b"")
    assert_user_message(exc, "empty")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(np.random.default_rng(1).bytes(4096), id="random-bytes"),
        pytest.param(b"just some text, not a picture\n" * 20, id="text"),
        pytest.param(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n", id="pdf"),
        pytest.param(b"\x89PNG\r\n\x1a\n", id="png-signature-only"),
    ],
)
def test_non_image_data_is_rejected_with_the_supported_formats(data):
    with pytest.raises(InputError) as exc:
        decode_image(data)
    assert_user_message(exc, "not an image", "PNG", "JPEG")


def test_image_format_outside_the_allowlist_is_rejected():
    ico = save(Image.new("RGB", (16, 16), RED), "ICO")
    assert Image.open(io.BytesIO(ico)).format == "ICO"  # Pillow itself could read it
    with pytest.raises(InputError) as exc:
        decode_image(ico)
    assert_user_message(exc, "not an image")


def test_file_over_max_bytes_is_rejected_before_decoding():
    data = save(noise(64))
    with pytest.raises(InputError) as exc:
        decode_image(data, max_bytes=len(data) - 1)
    assert_user_message(exc, "too large", "KB")
    assert decode_image(data, max_bytes=len(data)).size == (64, 64)


def test_default_byte_limit_is_25_mib():
    with pytest.raises(InputError) as exc:
        decode_image(b"\0" * (25 * 2**20 + 1))
    assert_user_message(exc, "too large", "25.0 MB")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_rejected_not_half_grey(fmt):
    data = save(noise(64), fmt)
    with pytest.raises(InputError) as exc:
        decode_image(data[: len(data) // 2])
    assert_user_message(exc, "damaged or incomplete", fmt)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_png_with_corrupt_pixel_data_is_rejected():
    data = bytearray(save(noise(64)))
    idat = data.index(b"IDAT")
    data[idat + 50 : idat + 60] = b"\xff" * 10
    with pytest.raises(InputError) as exc:
        decode_image(bytes(data))
    assert_user_message(exc, "damaged")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_huge_png_header_is_rejected_fast_without_decoding():
    start = time.perf_counter()
    with pytest.raises(InputError) as exc:
        decode_image(png_header(100_000, 100_000))  # 30 GB of RGB if it were allocated
    assert time.perf_counter() - start < 1.0
    assert_user_message(exc, "too large", "40 megapixels")


def test_pixel_limit_does_not_rely_on_pillows_global(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # someone switched Pillow's check off
    with pytest.raises(InputError) as exc:
        decode_image(png_header(100_000, 100_000))
    assert_user_message(exc, "too large", "100000×100000")


@pytest.mark.filterwarnings("error")
def test_decompression_bomb_warning_raised_as_error_becomes_input_error():
    # 10000×10000 lies between Pillow's warning and error thresholds.
    with pytest.raises(InputError) as exc:
        decode_image(png_header(10_000, 10_000))
    assert_user_message(exc, "too large")


def test_side_longer_than_max_side_is_rejected_even_when_few_pixels():
    with pytest.raises(InputError) as exc:
        decode_image(png_header(MAX_SIDE + 1, 2))
    assert_user_message(exc, "too large", f"{MAX_SIDE + 1}×2", f"{MAX_SIDE} pixels per side")


def test_max_pixels_argument_sets_the_limit():
    data = save(Image.new("RGB", (100, 100), RED))
    with pytest.raises(InputError) as exc:
        decode_image(data, max_pixels=9_999)
    assert_user_message(exc, "100×100")
    assert decode_image(data, max_pixels=10_000).size == (100, 100)


def test_non_bytes_argument_is_a_programming_error():
    with pytest.raises(TypeError):
        decode_image("a path.png")  # type: ignore[arg-type]


@pytest.mark.parametrize("warning_action", ["ignore", "error"])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP"])
def test_mangled_files_never_raise_anything_but_input_error(fmt, warning_action):
    good = save(noise(16, seed=3).convert("P") if fmt == "GIF" else noise(16, seed=3), fmt)
    rng = np.random.default_rng(7)
    candidates = [good[:cut] for cut in rng.integers(1, len(good), 10)]
    for _ in range(20):
        bad = bytearray(good)
        for pos in rng.integers(0, len(good), 4):
            bad[pos] = int(rng.integers(0, 256))
        candidates.append(bytes(bad))
    for data in candidates:
        with warnings.catch_warnings():
            warnings.simplefilter(warning_action)  # Pillow warns about many broken files
            try:
                img = decode_image(data)
            except InputError:
                continue
        assert img.mode == "RGB"


# --- supported modes ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt,options", [("PNG", {}), ("BMP", {}), ("TIFF", {}), ("WEBP", {"lossless": True})])
def test_rgb_formats_decode_exactly(fmt, options):
    src = Image.new("RGB", (2, 2))
    src.putdata([RED, GREEN, BLUE, WHITE])
    img = decode_image(save(src, fmt, **options))
    assert img.mode == "RGB" and pixels(img) == [RED, GREEN, BLUE, WHITE]
    assert not isinstance(img, ImageFile.ImageFile)  # fully loaded, detached from the bytes


def test_jpeg_decodes_to_close_colours():
    img = decode_image(save(Image.new("RGB", (16, 16), (200, 100, 50)), "JPEG", quality=95))
    assert img.mode == "RGB" and close(img.getpixel((8, 8)), (200, 100, 50))


def test_exif_orientation_6_rotates_upright():
    src = Image.new("RGB", (2, 1))
    src.putdata([RED, BLUE])
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: turn 90° clockwise to display
    img = decode_image(save(src, "PNG", exif=exif))
    assert img.size == (1, 2)
    assert pixels(img) == [RED, BLUE]  # the left pixel ends on top


def test_a_size_read_from_the_header_is_the_size_shown_after_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6
    turned = save(Image.new("RGB", (40, 10)), "JPEG", exif=exif)
    assert peek(turned) == ("JPEG", (10, 40)) and decode_image(turned).size == (10, 40)
    assert peek(save(Image.new("RGB", (40, 10)), "PNG")) == ("PNG", (40, 10))
    assert peek(b"not an image at all") is None


def test_rgba_is_composited_over_white():
    src = Image.new("RGBA", (3, 1))
    src.putdata([(255, 0, 0, 255), (255, 0, 0, 0), (255, 0, 0, 128)])
    img = decode_image(save(src))
    assert img.mode == "RGB"
    a, b, c = pixels(img)
    assert a == RED and b == WHITE and close(c, (255, 127, 127), tol=2)


def test_la_is_composited_over_white():
    src = Image.new("LA", (2, 1))
    src.putdata([(0, 255), (0, 0)])
    assert pixels(decode_image(save(src))) == [(0, 0, 0), WHITE]


def test_pa_is_composited_over_white():
    src = Image.new("PA", (2, 1))
    src.putpalette([*RED, *GREEN])
    src.putdata([(0, 255), (1, 0)])
    data = save(src, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "PA"
    assert pixels(decode_image(data)) == [RED, WHITE]


def test_palette_without_transparency():
    src = Image.new("P", (2, 1))
    src.putpalette([*GREEN, *BLUE])
    src.putdata([1, 0])
    assert pixels(decode_image(save(src))) == [BLUE, GREEN]


def test_palette_with_transparent_index_becomes_white():
    src = Image.new("P", (2, 1))
    src.putpalette([*RED, *GREEN])
    src.putdata([0, 1])
    data = save(src, "PNG", transparency=1)
    assert "transparency" in Image.open(io.BytesIO(data)).info
    assert pixels(decode_image(data)) == [RED, WHITE]


def test_grayscale_becomes_gray_rgb():
    src = Image.new("L", (2, 1))
    src.putdata([0, 200])
    assert pixels(decode_image(save(src))) == [(0, 0, 0), (200, 200, 200)]


def test_one_bit_becomes_black_and_white():
    src = Image.new("1", (2, 1))
    src.putdata([0, 1])
    data = save(src)
    assert Image.open(io.BytesIO(data)).mode == "1"
    assert pixels(decode_image(data)) == [(0, 0, 0), WHITE]


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_cyan_comes_out_cyan(fmt):
    data = save(Image.new("CMYK", (16, 16), (255, 0, 0, 0)), fmt)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    r, g, b = decode_image(data).getpixel((8, 8))
    assert r < 40 and g > 215 and b > 215


@pytest.mark.parametrize("mode", ["YCbCr", "LAB"])
def test_other_colour_spaces_convert_back_to_rgb(mode):
    data = save(Image.new("RGB", (4, 4), (200, 30, 40)).convert(mode), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == mode
    assert close(decode_image(data).getpixel((1, 1)), (200, 30, 40), tol=4)


def _gray(img: Image.Image) -> list[int]:
    assert img.mode == "RGB"
    return [r for r, g, b in pixels(img) if r == g == b or pytest.fail("not gray")]


def test_16_bit_png_is_scaled_not_clipped():
    src = Image.fromarray(np.array([[65535, 32768, 0]], dtype=np.uint16))
    data = save(src)
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    assert _gray(decode_image(data)) == [255, 128, 0]


def test_16_bit_big_endian_tiff_is_scaled():
    src = Image.fromarray(np.array([[32768, 0, 25700]], dtype=">u2"))
    data = save(src, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "I;16B"
    assert _gray(decode_image(data)) == [128, 0, 100]  # full scale is 65535, not the brightest pixel


@pytest.mark.parametrize(
    "values,expected",
    [
        ([32768, 0, 25700], [128, 0, 100]),  # 16-bit data held in 32 bits (older Pillow's 16-bit PNG)
        ([-100, 0, 100], [0, 128, 255]),  # any other range is stretched
    ],
)
def test_32_bit_integer_image_is_scaled(values, expected):
    data = save(Image.fromarray(np.array([values], dtype=np.int32)), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "I"
    assert _gray(decode_image(data)) == expected


@pytest.mark.parametrize(
    "values,expected",
    [
        ([0.25, 0.5, 0.75], [64, 128, 191]),  # within 0..1: unit scale
        ([-1.0, 1.0, 3.0], [0, 128, 255]),  # any other range is stretched
        ([np.nan, 0.25, 1.0], [0, 64, 255]),
    ],
)
def test_float_image_is_scaled(values, expected):
    data = save(Image.fromarray(np.array([values], dtype=np.float32)), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "F"
    assert _gray(decode_image(data)) == expected


@pytest.mark.parametrize(
    "fmt,options",
    [("GIF", {}), ("WEBP", {"lossless": True}), ("PNG", {})],
    ids=["gif", "webp", "apng"],
)
def test_animation_gives_its_first_frame(fmt, options):
    frames = [Image.new("RGB", (8, 8), c) for c in (RED, GREEN, BLUE)]
    data = save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **options)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    img = decode_image(data)
    assert img.size == (8, 8) and close(img.getpixel((4, 4)), RED)


# --- helpers --------------------------------------------------------------------------------


def test_to_tensor_is_float32_1x3xhxw_in_unit_range():
    src = Image.new("RGB", (3, 2), (255, 0, 51))
    t = to_tensor(src)
    assert t.dtype == torch.float32 and t.shape == (1, 3, 2, 3)
    assert torch.allclose(t[0, :, 1, 2], torch.tensor([1.0, 0.0, 0.2]))


def test_to_tensor_then_to_image_round_trips_exactly():
    src = noise(17, seed=5)
    assert np.array_equal(np.asarray(to_image(to_tensor(src))), np.asarray(src))


def test_to_image_clamps_rounds_and_zeroes_nan():
    t = torch.tensor([[[-1.0, 2.0, 0.5, float("nan")]]]).expand(3, 1, 4)
    img = to_image(t)  # 3×H×W is accepted as well
    assert img.mode == "RGB" and [p[0] for p in pixels(img)] == [0, 255, 128, 0]


def test_to_image_rejects_a_batch_or_wrong_channels():
    with pytest.raises(ValueError, match="shape"):
        to_image(torch.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="shape"):
        to_image(torch.zeros(1, 1, 4, 4))


@pytest.mark.parametrize(
    "size,longest,expected",
    [((400, 200), 100, (100, 50)), ((200, 400), 100, (50, 100)), ((10, 5), 20, (20, 10)), ((1000, 1), 10, (10, 1))],
)
def test_fit_to_size_sets_the_longest_side_and_keeps_the_aspect(size, longest, expected):
    assert fit_to_size(Image.new("RGB", size, RED), longest).size == expected


def test_fit_to_size_rejects_a_side_below_one():
    with pytest.raises(ValueError):
        fit_to_size(Image.new("RGB", (4, 4)), 0)


def test_encode_image_png_round_trips_exactly():
    src = noise(9, seed=2)
    data = encode_image(src)
    assert data.startswith(b"\x89PNG") and pixels(decode_image(data)) == pixels(src)


def test_encode_image_jpeg_drops_alpha_and_honours_quality():
    src = noise(64, seed=4).convert("RGBA")
    small, large = encode_image(src, format="jpg", quality=10), encode_image(src, format="JPEG", quality=95)
    assert small.startswith(b"\xff\xd8") and len(small) < len(large)


def test_module_imports_without_torch():
    code = "import sys; sys.modules['torch'] = None; import engine.nst.images"
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
