"""L-BFGS for a batch of independent images, entirely on the device.

It takes the same steps as ``torch.optim.LBFGS(lr=1, max_iter=1, history_size=m,
tolerance_grad=-1, tolerance_change=-1)`` called once per step - the optimiser of Gatys et al.
and neural-style - but for B problems at once, each with its own history and step, and
without a single host synchronisation per step:

* torch's two-loop recursion walks the history in Python, one small kernel pair per stored
  pair (up to 2 x 100 per step) and reads scalars back to the host to decide what to keep.
  Here the inverse-Hessian product uses the compact representation of Byrd, Nocedal and
  Schnabel (1994; Nocedal & Wright eq. 7.24), a handful of batched matmuls and two small
  triangular solves, whatever the history length. In exact arithmetic it is the same matrix.
* every decision torch takes on the host (keep a pair only if s.y > 1e-10, skip a step that is
  not a descent direction) is a per-item mask, so one batch item never changes another's path.

The history of each item is a ring of ``m`` (s, y) pairs; the Gram products S^T Y and Y^T Y are
kept up to date one row and column per step instead of being recomputed.

No step takes a decision on the host: the first step (a steepest-descent step scaled by
1/|g|_1, as torch's) is a per-item ``torch.where`` on a device flag, and all state is updated in
place. With ``fixed=True`` every step also has the same shapes (all ``m`` slots take part, the
unused ones masked out), so the tensors a step reads and writes keep their addresses from the
first step on: a whole rung of steps can be captured once in a CUDA graph and replayed, with
the loss read back only when a preview or the end needs it. Without it (the CPU default) the
first ``m`` steps use only the slots filled so far, which costs less while the history is short.
"""

from __future__ import annotations

import torch

CURVATURE_EPS = 1e-10  # torch's threshold on s.y for keeping a pair
NOT_DESCENT = 1.0  # torch skips the step when g.d > -tolerance_change, i.e. > 1 with tolerances off


class BatchedLBFGS:
    """Steps ``x`` (B x ...) given each item's gradient; ``active`` items only (others stay where they are)."""

    def __init__(self, x: torch.Tensor, history: int, lr: float = 1.0, fixed: bool = False):
        self.x, self.m, self.lr, self.fixed = x, history, lr, fixed
        self.batch, self.n = x.shape[0], x[0].numel()
        self.active = torch.ones(self.batch, dtype=torch.bool, device=x.device)
        self.steps = 0  # host-side count of calls (never read back from the device)
        self._rows = torch.arange(self.batch, device=x.device)
        self._S = x.new_zeros(self.batch, history, self.n)  # steps s, ring order
        self._Y = x.new_zeros(self.batch, history, self.n)  # gradient changes y
        self._SY = x.new_zeros(self.batch, history, history)  # [i, j] = s_i . y_j
        self._YY = x.new_zeros(self.batch, history, history)  # [i, j] = y_i . y_j
        self._count = torch.zeros(self.batch, dtype=torch.long, device=x.device)  # pairs kept so far
        self._gamma = x.new_ones(self.batch)  # the initial Hessian scale, s.y / y.y of the newest pair
        self._started = torch.zeros(self.batch, dtype=torch.bool, device=x.device)  # a first step was taken
        self._d = x.new_zeros(self.batch, self.n)  # the last direction
        self._t = x.new_zeros(self.batch)  # and its step length
        self._prev_g = x.new_zeros(self.batch, self.n)

    @torch.no_grad()
    def step(self, grad: torch.Tensor) -> None:
        """One L-BFGS iteration from the gradient at the current ``x`` (no host synchronisation)."""
        g = grad.reshape(self.batch, self.n).float()
        s, y = self._d * self._t[:, None], g - self._prev_g
        ys = (s * y).sum(1)
        keep = (ys > CURVATURE_EPS) & self.active & self._started
        self._remember(s, y, ys, keep)
        d = -self._inverse_hessian_times(g)  # -g while no pair is kept (gamma = 1)
        first = (1.0 / g.abs().sum(1)).clamp(max=1.0) * self.lr  # torch's first step length
        t = torch.where(self._started, torch.full_like(ys, self.lr), first)
        move = self.active & ((g * d).sum(1) <= NOT_DESCENT)
        self.x.view(self.batch, self.n).add_(torch.where(move, t, torch.zeros_like(t))[:, None] * d)
        self._prev_g.copy_(g)
        self._d.copy_(d)
        self._t.copy_(t)
        self._started.copy_(self._started | self.active)
        self.steps += 1

    def _remember(self, s: torch.Tensor, y: torch.Tensor, ys: torch.Tensor, keep: torch.Tensor) -> None:
        """Store (s, y) in each keeping item's ring, and update the small Gram matrices."""
        rows, slot, used = self._rows, self._count % self.m, self._used()
        k3 = keep[:, None, None]
        self._S[rows, slot] = torch.where(keep[:, None], s, self._S[rows, slot])
        self._Y[rows, slot] = torch.where(keep[:, None], y, self._Y[rows, slot])
        S, Y = self._S[:, :used], self._Y[:, :used]
        s_y_all = torch.bmm(S, y[:, :, None])[..., 0]  # s_i . y_new (slot's own entry: s.y)
        s_new_y = torch.bmm(Y, s[:, :, None])[..., 0]  # s_new . y_j
        y_y = torch.bmm(Y, y[:, :, None])[..., 0]
        SY, YY = self._SY.clone(), self._YY.clone()
        SY[rows, :used, slot], SY[rows, slot, :used] = s_y_all, s_new_y
        SY[rows, slot, slot] = ys
        YY[rows, :used, slot], YY[rows, slot, :used] = y_y, y_y
        self._SY.copy_(torch.where(k3, SY, self._SY))
        self._YY.copy_(torch.where(k3, YY, self._YY))
        self._gamma.copy_(torch.where(keep, ys / (y * y).sum(1), self._gamma))
        self._count.add_(keep.long())

    def _used(self) -> int:
        """Ring slots that take part: all ``m`` with ``fixed`` (static shapes); else those that may hold a
        pair, since no item has kept more pairs than steps were taken (a host-side count, no sync)."""
        return self.m if self.fixed else max(1, min(self.steps, self.m))

    def _inverse_hessian_times(self, g: torch.Tensor) -> torch.Tensor:
        """H g for each item, H the L-BFGS inverse Hessian of its kept pairs (compact form).

        Only the slots in use so far take part, so a short history costs little, as in torch's loop.
        """
        m, k, gamma = self.m, self._used(), self._gamma
        S, Y = self._S[:, :k], self._Y[:, :k]
        held = self._count.clamp(max=m)
        age = torch.arange(k, device=g.device)
        order = (self._count[:, None] - held[:, None] + age) % m  # slots, oldest pair first
        valid = age[None, :] < held[:, None]
        both = valid[:, :, None] & valid[:, None, :]
        a = torch.gather(torch.bmm(S, g[:, :, None])[..., 0], 1, order) * valid  # S^T g
        b = torch.gather(torch.bmm(Y, g[:, :, None])[..., 0], 1, order) * valid * gamma[:, None]
        SY = _reorder(self._SY[:, :k, :k], order) * both
        YY = _reorder(self._YY[:, :k, :k], order) * both
        eye = torch.eye(k, device=g.device, dtype=g.dtype).expand_as(SY)
        R = torch.triu(SY) + eye * (~valid)[:, None, :]  # unused slots: identity, so they drop out
        D = torch.diagonal(SY, dim1=1, dim2=2)
        r_a = torch.linalg.solve_triangular(R, a[:, :, None], upper=True)  # R^-1 S^T g
        inner = D[:, :, None] * r_a + gamma[:, None, None] * torch.bmm(YY, r_a) - b[:, :, None]
        top = torch.linalg.solve_triangular(R.transpose(1, 2), inner, upper=False)[..., 0]
        coef_s = torch.zeros_like(a).scatter(1, order, top * valid)
        coef_y = torch.zeros_like(a).scatter(1, order, -r_a[..., 0] * valid) * gamma[:, None]
        return gamma[:, None] * g + torch.bmm(coef_s[:, None, :], S)[:, 0] + torch.bmm(coef_y[:, None, :], Y)[:, 0]


def _reorder(matrix: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """``matrix[b][order[b]][:, order[b]]`` for every item b."""
    rows = torch.gather(matrix, 1, order[:, :, None].expand_as(matrix))
    return torch.gather(rows, 2, order[:, None, :].expand_as(matrix))
