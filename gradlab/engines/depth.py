"""Depth engine: how a perturbed forward pass corrupts backpropagated gradients through L layers.

Random fully connected networks, stacked along a leading "network" axis so every operation is a
batched NumPy matmul (BLAS) or a compiled kernel call; the only Python loops run over layers.
The perturbation chain is applied where analog hardware applies it: to every pre-activation (and,
optionally, to every weight when it is read).  The backward pass uses the activation's symbolic
derivative evaluated at the perturbed pre-activations, which is exactly what makes gradient
errors accumulate with depth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradlab.activations import Activation
from gradlab.perturbations.chain import Chain

__all__ = ["Networks", "backward", "forward", "random_networks"]


@dataclass(frozen=True)
class Networks:
    """A stack of random MLPs.

    weights: list of L arrays (n_nets, width, width); readout: (n_nets, width);
    inputs: (n_nets, batch, width), uniform on [-1, 1] (the analog range).
    """

    weights: list[np.ndarray]
    readout: np.ndarray
    inputs: np.ndarray


def random_networks(depth: int, width: int, n_nets: int, batch: int, rng: np.random.Generator) -> Networks:
    """Variance-preserving (He) initialization: W ~ N(0, 2 / width)."""
    weights = [rng.standard_normal((n_nets, width, width)) * np.sqrt(2.0 / width) for _ in range(depth)]
    readout = rng.standard_normal((n_nets, width)) / np.sqrt(width)
    inputs = rng.uniform(-1.0, 1.0, (n_nets, batch, width))
    return Networks(weights, readout, inputs)


def forward(act: Activation, nets: Networks, chain: Chain | None, seed: tuple, noisy_weights: bool = False):
    """Pre-activations (as perturbed, if ``chain``) and layer outputs, per layer.

    Returns (zs, hs, ws): zs[l] the pre-activations that reach f, hs[l] the input of layer l
    (hs[0] = inputs), ws[l] the weights as read (perturbed when ``noisy_weights``).
    """
    h = nets.inputs
    zs, hs, ws = [], [h], []
    for layer, w in enumerate(nets.weights):
        if chain is not None and noisy_weights:
            w = chain.apply(w, seed=(*seed, layer, 1))
        z = h @ w
        if chain is not None:
            z = chain.apply(z, seed=(*seed, layer, 0))
        h = act.f(z)
        zs.append(z)
        hs.append(h)
        ws.append(w)
    return zs, hs, ws


def backward(act: Activation, nets: Networks, zs, hs, ws):
    """Gradients of the loss sum(h_L @ readout) w.r.t. the inputs and the first-layer weights."""
    delta = np.broadcast_to(nets.readout[:, None, :], hs[-1].shape)
    grad_w1 = None
    for layer in range(len(ws) - 1, -1, -1):
        g = delta * act.df(zs[layer])
        if layer == 0:
            grad_w1 = np.swapaxes(hs[0], 1, 2) @ g
        delta = g @ np.swapaxes(ws[layer], 1, 2)
    return delta, grad_w1


def loss(act: Activation, nets: Networks) -> np.ndarray:
    """Clean loss per network: sum over the batch of h_L @ readout (for finite-difference checks)."""
    _, hs, _ = forward(act, nets, None, ())
    return np.einsum("nbw,nw->n", hs[-1], nets.readout)
