"""Winograd convolutions (NNPACK): the same convolution and the same gradient as oneDNN's, and who gets them."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import ParamError
from engine.nst import winograd
from engine.nst.params import parse_options
from engine.nst.stylize import Stylizer, get_stylizer

CPU = torch.device("cpu")


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def test_this_torch_has_nnpack():
    assert winograd.available()


@pytest.mark.parametrize("shape", [(2, 64, 48, 64), (1, 3, 40, 56), (1, 128, 8, 12)])
def test_conv3x3_is_the_direct_convolution(shape):
    torch.manual_seed(0)
    x = torch.randn(*shape)
    weight, bias = torch.randn(32, shape[1], 3, 3), torch.randn(32)
    assert winograd.pays(*shape[2:]) == (shape[2] * shape[3] >= winograd.MIN_PIXELS)
    assert relative(winograd.conv3x3(x, weight, bias), F.conv2d(x, weight, bias, padding=1)) < 1e-5


def test_the_input_gradient_is_the_direct_convolutions():
    torch.manual_seed(1)
    conv = nn.Conv2d(16, 64, 3, padding=1).requires_grad_(False)
    twin = winograd.WinogradConv2d(conv)
    x = torch.randn(2, 16, 32, 48)
    grad_out = torch.randn(2, 64, 32, 48)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    conv(a).backward(grad_out)
    twin(b).backward(grad_out)
    assert relative(b.grad, a.grad) < 1e-5


def test_only_3x3_same_convolutions_with_a_bias_are_swapped():
    with pytest.raises(ValueError, match="3x3"):
        winograd.WinogradConv2d(nn.Conv2d(3, 8, 5, padding=2))
    with pytest.raises(ValueError, match="3x3"):
        winograd.WinogradConv2d(nn.Conv2d(3, 8, 3, padding=1, bias=False))


def test_choose():
    assert winograd.choose("winograd", CPU, bf16=False)
    assert not winograd.choose("direct", CPU, bf16=False)
    assert not winograd.choose("winograd", CPU, bf16=True)  # bf16 convolutions are oneDNN's
    assert not winograd.choose("winograd", torch.device("cuda"), bf16=False)
    with pytest.raises(ParamError, match="STYLEBOT_CONV must be auto, winograd, direct, not `fast`"):
        winograd.choose("fast", CPU, bf16=False)
    with pytest.raises(ParamError, match="STYLEBOT_CONV"):
        Stylizer(get_stylizer("pastiche").backbone, conv="fast")


def test_the_stylizer_reads_its_choice_from_the_environment(monkeypatch):
    monkeypatch.setenv(winograd.CONV_ENV, "direct")
    assert not get_stylizer("pastiche", bf16="off").uses_winograd(CPU)
    monkeypatch.setenv(winograd.CONV_ENV, "Winograd")
    assert get_stylizer("pastiche", bf16="off").uses_winograd(CPU)


def test_a_step_of_the_real_network_is_the_same_either_way(shared_images):
    """The classic cost on real VGG19 weights: the same value, and the same gradient up to max-pooling's ties."""
    from PIL import Image

    content = Image.open(shared_images / "tubingen.jpg").convert("RGB")
    style = Image.open(shared_images / "starry_night.jpg").convert("RGB")
    params = parse_options({"size": 256, "device": "cpu", "preset": "classic"})
    backbone = get_stylizer("pastiche").backbone
    results = {}
    for conv in ("direct", "winograd"):
        stylizer = Stylizer(backbone, autocast=False, conv=conv)
        assert stylizer.uses_winograd(CPU) == (conv == "winograd")
        targets = stylizer.targets(content, [style], params, 256)
        assert winograd.worth_it(*targets.content.shape[2:])
        image = targets.content.clone().requires_grad_()
        total = stylizer.objective(params, targets)(image)["total"]
        total.backward()
        assert (stylizer._winograd is not None) == (conv == "winograd")  # the Winograd network did the work
        assert stylizer.through_winograd(image) == (conv == "winograd")
        results[conv] = (total.detach(), image.grad, targets.style_grams["relu1_1"])
    (cost_d, grad_d, gram_d), (cost_w, grad_w, gram_w) = results["direct"], results["winograd"]
    assert relative(gram_w, gram_d) < 1e-5
    assert abs(float(cost_w / cost_d) - 1) < 1e-5
    assert relative(grad_w, grad_d) < 1e-2
    assert F.cosine_similarity(grad_w.flatten(), grad_d.flatten(), dim=0) > 0.9999


def test_small_images_stay_with_onednn():
    """Under MIN_IMAGE_PIXELS (a coarse rung, a thumbnail) the whole pass is the direct one, to the bit."""
    backbone = get_stylizer("pastiche").backbone
    direct, wino = (Stylizer(backbone, autocast=False, conv=c) for c in ("direct", "winograd"))
    x = torch.rand(1, 3, 96, 128) * 255
    assert not winograd.worth_it(96, 128)
    layers = frozenset({"relu1_1", "relu4_2"})
    a, b = direct.features(x, layers), wino.features(x, layers)
    assert all(torch.equal(a[k], b[k]) for k in layers)
    assert wino._winograd is None and not wino.through_winograd(x)
