"""The batched L-BFGS takes torch's L-BFGS steps, item by item, whatever else is in the batch."""

from __future__ import annotations

import pytest
import torch

from engine.nst.lbfgs import BatchedLBFGS


def problem(seed: int, n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth, non-quadratic cost with its own minimum per seed (so curvature varies step to step)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, n, generator=gen) / n ** 0.5, torch.randn(n, generator=gen)


def cost(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r = x @ a.T - b
    return (r ** 2).sum(-1) + 0.1 * (x ** 4).sum(-1)


def torch_path(seed: int, steps: int, history: int) -> list[torch.Tensor]:
    a, b = problem(seed)
    x = torch.zeros(a.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=history, tolerance_grad=-1, tolerance_change=-1)
    path = []

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = cost(x, a, b)
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
        path.append(x.detach().clone())
    return path


def batched_path(seeds: list[int], steps: int, history: int, frozen: int | None = None,
                 fixed: bool = False) -> list[torch.Tensor]:
    problems = [problem(s) for s in seeds]
    a, b = torch.stack([p[0] for p in problems]), torch.stack([p[1] for p in problems])
    x = torch.zeros(len(seeds), a.shape[2], requires_grad=True)
    opt = BatchedLBFGS(x, history, fixed=fixed)
    path = []
    for k in range(steps):
        if frozen is not None and k == 3:
            opt.active[frozen] = False  # e.g. a cancelled job: it stays where it is
        x.grad = None
        loss = sum(cost(x[i], a[i], b[i]) for i in range(len(seeds)))
        loss.backward()
        opt.step(x.grad)
        path.append(x.detach().clone())
    return path


@pytest.mark.parametrize("fixed", [False, True])  # True: the static shapes a CUDA graph needs
@pytest.mark.parametrize("history", [100, 4])  # 4: the ring of pairs wraps around
def test_each_item_follows_its_own_torch_lbfgs_path(history: int, fixed: bool) -> None:
    seeds, steps = [1, 2, 3], 12
    batched = batched_path(seeds, steps, history, fixed=fixed)
    for i, seed in enumerate(seeds):
        alone = torch_path(seed, steps, history)
        for k in range(steps):
            assert torch.allclose(batched[k][i], alone[k], rtol=1e-4, atol=1e-5), (seed, k)


def test_a_frozen_item_stops_and_the_others_go_on_unchanged() -> None:
    steps = 10
    batched = batched_path([1, 2, 3], steps, 100, frozen=1)
    assert torch.equal(batched[-1][1], batched[2][1])  # frozen after its third step
    for i, seed in ((0, 1), (2, 3)):
        assert torch.allclose(batched[-1][i], torch_path(seed, steps, 100)[-1], rtol=1e-4, atol=1e-5)


def test_fixed_history_steps_keep_their_tensors_in_place_as_a_cuda_graph_needs() -> None:
    """A captured graph replays on the addresses it saw: every step must read and write the same tensors."""
    a, b = problem(5)
    x = torch.zeros(2, a.shape[1], requires_grad=True)
    opt = BatchedLBFGS(x, 6, fixed=True)
    state = ("_S", "_Y", "_SY", "_YY", "_count", "_gamma", "_started", "_d", "_t", "_prev_g")
    addresses = None
    for _ in range(9):  # past the ring's length, so slots are reused
        x.grad = None
        cost(x, a, b).sum().backward()
        opt.step(x.grad)
        found = {name: getattr(opt, name).data_ptr() for name in state}
        assert addresses in (None, found)
        addresses = found
    assert int(opt._count.min()) == 8  # every step after the first kept its pair
