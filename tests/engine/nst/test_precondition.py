"""The pyramid change of variables: the same image at the start, a linear map whose gradient is its adjoint."""

from __future__ import annotations

import torch

from engine.nst.precondition import Pyramid


def test_the_pyramid_starts_at_its_image_and_keeps_it_when_the_caller_overwrites_the_start() -> None:
    start = torch.rand(2, 3, 30, 41) * 255
    pyramid = Pyramid(start, levels=4, decay=0.5)
    assert torch.equal(pyramid.image(), start)
    kept = start.clone()
    start.add_(1.0)  # the optimiser writes each new image into the tensor it started from
    assert torch.equal(pyramid.image(), kept)


def test_a_coarse_variable_moves_a_smooth_patch_and_the_gradient_is_the_maps_adjoint() -> None:
    gen = torch.Generator().manual_seed(0)
    pyramid = Pyramid(torch.zeros(1, 3, 32, 32), levels=3, decay=0.5)
    direction = torch.randn(pyramid.z.shape, generator=gen)
    weights = torch.randn(1, 3, 32, 32, generator=gen)
    with torch.no_grad():
        pyramid.z.copy_(direction)
    (pyramid.image() * weights).sum().backward()
    moved = (pyramid.image() * weights).sum()
    assert torch.allclose((pyramid.z.grad * direction).sum(), moved, rtol=1e-4)  # <P d, w> = <d, P^T w>
    coarse = torch.zeros_like(pyramid.z)
    coarse[0, -3 * 8 * 8] = 1.0  # one variable of the 8 x 8 level
    with torch.no_grad():
        pyramid.z.copy_(coarse)
    patch = pyramid.image()[0, 0]
    assert (patch > 0).sum() >= 16 and patch.max() <= 0.25 + 1e-6  # a 4x4-px bump or more, weighted 0.5**2
