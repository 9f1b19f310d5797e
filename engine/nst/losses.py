"""The costs of Gatys et al. (2015), as small pure functions, and where they depart from the paper.

Notation of the paper: layer l has N_l channels (filters) and M_l = H*W positions, F its
activations, G = F F^T its Gram matrix, A the Gram matrix of the painting.

* Content: the paper's L_content = 1/2 sum (F - P)^2. We use the mean, sum / (N_l M_l), as
  jcjohnson/neural-style does: a constant factor per content layer, absorbed by alpha.
* Style, per layer: the paper's E_l = 1/(4 N_l^2 M_l^2) sum (G - A)^2 on unnormalised Grams.
  We divide each Gram by N_l*M_l (so a Gram is a mean over positions, independent of the image
  size, which the coarse-to-fine schedule and the bot's varying sizes need) and take the mean
  of the squared differences over the N_l^2 entries:

      mse(G/(N M), A/(N M)) = sum (G - A)^2 / (N_l^4 M_l^2) = (4 / N_l^2) * E_l

  That factor is not a constant beta absorbs: it differs per layer. With VGG19's 64, 128, 256,
  512, 512 channels, relu1_1 weighs (512/64)^2 = 64 times more than relu5_1 at equal lambda,
  compared with the paper. We keep it because it is neural-style's cost (our ``classic``
  preset) and the one the naive reference script (bench/compare.py --naive) scores; to weigh layers as the paper does,
  scale lambda_l by N_l^2 / 4 (e.g. ``layer_weights=1024,4096,16384,65536,65536`` with a
  correspondingly smaller beta).
* Total variation is not in the paper; it is off by default (``tv_weight`` 0).

Grams and costs are always computed in float32: in fp16 a Gram of 0..255 Caffe activations
overflows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


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
    """Per batch item: mean squared difference of activations on the content layer (Gatys: 1/2 sum of squares)."""
    return (features.float() - target.float()).pow(2).mean(dim=(1, 2, 3))


def style_cost(
    features: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    layer_weights: Mapping[str, float | torch.Tensor],
) -> torch.Tensor:
    """Per batch item: sum over style layers of lambda_l * mse of normalised Grams, i.e. lambda_l * 4/N_l^2 * E_l.

    A target is one Gram per item (B x C x C) or one for all (1 x C x C); a weight is a number
    or one per item (B), so every job of a batch keeps its own painting and its own lambdas.
    """
    total = torch.zeros((), device=next(iter(targets.values())).device)
    for layer, weight in layer_weights.items():
        total = total + weight * (gram(features[layer]) - targets[layer]).pow(2).mean(dim=(1, 2))
    return total


def tv_cost(image: torch.Tensor) -> torch.Tensor:
    """Per batch item: mean squared difference between neighbouring pixels (not in Gatys; reduces noise)."""
    image = image.float()
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean(dim=(1, 2, 3)) + dy.pow(2).mean(dim=(1, 2, 3))


def blend_grams(grams: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """Style targets of several paintings: the weighted mean of their Gram matrices (as neural-style blends)."""
    total = float(sum(weights))
    return {layer: sum(w / total * g[layer] for w, g in zip(weights, grams)) for layer in grams[0]}
