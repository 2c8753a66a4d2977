"""The paper's networks (GeLUReLUInterpolation ``src/run_conv.py`` on AnalogVNN 1.0.8), built from analog layers.

Around every Linear / Conv2d layer the placement's chains act on its input, its weights and biases
and its output; then the activation follows, except after the classifier: the logits pass the
output chain (noise -> Clamp -> Quantize) and go to the loss as they are, as in the paper's final
``src/run_conv.py``. Its code before April 2024 (``src/nn/ConvModel.py``, on AnalogVNN's own
``Linear``) also applied the activation to the logits (``logit_activation=True``) and redrew the
weight noise for the input gradient (``Placement.paper(chain, redraw_backward=True)``);
tests/nn/test_analogvnn.py holds both against AnalogVNN.
Linear weights start Kaiming-uniform (``nn.init.kaiming_uniform_``, as the paper's code); biases
and convolutions keep PyTorch's defaults. A network is built under ``torch.manual_seed(seed)`` in
a forked random state: two networks of one shape and seed start from the same weights, whatever
their activation, and the caller's random state is left alone.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
from torch import nn

from gradlab._validate import check_int
from gradlab.nn.activations import AnalogActivation
from gradlab.nn.layers import Analog, AnalogConv2d, AnalogDropout, AnalogLinear, Block, Placement
from gradlab.perturbations import Chain, Stage

__all__ = ["AnalogNet", "paper_convnet", "paper_fcn", "run_clean"]


class AnalogNet(nn.Module):
    """A sequence of blocks, pools and dropouts sharing one :class:`~gradlab.nn.layers.Analog` state."""

    def __init__(self, layers: Sequence[nn.Module], analog: Analog, *, activation: str, placement: Placement):
        super().__init__()
        self.layers = nn.Sequential(*layers)
        self.analog, self.activation_label, self.placement = analog, activation, placement

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@torch.no_grad()
def run_clean(net: AnalogNet, x: torch.Tensor, hooks: Sequence[tuple[nn.Module, Callable]], *,
              chunk: int = 500) -> None:
    """``net`` on ``x`` in chunks of ``chunk``, clean (no chain, dropout off), with a forward hook on each given
    module for the run (what calibrations read); the hooks removed and the network's mode restored afterwards."""
    handles = [module.register_forward_hook(fn) for module, fn in hooks]
    was_training, was_noisy = net.training, net.analog.noisy
    net.eval()
    net.analog.noisy = False
    try:
        for start in range(0, len(x), chunk):
            net(x[start : start + chunk])
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
        net.analog.noisy = was_noisy


def _placement(chain, placement: Placement | None) -> Placement:
    if placement is not None and chain is not None:
        raise ValueError("give either chain= (the paper's placement of one chain) or placement=, not both")
    return placement if placement is not None else Placement.paper(chain)


def _linear_blocks(sizes: Sequence[int], act: AnalogActivation, analog: Analog, where: Placement, *, first: int,
                   dropout: float, logit_activation: bool, logit_chain: bool = True) -> list[nn.Module]:
    """Linear blocks sizes[0] -> ... -> sizes[-1] (Kaiming-uniform weights), numbered from ``first``, dropout
    after each hidden one; the classifier's activation and output chain as asked."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = AnalogLinear(n_in, n_out, analog=analog, placement=where, index=first + i)
        nn.init.kaiming_uniform_(linear.weight)
        last = i == len(sizes) - 2
        layers.append(Block(linear, act if (logit_activation or not last) else None, analog=analog,
                            placement=where if (logit_chain or not last) else replace(where, outputs=()),
                            index=first + i))
        if not last and dropout:
            layers.append(AnalogDropout(dropout, analog=analog, index=first + i))
    return layers


def paper_fcn(
    sizes: Sequence[int],
    activation,
    chain: Chain | Sequence[Stage] | None = None,
    *,
    placement: Placement | None = None,
    dropout: float = 0.5,
    logit_activation: bool = False,
    logit_chain: bool = True,
    seed: int = 0,
) -> AnalogNet:
    """The paper's fully connected network: ``sizes`` = [inputs, hidden..., classes], e.g. [784, 128, 64, 10].

    Each hidden block is followed by dropout (0.5 in the paper's code; 0: none). ``activation`` is
    anything :func:`gradlab.activation` takes; ``chain`` is placed as :meth:`Placement.paper` says,
    or ``placement`` gives every site's chain. ``logit_chain=False`` leaves the classifier's output
    out of the output chain (the chain on the hidden layers' outputs only; its inputs and weights
    keep theirs).
    """
    sizes = [check_int("sizes", s, minimum=1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least [inputs, classes], got {sizes!r}")
    where = _placement(chain, placement)
    analog = Analog()
    act = AnalogActivation(activation)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_int("seed", seed, minimum=0))
        layers = [nn.Flatten(), *_linear_blocks(sizes, act, analog, where, first=0, dropout=dropout,
                                                logit_activation=logit_activation, logit_chain=logit_chain)]
    return AnalogNet(layers, analog, activation=act.act.label, placement=where)


def paper_convnet(
    activation,
    chain: Chain | Sequence[Stage] | None = None,
    *,
    placement: Placement | None = None,
    input_shape: tuple[int, int, int] = (1, 28, 28),
    classes: int = 10,
    widths: Sequence[int] = (16, 16, 32, 32, 64, 64),
    linear: Sequence[int] = (128, 64),
    logit_activation: bool = False,
    seed: int = 0,
) -> AnalogNet:
    """The paper's ConvNet: six 3x3 convolutions (padding 1, none, 1, none, 1, none) with a 2x2 max-pool after
    the 2nd, 4th and 6th, dropout 0.25 before the 3rd and after the 4th and 6th, then linear layers with
    dropout 0.5 and the classifier.

    The paper's widths are 48-48-96-96-192-192 and linear 512-256 (``widths=``, ``linear=``); the
    defaults are a third of them, so that a network trains in seconds on 2 CPU cores.
    """
    widths = [check_int("widths", w, minimum=1) for w in widths]
    if len(widths) != 6:
        raise ValueError(f"widths must hold the six convolution widths, got {widths!r}")
    where = _placement(chain, placement)
    analog = Analog()
    act = AnalogActivation(activation)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_int("seed", seed, minimum=0))
        layers: list[nn.Module] = []
        channels = input_shape[0]
        index = 0
        for k, width in enumerate(widths):
            if k == 2:
                layers.append(AnalogDropout(0.25, analog=analog, index=100 + k))
            conv = AnalogConv2d(channels, width, 3, padding=1 if k % 2 == 0 else 0, analog=analog, placement=where,
                                index=index)
            layers.append(Block(conv, act, analog=analog, placement=where, index=index))
            index += 1
            channels = width
            if k % 2 == 1:
                layers.append(nn.MaxPool2d(2, 2))
                if k >= 3:
                    layers.append(AnalogDropout(0.25, analog=analog, index=100 + k))
        layers.append(nn.Flatten())
        with torch.no_grad():
            probe = nn.Sequential(*layers)(torch.zeros(1, *input_shape))
        sizes = [probe.shape[1], *[check_int("linear", n, minimum=1) for n in linear], classes]
        layers += _linear_blocks(sizes, act, analog, where, first=index, dropout=0.5,
                                 logit_activation=logit_activation)
    return AnalogNet(layers, analog, activation=act.act.label, placement=where)
