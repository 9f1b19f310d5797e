"""The costs of Gatys et al. (2015), as small pure functions.

Departures from the paper, all as in jcjohnson/neural-style (our ``classic`` preset):

* Gram matrices are divided by C*H*W (the paper leaves them unnormalised and puts
  1/(4 N^2 M^2) into the style cost). With this, a Gram is a mean over positions, so
  the same weights work at any image size and across a coarse-to-fine schedule.
* Costs are mean squared errors (the paper's 1/2 * sum of squares), a constant
  factor that the weights alpha and beta absorb.

Grams and costs are always computed in float32: in fp16 a Gram of 0..255 Caffe
activations overflows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F


class _OuterProduct(torch.autograd.Function):
    """F F^T with a one-matmul backward: dL/dF = (dG + dG^T) F.

    Autograd's generic backward of bmm(F, F^T) does two matmuls of this size, one per
    operand; the Grams are a sixth of a step's arithmetic, so this saves real time.
    """

    @staticmethod
    def forward(ctx, flat: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(flat)
        return torch.bmm(flat, flat.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (flat,) = ctx.saved_tensors
        return torch.bmm(grad + grad.transpose(1, 2), flat)


def gram(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations G = F F^T / (C*H*W) of a (B, C, H, W) map, one CxC matrix per batch item."""
    b, c, h, w = features.shape
    flat = features.float().reshape(b, c, h * w)
    return _OuterProduct.apply(flat) / (c * h * w)


def content_cost(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of activations on the content layer (Gatys: 1/2 sum of squares)."""
    return F.mse_loss(features.float(), target.float())


def style_cost(
    features: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    layer_weights: Mapping[str, float],
) -> torch.Tensor:
    """Sum over style layers of lambda_l * mean squared difference of Gram matrices."""
    total = torch.zeros((), device=next(iter(targets.values())).device)
    for layer, weight in layer_weights.items():
        total = total + weight * F.mse_loss(gram(features[layer]), targets[layer].expand(features[layer].shape[0], -1, -1))
    return total


def tv_cost(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference between neighbouring pixels (not in Gatys; reduces noise)."""
    image = image.float()
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def blend_grams(grams: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """Style targets of several paintings: the weighted mean of their Gram matrices (as neural-style blends)."""
    total = float(sum(weights))
    return {layer: sum(w / total * g[layer] for w, g in zip(weights, grams)) for layer in grams[0]}
