"""VGG's 3x3 convolutions by Winograd's minimal filtering (NNPACK): the same sums in fewer multiplications.

Every convolution of VGG19 is 3x3, stride 1, padding 1: the case Winograd's F(6x6, 3x3) was made
for (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). It computes the
same outputs with about a fifth of the direct method's multiplications; the rounding differs by
about 1e-6 relative, so the objective the optimiser minimises does not change. On an AVX2 CPU
in fp32, oneDNN's direct convolutions already run at the cores' peak, so this is how a step gets
cheaper there.

PyTorch ships NNPACK's Winograd kernels but uses them only for batches of 16 or more, and never
for a backward pass. Here both go through them where they pay (:func:`pays`: maps of 24x32 px and
more), one image at a time (NNPACK's batched path is a slower algorithm): the forward, and the
gradient with respect to the input, which for a 3x3 "same" convolution is itself one, with the
kernel flipped and its two channel axes swapped. The weights are frozen, so no weight gradient is
computed. Smaller maps (the deepest layers) stay with oneDNN, in channels_last, and so do whole
images under :data:`MIN_IMAGE_PIXELS` (the 128 px coarse rung, the tests' small pictures).

Which convolutions a Stylizer uses is :func:`choose`'s call: ``STYLEBOT_CONV`` = ``auto`` (Winograd
for fp32 on an x86 CPU whose best vector unit is AVX2, where it was measured faster; oneDNN
elsewhere), ``winograd`` or ``direct``.
"""

from __future__ import annotations

import functools
import platform

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import ParamError

CONV_ENV = "STYLEBOT_CONV"
CONV_CHOICES = ("auto", "winograd", "direct")


def available() -> bool:
    """Whether this torch has NNPACK and it starts on this CPU (the call also initialises it)."""
    return bool(torch.backends.nnpack.is_available())


@functools.lru_cache(maxsize=16)
def choose(value: str | None, device: torch.device, bf16: bool) -> bool:
    """Whether convolutions on ``device`` go through Winograd, for ``STYLEBOT_CONV``'s ``value`` (unset: auto).

    Only CPU fp32 can: bf16 convolutions and CUDA stay with oneDNN and cuDNN, whatever is asked.
    """
    key = (value or "auto").strip().lower()
    if key not in CONV_CHOICES:
        raise ParamError(f"{CONV_ENV} must be {', '.join(CONV_CHOICES)}, not `{value}`")
    if key == "direct" or device.type != "cpu" or bf16 or not available():
        return False
    if key == "winograd":
        return True
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    return x86 and torch.backends.cpu.get_cpu_capability() == "AVX2"


#: Winograd over maps of at least this many pixels, oneDNN's direct convolution below. Measured per layer
#: on an AVX2 CPU by ``python -m bench.winograd``: Winograd pays over large maps of many channels (up to
#: 2.9x), ties at 24x32 px and loses below (0.3-0.5x at 12x16 and 6x8). Layers from or to the image's 3
#: channels are slower alone (0.4-0.8x) but stay with their neighbours: moving a full-size map between
#: NNPACK's NCHW and oneDNN's channels_last costs more than they lose (a whole step: 1.35x against
#: 1.22x at 256 px).
MIN_PIXELS = 24 * 32


#: Images smaller than this (e.g. the 128 px coarse rung, 96x128) stay with oneDNN altogether: over their
#: small maps the per-layer gains are smaller than what the layout changes and the Python-level backward
#: cost (a whole 20-step job at 128 px: 2.75 s direct against 2.98 s; at 256 px 5.64 s against 4.50 s).
MIN_IMAGE_PIXELS = 128 * 256


def worth_it(height: int, width: int) -> bool:
    """Whether an image of height x width goes through the Winograd network at all."""
    return height * width >= MIN_IMAGE_PIXELS


def pays(height: int, width: int) -> bool:
    """Whether a 3x3 convolution over a height x width map goes through Winograd."""
    return height * width >= MIN_PIXELS


def conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """A 3x3 "same" convolution by Winograd, one image at a time (NNPACK reads NCHW)."""
    x = x.contiguous()
    if x.shape[0] == 1:
        return torch._nnpack_spatial_convolution(x, weight, bias, [1, 1])
    return torch.cat([torch._nnpack_spatial_convolution(x[b:b + 1], weight, bias, [1, 1])
                      for b in range(x.shape[0])])


class _Conv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, back_weight, back_bias):  # type: ignore[override]
        ctx.save_for_backward(back_weight, back_bias)
        return conv3x3(x, weight, bias)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        back_weight, back_bias = ctx.saved_tensors
        return conv3x3(grad, back_weight, back_bias), None, None, None, None


class WinogradConv2d(nn.Module):
    """A frozen ``nn.Conv2d(cin, cout, 3, padding=1)``: forward and input gradient by Winograd where it :func:`pays`."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) or conv.groups != 1 \
                or conv.dilation != (1, 1) or conv.bias is None:
            raise ValueError(f"Winograd here is for 3x3 'same' convolutions with a bias, not {conv}")
        weight = conv.weight.detach().contiguous()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", conv.bias.detach().contiguous())
        # d/dx of conv(x, W) is conv(grad, W flipped in space, in and out channels swapped), no bias
        self.register_buffer("back_weight", weight.flip(2, 3).transpose(0, 1).contiguous())
        self.register_buffer("back_bias", weight.new_zeros(weight.shape[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if pays(x.shape[2], x.shape[3]):
            return _Conv.apply(x, self.weight, self.bias, self.back_weight, self.back_bias)
        # a small map: oneDNN, in its fast layout, with autograd's own fused backward
        return F.conv2d(x.contiguous(memory_format=torch.channels_last), self.weight, self.bias, padding=1)


def convert(net: nn.Sequential) -> nn.Sequential:
    """``net`` (frozen, on the CPU, NCHW) with every 3x3 convolution swapped for its Winograd twin."""
    return nn.Sequential(*(WinogradConv2d(m) if isinstance(m, nn.Conv2d) else m for m in net))
