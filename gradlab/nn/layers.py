"""Analog layers: Linear and Conv2d whose inputs, parameters and outputs pass gradlab chains, as AnalogVNN places them.

Where the chains go is the network's :class:`Placement`; whether they act, and where f' is taken,
its :class:`Analog` state, shared by every layer of one network (the training loop sets the step
of its draws and switches the noise off for the clean network). A :class:`Block` is one layer,
its output chain and its activation, so the activation can be told to take f' before the
output chain (the clean-gradient control).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from gradlab.nn.activations import AnalogActivation
from gradlab.nn.chains import AnalogChain, Draws
from gradlab.perturbations import Chain, Clamp, Quantize, Stage

__all__ = ["SITES", "Analog", "AnalogConv1d", "AnalogConv2d", "AnalogConv3d", "AnalogDropout", "AnalogLinear", "Block",
           "ChainedActivation", "Placement"]

#: The places a chain can act, and the role code each has in a draw's site ('weights_backward': the
#: second draw of the weight chain that :attr:`Placement.redraw_backward` uses in the backward pass).
SITES = {"inputs": 0, "weights": 1, "bias": 2, "outputs": 3, "dropout": 4, "weights_backward": 5}


def _stages(chain: Chain | Sequence[Stage] | None) -> tuple[Stage, ...]:
    if chain is None:
        return ()
    return tuple(chain.stages) if isinstance(chain, Chain) else tuple(chain)


@dataclass(frozen=True)
class Placement:
    """The chain on each site: a layer's inputs, its weights and biases (every forward pass), its outputs.

    :meth:`paper` builds the placement of the paper's code from one chain (gl.analog's order, noise
    -> Clamp -> Quantize, on outputs; its deterministic stages first and noise last on inputs and
    parameters, AnalogVNN's order there: Clamp and Quantize, then the noise). :meth:`only` keeps one
    site, :meth:`clamps` only the
    Clamp stages (range limits without noise or quantization).

    ``redraw_backward`` (Linear layers only) is the backward pass of AnalogVNN's own ``Linear``,
    which the paper's code used until April 2024 (``src/nn/ConvModel.py``): its backward reads the
    parametrized weight again, so the input gradient is ``grad @ W~'`` with a fresh draw ``W~'`` of
    the weight chain (site role 'weights_backward'), while the weight and bias gradients are
    those of the forward pass. False (the default) is ``torch.nn.Linear``'s backward, the one of
    the paper's final ``src/run_conv.py``: the input gradient uses the forward pass's ``W~``.
    """

    inputs: tuple[Stage, ...] = ()
    weights: tuple[Stage, ...] = ()
    outputs: tuple[Stage, ...] = ()
    redraw_backward: bool = False

    @classmethod
    def paper(cls, chain: Chain | Sequence[Stage] | None, *, redraw_backward: bool = False) -> Placement:
        stages = _stages(chain)
        ranged = tuple(s for s in stages if isinstance(s, (Clamp, Quantize)))
        noise = tuple(s for s in stages if not isinstance(s, (Clamp, Quantize)))
        return cls(inputs=ranged + noise, weights=ranged + noise, outputs=stages, redraw_backward=redraw_backward)

    def only(self, *sites: str) -> Placement:
        for s in sites:
            if s not in ("inputs", "weights", "outputs"):
                raise ValueError(f"placement site must be 'inputs', 'weights' or 'outputs', got {s!r}")
        return Placement(**{s: getattr(self, s) if s in sites else () for s in ("inputs", "weights", "outputs")},
                         redraw_backward=self.redraw_backward)

    def clamps(self) -> Placement:
        sites = ("inputs", "weights", "outputs")
        return Placement(**{s: tuple(st for st in getattr(self, s) if isinstance(st, Clamp)) for s in sites},
                         redraw_backward=self.redraw_backward)


@dataclass
class Analog:
    """The state every layer of one network shares: its draws, whether chains act, where f' is taken."""

    draws: Draws = field(default_factory=lambda: Draws(0))
    #: False: the clean network (no chain acts anywhere; the same weights).
    noisy: bool = True
    #: True: every activation takes f' at its layer's output before the output chain.
    clean_gradient: bool = False
    #: Calls per module in the current forward pass (None: not counted, every module runs once); a
    #: module that runs again draws fresh numbers. :class:`~gradlab.nn.analogize.AnalogModel` counts.
    calls: dict | None = None

    def call(self, module: nn.Module) -> int:
        """How often ``module`` ran before in this forward pass (0 where calls are not counted)."""
        if self.calls is None:
            return 0
        k = self.calls.get(id(module), 0)
        self.calls[id(module)] = k + 1
        return k


class _AnalogParams(nn.Module):
    """The input and parameter chains of a layer (``index`` numbers the layer in its network)."""

    def __init__(self, analog: Analog, placement: Placement, index: int):
        super().__init__()
        self.analog = analog
        self.input_chain = AnalogChain(placement.inputs, (index, SITES["inputs"]))
        self.weight_chain = AnalogChain(placement.weights, (index, SITES["weights"]), straight_through=True)
        self.bias_chain = AnalogChain(placement.weights, (index, SITES["bias"]), straight_through=True)
        self.redraw = placement.redraw_backward and bool(placement.weights)
        self.backward_chain = AnalogChain(placement.weights if self.redraw else (),
                                          (index, SITES["weights_backward"]), straight_through=True)

    def perturbed(self, x, weight, bias):
        if not self.analog.noisy:
            return x, weight, bias
        draws, k = self.analog.draws, self.analog.call(self)
        x = self.input_chain(x, draws, call=k)
        weight = self.weight_chain(weight, draws, call=k)
        bias = None if bias is None else self.bias_chain(bias, draws, call=k)
        return x, weight, bias

    def redrawn(self, weight: torch.Tensor) -> torch.Tensor | None:
        """The second draw of the weight chain for the backward pass (None: the forward pass's weight serves)."""
        if not (self.redraw and self.analog.noisy and torch.is_grad_enabled()):
            return None
        return self.backward_chain(weight.detach(), self.analog.draws)


class _RedrawnLinear(torch.autograd.Function):
    """F.linear(x, w, b) forward; backward as AnalogVNN's Linear: grad @ ``back`` for x, grad^T x and sum(grad)."""

    @staticmethod
    def forward(ctx, x, w, b, back):
        ctx.save_for_backward(x, back)
        ctx.has_bias = b is not None
        return F.linear(x, w, b)

    @staticmethod
    def backward(ctx, grad):
        x, back = ctx.saved_tensors
        g2 = grad.reshape(-1, grad.shape[-1])
        grad_x = grad @ back if ctx.needs_input_grad[0] else None
        grad_w = g2.t() @ x.reshape(-1, x.shape[-1])
        grad_b = g2.sum(0) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None


class AnalogLinear(nn.Linear):
    """nn.Linear with the placement's input and parameter chains (its output chain is its Block's).

    With :attr:`Placement.redraw_backward` its backward is AnalogVNN's Linear's (a fresh weight draw
    for the input gradient)."""

    def __init__(self, in_features: int, out_features: int, *, analog: Analog, placement: Placement, index: int,
                 bias: bool = True):
        super().__init__(in_features, out_features, bias=bias)
        self.chains = _AnalogParams(analog, placement, index)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, weight, bias = self.chains.perturbed(x, self.weight, self.bias)
        back = self.chains.redrawn(self.weight)
        if back is None:
            return F.linear(x, weight, bias)
        return _RedrawnLinear.apply(x, weight, bias, back)


class _AnalogConv:
    """The forward pass of an analog convolution (any dimension): chains on its input and parameters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, weight, bias = self.chains.perturbed(x, self.weight, self.bias)
        return self._conv_forward(x, weight, bias)


class AnalogConv2d(_AnalogConv, nn.Conv2d):
    """nn.Conv2d with the placement's input and parameter chains (keyword arguments as nn.Conv2d's)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, analog: Analog, placement: Placement,
                 index: int, **conv):
        super().__init__(in_channels, out_channels, kernel_size, **conv)
        self.chains = _AnalogParams(analog, placement, index)


class AnalogConv1d(_AnalogConv, nn.Conv1d):
    """nn.Conv1d with the placement's input and parameter chains."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, analog: Analog, placement: Placement,
                 index: int, **conv):
        super().__init__(in_channels, out_channels, kernel_size, **conv)
        self.chains = _AnalogParams(analog, placement, index)


class AnalogConv3d(_AnalogConv, nn.Conv3d):
    """nn.Conv3d with the placement's input and parameter chains."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, analog: Analog, placement: Placement,
                 index: int, **conv):
        super().__init__(in_channels, out_channels, kernel_size, **conv)
        self.chains = _AnalogParams(analog, placement, index)


def _activate(site: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """A site's output chain on ``z``, then its activation; watched by the site's probe when one is set."""
    analog, probe = site.analog, site.probe
    out = site.output_chain(z, analog.draws, probe, call=analog.call(site)) if analog.noisy else z
    if site.activation is None:
        return out
    at = z if analog.clean_gradient else out
    if probe is not None:
        return probe.apply(site.activation, out, at, z)
    return site.activation(out, at)


class Block(nn.Module):
    """One layer, its output chain, then its activation (None: the output chain only).

    ``bound`` (None: unbounded) caps the activation's output, ``min(f(z), bound)``: a number, or a
    tensor that broadcasts over the batch (one threshold per unit: ProAct's clipping thresholds).
    It is not a parameter and not saved with the weights; set it on a trained network.
    ``clip`` (None: none) is a module applied to the activation's output after that, ProAct's
    clipped activation with trainable thresholds (:class:`gradlab.nn.proact.Clip`), a submodule
    once set.
    """

    def __init__(self, layer: nn.Module, activation: AnalogActivation | None, *, analog: Analog,
                 placement: Placement, index: int):
        super().__init__()
        self.layer, self.activation, self.analog = layer, activation, analog
        self.output_chain = AnalogChain(placement.outputs, (index, SITES["outputs"]))
        self.bound: torch.Tensor | float | None = None
        #: A :class:`~gradlab.nn.probes.SiteProbe` while diagnostics watch this block (None otherwise).
        self.probe = None
        self.clip: nn.Module | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _activate(self, self.layer(x))
        if self.activation is None:
            return h
        if self.bound is not None:
            h = torch.minimum(h, torch.as_tensor(self.bound, dtype=h.dtype, device=h.device))
        return h if self.clip is None else self.clip(h)


class ChainedActivation(nn.Module):
    """An activation whose input passes the placement's output chain first: f(chain(x)), f' at chain(x).

    What :func:`~gradlab.nn.analogize.analogize` puts in place of a model's activation module (a
    :class:`Block` without its layer: the layer before it may be any module).
    """

    def __init__(self, activation: AnalogActivation, *, analog: Analog, placement: Placement, index: int):
        super().__init__()
        self.activation, self.analog = activation, analog
        self.output_chain = AnalogChain(placement.outputs, (index, SITES["outputs"]))
        self.probe = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _activate(self, x)


class AnalogDropout(nn.Module):
    """Dropout whose mask comes from the network's draws: both passes of a two-pass control share it."""

    def __init__(self, p: float, *, analog: Analog, index: int):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {p!r}")
        self.p, self.analog, self.site = float(p), analog, (index, SITES["dropout"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        k = self.analog.call(self)
        keep = self.analog.draws.uniform((*self.site, k) if k else self.site, x) >= self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
