"""gradlab activations as PyTorch autograd functions: f and f' from the one symbolic definition.

Forward evaluates f, backward multiplies the incoming gradient by f' at the point it is told to
(normally the activation's own, perturbed, input), both through the activation's compiled
kernels in float64 and returned in the tensor's dtype. So a network trained here uses exactly the
derivative (kink convention included) whose error gradlab's engines compute.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

import gradlab as gl

__all__ = ["AnalogActivation", "activation_function", "numpy_apply"]


def numpy_apply(fn: Callable[[np.ndarray], np.ndarray], t: torch.Tensor) -> torch.Tensor:
    """``fn`` (float64 NumPy in, out) on a tensor's values, returned in the tensor's dtype and on its device."""
    values = t.detach().to("cpu", torch.float64).contiguous().numpy()
    return torch.from_numpy(np.asarray(fn(values), dtype=np.float64)).to(device=t.device, dtype=t.dtype)


class _Function(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, at, act, derivative):
        ctx.derivative = derivative
        ctx.save_for_backward(at)
        return numpy_apply(act.f, x)

    @staticmethod
    def backward(ctx, grad):
        (at,) = ctx.saved_tensors
        return grad * ctx.derivative(at), None, None, None


def activation_function(act, x: torch.Tensor, at: torch.Tensor | None = None, *,
                        derivative: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """f(x), whose gradient is grad * f'(at) (``at`` defaults to ``x``; it receives no gradient).

    ``derivative`` (default: ``act``'s f') maps ``at`` to the tensor the backward pass multiplies by.
    """
    if derivative is None:
        def derivative(t):
            return numpy_apply(act.df, t)
    return _Function.apply(x, x.detach() if at is None else at.detach(), act, derivative)


class AnalogActivation(nn.Module):
    """An activation module from anything :func:`gradlab.activation` takes ('relu_gelu(i=0.5)', an Activation...).

    ``forward(x, at=None)``: f(x), with f' taken at ``at`` in the backward pass (the clean-gradient
    control passes the value before the output chain).
    """

    def __init__(self, activation, *, kink: str | None = None):
        super().__init__()
        self.act = gl.activation(activation, kink=kink)

    def forward(self, x: torch.Tensor, at: torch.Tensor | None = None) -> torch.Tensor:
        return activation_function(self.act, x, at, derivative=self.derivative)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) as a tensor of ``x``'s dtype and device, outside autograd."""
        return numpy_apply(self.act.f, x)

    def derivative(self, at: torch.Tensor) -> torch.Tensor:
        """The f' the backward pass multiplies by, at ``at`` (the activation's own; a model of faulty
        hardware may replace it on one module)."""
        return numpy_apply(self.act.df, at)

    def extra_repr(self) -> str:
        return self.act.label
