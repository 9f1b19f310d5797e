"""A change of variables for the optimiser: the image as a Laplacian-style pyramid of corrections.

Same objective, new variables (as STROTSS, Kolkin et al. 2019, optimises a Laplacian pyramid):

    x = x0 + sum_k w_k * up_k(z_k),   z_k of 1/2^k the image's size, all zero at the start,

with ``up_k`` a bilinear upsampling to the full size. A gradient step on ``z_k`` moves 4^k pixels
together, so the image's low frequencies, which the style cost's deep layers move slowly in
pixel space, get steps as large as its fine detail. L-BFGS is invariant to orthogonal changes of
variables but not to such rescalings: this acts as a preconditioner, most of all right after an
upscale, when L-BFGS starts with no curvature pairs. ``x`` stays an ordinary, unclamped image:
nothing is changed behind the optimiser's back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class Pyramid:
    """The variables ``z`` (B x total) of a batch of images (B x 3 x H x W) started at ``start``."""

    def __init__(self, start: torch.Tensor, levels: int, decay: float = 1.0):
        self.start = start.detach().clone()  # the caller may write each new image into ``start``
        b, c, h, w = start.shape
        self.shapes = [(c, -(-h // 2**k), -(-w // 2**k)) for k in range(levels)]
        self.weights = [decay**k for k in range(levels)]
        total = sum(ch * hh * ww for ch, hh, ww in self.shapes)
        self.z = start.new_zeros(b, total, requires_grad=True)

    def image(self) -> torch.Tensor:
        """The images the variables stand for (differentiable in ``z``)."""
        b, size, offset = self.z.shape[0], self.start.shape[-2:], 0
        x = self.start
        for (c, h, w), weight in zip(self.shapes, self.weights):
            part = self.z[:, offset:offset + c * h * w].reshape(b, c, h, w)
            offset += c * h * w
            if (h, w) != tuple(size):
                part = F.interpolate(part, size=size, mode="bilinear", align_corners=False)
            x = x + weight * part
        return x
