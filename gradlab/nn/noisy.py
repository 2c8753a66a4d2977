"""The noisy-training lab on the torch lab: a digits MLP with the chain on every hidden layer's output.

:func:`digits_mlp` is the small network of gradlab's network queries (this one and the companion
experiments, :mod:`gradlab.nn.companion`): scikit-learn's 8x8 digits (``load_dataset('digits')``),
``depth`` hidden layers of ``hidden`` units, no dropout, logits without an activation. It is the
paper's FCN (:func:`~gradlab.nn.models.paper_fcn`) in that shape: Kaiming-uniform weights (the
variance of He initialization), PyTorch's default biases, all from the seed.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from gradlab.nn.data import load_dataset
from gradlab.nn.layers import Placement
from gradlab.nn.models import AnalogNet, paper_fcn
from gradlab.nn.training import torch_threads, train_network
from gradlab.perturbations import Chain, Stage
from gradlab.queries._common import ActivationLike, arguments_checked, as_activations, as_chain
from gradlab.queries.networks import check_training

__all__ = ["digits_mlp", "train_noisy"]

#: The digits' 8x8 pixels and 10 classes.
DIGITS_INPUTS, DIGITS_CLASSES = 64, 10


def digits_mlp(activation, depth: int, hidden: int, placement: Placement, *, seed: int) -> AnalogNet:
    """The digits MLP: 64 inputs, ``depth`` hidden layers of ``hidden`` units, 10 logits.

    ``placement`` gives the chains on layer inputs, weights and biases, and hidden layers' outputs
    (the logits never pass the output chain, nor an activation). No dropout.
    """
    sizes = [DIGITS_INPUTS, *[hidden] * depth, DIGITS_CLASSES]
    return paper_fcn(sizes, activation, placement=placement, dropout=0.0, logit_activation=False, logit_chain=False,
                     seed=seed)


def train_noisy(
    activation_: ActivationLike,
    chain: Chain | Stage | Sequence[Stage] | None,
    *,
    depth: int = 2,
    hidden: int = 64,
    epochs: int = 20,
    batch: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
) -> pd.DataFrame:
    """Train the digits MLP (:func:`digits_mlp`) with the chain on every hidden pre-activation, training and test.

    Needs the ``torch`` extra. ``chain=None`` trains cleanly. The
    chain acts in every forward pass (fresh draws at every step, from ``seed``); backward, its
    noise and quantization are straight-through, a Clamp masks (AnalogVNN's rule), and f' is taken
    at the perturbed value. Adam, one torch thread, the fixed split of :func:`~gradlab.nn.load_dataset`
    (1,347 / 450 images; the seed draws the weights, the batch order and the noise).

    Returns one row per epoch: seed, hidden, depth, chain, activation, epoch, train_loss and
    train_accuracy (over the epoch's batches as trained), test_loss and test_accuracy (the test
    split through the same chain, with draws of its own).
    """
    act = as_activations(activation_)[0]
    ch = None if chain is None else as_chain(chain)
    # The arguments, and the run's memory and work against the budget, before any work.
    kwargs = check_training(depth, hidden, epochs, batch, lr, seed)
    depth, hidden = kwargs.pop("depth"), kwargs.pop("hidden")
    arguments_checked()
    net = digits_mlp(act, depth, hidden, Placement(outputs=() if ch is None else tuple(ch.stages)), seed=seed)
    with torch_threads(1):
        frame = train_network(net, load_dataset("digits"), **kwargs)
    frame = frame[["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]]
    for k, v in (("activation", act.label), ("chain", repr(ch)), ("depth", depth), ("hidden", hidden), ("seed", seed)):
        frame.insert(0, k, v)
    return frame
