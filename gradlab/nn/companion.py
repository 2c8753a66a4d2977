"""The companion experiments' digits network on the torch lab: training modes, layer-output noise, clipping, bit flips.

One small network (:func:`~gradlab.nn.noisy.digits_mlp`), trained by the one training loop
(:func:`~gradlab.nn.training.train_network`) in three modes (Wang et al., "On Hardening DNNs
against Noisy Computations", arXiv 2501.14531):

- ``clean``: plain training.
- ``qat``: quantization-aware training with constant scaling factors. The forward pass uses
  weights and biases rounded to the grid k / ``qat_precision`` and hidden pre-activations rounded
  to the same grid (gradlab's :class:`~gradlab.Quantize`, the paper's half-toward-zero rule); the
  step never adapts to the data. Backward is straight-through: the quantizers count as the
  identity, the gradient with respect to the rounded weights updates the float weights they were
  rounded from, and f' is taken at the rounded pre-activation.
- ``noisy``: noisy training. Every hidden layer's output (its pre-activation) gets the
  evaluation's noise model during training, fresh draws at every step from the seed;
  backpropagation takes f' at the noisy value and the noise as a constant.

The noise model is :class:`~gradlab.nn.chains.RangeGaussian` on each hidden layer's output: z +
eta * max|z| * N(0, 1), the scale following the layer's output range over the batch at hand (the
paper's "noise relative to the layer's output range"). The logits get no noise.

For ProAct (Mousavi et al., arXiv 2406.06313), :func:`clip_thresholds` measures clipping
thresholds on the training data and :func:`mlp_accuracy` caps hidden activations at them (a
:class:`~gradlab.nn.layers.Block`'s ``bound``) and injects bit flips (gradlab's
:class:`~gradlab.BitFlip` stage, in the words of :data:`BIT_WORDS`) into the stored weights and
biases or into the hidden layers' outputs.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from gradlab.conventions import CLIPPING, FLIP_SITES, TRAIN_MODES
from gradlab.nn.chains import Draws, RangeGaussian
from gradlab.nn.data import load_dataset
from gradlab.nn.layers import Block, Placement
from gradlab.nn.models import AnalogNet
from gradlab.nn.noisy import digits_mlp
from gradlab.nn.training import evaluate, train_network
from gradlab.perturbations import BitFlip, Quantize
from gradlab.perturbations.chain import seed_of

__all__ = ["BIT_WORDS", "TrainedMLP", "clip_thresholds", "hidden_blocks", "mlp_accuracy", "mode_placement",
           "train_mode"]

#: The stored words bit flips hit (:data:`gradlab.conventions.FLIP_WORDS`): IEEE float32 (ProAct's
#: model), or 16-bit fixed point with 10 fractional bits (range +-32, step 2^-10: the digits MLP's
#: weights and activations fit).
BIT_WORDS = {"float32": BitFlip(format="float32"), "fixed16": BitFlip(format="fixed", total_bits=16, frac_bits=10)}


@dataclass
class TrainedMLP:
    """A trained digits MLP (its chains those of its training) and how it was trained."""

    net: AnalogNet
    activation: object
    mode: str
    qat_precision: float
    depth: int
    hidden: int
    seed: int  # of the initialization, the batch order and the training noise


def mode_placement(mode: str, qat_precision: float, *, eta: float = 0.0, flip: BitFlip | None = None,
                   where: str = "weights") -> Placement:
    """The chains of a network trained in ``mode``, under layer-output noise ``eta`` and bit flips ``flip``.

    A QAT network rounds its weights and biases, and (after the noise) its hidden pre-activations,
    to k / ``qat_precision``. Flips hit the (rounded) weights and biases, or each hidden layer's
    output before the noise.
    """
    qat = (Quantize(precision=qat_precision),) if mode == "qat" else ()
    noise = (RangeGaussian(eta),) if eta > 0 else ()
    weights, outputs = qat, noise + qat
    if flip is not None:
        if where == "weights":
            weights = weights + (flip,)
        else:
            outputs = (flip,) + outputs
    return Placement(weights=weights, outputs=outputs)


def train_mode(activation, mode: str, *, depth: int, hidden: int, epochs: int, batch: int, lr: float,
               train_noise: float, qat_precision: float, seed: int) -> TrainedMLP:
    """Train the digits MLP in ``mode`` (one of :data:`~gradlab.conventions.TRAIN_MODES`) with Adam.

    Networks of one seed start from the same weights and see the same batches and noise draws,
    whatever their mode or activation.
    """
    if mode not in TRAIN_MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, TRAIN_MODES))}, got {mode!r}")
    eta = train_noise if mode == "noisy" else 0.0
    net = digits_mlp(activation, depth, hidden, mode_placement(mode, qat_precision, eta=eta), seed=seed)
    train_network(net, load_dataset("digits"), epochs=epochs, batch=batch, lr=lr, seed=seed)
    return TrainedMLP(net, activation, mode, qat_precision, depth, hidden, seed)


def hidden_blocks(net: AnalogNet) -> list[Block]:
    """The blocks of ``net`` that end in an activation (the hidden layers of a digits MLP), in order."""
    return [m for m in net.layers if isinstance(m, Block) and m.activation is not None]


def _rebuilt(trained: TrainedMLP, placement: Placement) -> AnalogNet:
    """The trained weights in a network with other chains, computing in float64.

    Training runs in float32; scoring in float64, so a bit flip acts on the stored float32 word
    while the arithmetic after it overflows no more than the NumPy lab's did.
    """
    net = digits_mlp(trained.activation, trained.depth, trained.hidden, placement, seed=trained.seed)
    net.load_state_dict(trained.net.state_dict())
    return net.double()


@torch.no_grad()
def clip_thresholds(trained: TrainedMLP, rule: str) -> list | None:
    """Clipping thresholds per hidden layer, from the activations of the clean network on the training data.

    ``layer``: the largest activation of the layer; ``neuron``: each neuron's largest;
    ``hybrid`` (ProAct's proposal): per layer, except per neuron in the last hidden layer;
    ``relu6``: 6 everywhere; ``none``: no clipping (None). ProAct starts from these statistics and
    then trains the thresholds layer by layer; that progressive fine-tuning is not done here.
    """
    if rule not in CLIPPING:
        raise ValueError(f"rule must be one of {', '.join(map(repr, CLIPPING))}, got {rule!r}")
    if rule == "none":
        return None
    if rule == "relu6":
        return [6.0] * trained.depth
    net = _rebuilt(trained, Placement())
    net.eval()
    x, out = load_dataset("digits").x_train.double(), []
    for module in net.layers:
        x = module(x)
        if isinstance(module, Block) and module.activation is not None:
            per_neuron = rule == "neuron" or (rule == "hybrid" and len(out) == trained.depth - 1)
            out.append(x.max(0).values if per_neuron else x.max())
    return out


def _draws_seed(seed) -> int:
    return int(seed_of(tuple(seed) if isinstance(seed, (tuple, list)) else (seed,))) >> 1


def mlp_accuracy(trained: TrainedMLP, *, eta: float = 0.0, clip: list | None = None, ber: float = 0.0,
                 where: str = "weights", word: str = "float32", seed=(0,)) -> float:
    """Test accuracy under layer-output noise ``eta`` and bit flips at rate ``ber``, activations capped at ``clip``.

    Bit flips (in ``word``, one of :data:`BIT_WORDS`) hit the stored weights and biases
    (``where='weights'``: one fault pattern, the same for every test image), or every hidden
    layer's output before its activation (``'activations'``), so a clipped activation bounds what a
    flipped high-order bit does. ``seed`` (an integer or a tuple of them) draws the noise and the
    flips: one seed, one fault pattern, whatever ``clip`` is.
    """
    if where not in FLIP_SITES:
        raise ValueError(f"where must be one of {', '.join(map(repr, FLIP_SITES))}, got {where!r}")
    flip = dataclasses.replace(BIT_WORDS[word], ber=ber) if ber > 0 else None
    net = _rebuilt(trained, mode_placement(trained.mode, trained.qat_precision, eta=eta, flip=flip, where=where))
    for block, bound in zip(hidden_blocks(net), clip if clip is not None else [None] * trained.depth):
        block.bound = bound
    net.analog.draws = Draws(_draws_seed(seed))
    data = load_dataset("digits")
    return evaluate(net, data.x_test.double(), data.y_test, noisy=True, step=-1)
