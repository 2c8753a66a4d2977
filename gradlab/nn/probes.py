"""What an activation site records while gradlab's diagnostics watch it.

A :class:`SiteProbe` set on a :class:`~gradlab.nn.layers.Block` or a
:class:`~gradlab.nn.layers.ChainedActivation` sees, at every forward pass, the site's input x (the
layer's output before its output chain), the perturbed input x~ the activation receives, and the
derivative the backward pass will take there, next to the exact f'(x) of the site's activation.
In the backward pass it records the local effect of that difference on the gradient (incoming
gradient times the derivative taken, against incoming gradient times the exact one) and, when
told to, hands the exact one on instead: one forward pass, two backward passes, the gradient
error alone between them.
"""
from __future__ import annotations

import numpy as np
import torch

from gradlab.activations import Activation, ActivationBase
from gradlab.nn.activations import numpy_apply

__all__ = ["SiteProbe", "kink_sides"]


def kink_sides(act: ActivationBase) -> list[tuple[float, int]]:
    """For each jump of f': (location, the side its own value at the point belongs to: -1 left, +1 right, 0 neither)."""
    frame = act.kinks_frame() if isinstance(act, Activation) else None
    if frame is None:
        return [(float(x), 0) for x in act.jump_points(-np.inf, np.inf)]
    out = []
    for row in frame.itertuples():
        if row.jump_df == 0:
            continue
        at = float(act.df(np.array([row.x]))[0])
        side = -1 if at == row.df_left else 1 if at == row.df_right else 0
        out.append((float(row.x), side))
    return out


def _sides(v: torch.Tensor, kink: float, own: int) -> torch.Tensor:
    return torch.where(v < kink, -1, torch.where(v > kink, 1, own))


class SiteProbe:
    """Sums over the units an activation site saw since :meth:`reset` (float64, on the CPU).

    ``reference`` is the activation whose exact f' the site is held to; ``keep=True`` also keeps
    every unit's x and |f'_taken(x~) - f'(x)| (the prediction pairs them with gradlab's e(x)).
    """

    def __init__(self, reference: ActivationBase, *, keep: bool = False):
        self.reference, self.keep = reference, keep
        self.kinks = kink_sides(reference)
        #: True: the backward pass multiplies by the exact f'(x) instead of the derivative taken at x~.
        self.exact_backward = False
        #: False: forward passes are not recorded (the clean network's pass).
        self.recording = True
        self.reset()

    def reset(self) -> None:
        self.units = 0
        self.error_sum = self.error_sq = 0.0
        self.crossings = 0
        self.clamped = self.clamp_units = 0
        #: <a, b>, |a|^2, |b|^2, |a - b|^2 with a = grad x derivative taken, b = grad x exact f'.
        self.local = np.zeros(4)
        self.kept_x: list[np.ndarray] = []
        self.kept_error: list[np.ndarray] = []

    def count_clamp(self, v: torch.Tensor, lo: float, hi: float) -> None:
        """A Clamp stage of the site's chain: how many values it receives lie outside [lo, hi]."""
        if self.recording:
            self.clamped += int(((v < lo) | (v > hi)).sum())
            self.clamp_units += v.numel()

    def record(self, x: torch.Tensor, xt: torch.Tensor, taken: torch.Tensor, exact: torch.Tensor) -> None:
        if not self.recording:
            return
        err = (taken - exact).abs()
        self.units += err.numel()
        self.error_sum += float(err.sum(dtype=torch.float64))
        self.error_sq += float((err * err).sum(dtype=torch.float64))
        if self.kinks:
            crossed = torch.zeros(x.shape, dtype=torch.bool, device=x.device)
            for kink, own in self.kinks:
                crossed |= _sides(x, kink, own) != _sides(xt, kink, own)
            self.crossings += int(crossed.sum())
        if self.keep:
            self.kept_x.append(x.detach().to("cpu", torch.float64).reshape(-1).numpy().copy())
            self.kept_error.append(err.detach().to("cpu", torch.float64).reshape(-1).numpy())

    def record_local(self, grad: torch.Tensor, taken: torch.Tensor, exact: torch.Tensor) -> None:
        """The local sums of a = grad x taken against b = grad x exact, accumulated in float64."""
        g2 = grad * grad
        sums = [(g2 * taken * exact).sum(dtype=torch.float64), (g2 * taken * taken).sum(dtype=torch.float64),
                (g2 * exact * exact).sum(dtype=torch.float64)]
        gap = taken - exact
        sums.append((g2 * gap * gap).sum(dtype=torch.float64))
        self.local += torch.stack(sums).cpu().numpy()

    def apply(self, module, xt: torch.Tensor, at: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """f(x~) through ``module`` (an AnalogActivation), its backward watched; ``at``: where it takes f'."""
        return _Probed.apply(xt, at.detach(), x.detach(), module, self)


class _Probed(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xt, at, x, module, probe):
        taken = module.derivative(at)
        exact = numpy_apply(probe.reference.df, x)
        probe.record(x, xt, taken, exact)
        ctx.probe = probe
        ctx.save_for_backward(taken, exact)
        return module.value(xt)

    @staticmethod
    def backward(ctx, grad):
        taken, exact = ctx.saved_tensors
        probe = ctx.probe
        if probe.exact_backward:
            return grad * exact, None, None, None, None
        if probe.recording:
            probe.record_local(grad, taken, exact)
        return grad * taken, None, None, None, None
