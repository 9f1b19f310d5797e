"""The seed: it starts the noise of ``init=noise`` and jitters every other start, so each seed paints its own picture."""

from __future__ import annotations

import torch

from engine.nst.optimise import JITTER, jitter
from engine.nst.params import StyleParams


def test_seed_0_keeps_the_start_and_another_seed_moves_it_a_little_the_same_way_each_time() -> None:
    start = torch.full((1, 3, 16, 16), 120.0)
    params = StyleParams()
    assert params.seed == 0 and torch.equal(jitter(start, params), start)
    one, two = jitter(start, params.replace(seed=1)), jitter(start, params.replace(seed=2))
    assert torch.equal(one, jitter(start, params.replace(seed=1)))  # reproducible
    assert not torch.equal(one, two)
    assert 0.5 * JITTER < float((one - start).std()) < 1.5 * JITTER
    assert torch.equal(jitter(start, params.replace(seed=3, init="noise")), start)  # seeded already
