"""The digits MLP of the companion experiments: training modes, layer-output noise, clipping, bit flips.

One small network, trained with NumPy on scikit-learn's bundled digits (the ``lab`` extra), in
three modes (Wang et al., "On Hardening DNNs against Noisy Computations", arXiv 2501.14531):

- ``clean``: plain training.
- ``qat``: quantization-aware training with constant scaling factors.  The forward pass uses
  weights and biases rounded to the grid k / ``qat_precision`` and pre-activations rounded to the
  same grid (gradlab's :class:`Quantize`, the paper's half-toward-zero rule); the step never
  adapts to the data.  The backward pass is straight-through: the quantizers count as the
  identity, the gradient with respect to the rounded weights updates the float weights they were
  rounded from, and f' is taken at the rounded pre-activation.
- ``noisy``: noisy training.  Every hidden layer's output (its pre-activation) gets the
  evaluation's noise model during training, with fresh draws at every step from seeded streams;
  backpropagation takes f' at the noisy value and the noise as a constant.

The noise model (:func:`layer_noise`): each hidden layer's pre-activations z get
``eta * max|z| * N(0, 1)``, the scale following the layer's output range over the batch at hand
(the paper's "noise relative to the layer's output range"), drawn with gradlab's Gaussian stage.

For ProAct (Mousavi et al., arXiv 2406.06313), :func:`thresholds` measures clipping thresholds
on the training data and :func:`evaluate` clips hidden activations to them and injects bit flips
(gradlab's :class:`BitFlip` stage, float32) into the stored weights or into the layer outputs.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gradlab.activations import Activation
from gradlab.engines.training import load_digits_split, softmax_xent
from gradlab.perturbations import BitFlip, Gaussian, Quantize
from gradlab.perturbations.chain import chain as make_chain

__all__ = ["CLIPPING", "MODES", "WHERE", "WORDS", "Net", "evaluate", "fit", "layer_noise", "thresholds"]

MODES = ("clean", "qat", "noisy")
#: Activation restrictions for the bit-flip experiment: none, ReLU6's fixed 6, thresholds per layer,
#: per neuron, and ProAct's hybrid (per layer, except per neuron in the last hidden layer).
CLIPPING = ("none", "relu6", "layer", "neuron", "hybrid")
#: Where bit flips land: the stored weights and biases, or the hidden layers' outputs.
WHERE = ("weights", "activations")
#: The stored word bit flips hit: IEEE float32 (ProAct's model), or 16-bit fixed point with 10
#: fractional bits (range +-32, step 2^-10: the digits MLP's weights and activations fit).
WORDS = {"float32": BitFlip(format="float32"), "fixed16": BitFlip(format="fixed", total_bits=16, frac_bits=10)}


@dataclass
class Net:
    """A trained MLP: float64 weights (in, out) and biases per layer, and how it was trained."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    act: Activation
    mode: str
    qat_precision: float
    seed: int  # of the digits split, the initialization and the batch order


def layer_noise(z: np.ndarray, eta: float, seed: tuple) -> np.ndarray:
    """z + eta * max|z| * N(0, 1): Gaussian noise scaled by the layer output's range over the batch."""
    scale = float(np.max(np.abs(z))) if z.size else 0.0
    if eta == 0 or scale == 0:
        return z
    return make_chain(Gaussian(sigma=eta * scale)).apply(z, seed=seed)


def _quantize(values: np.ndarray, precision: float) -> np.ndarray:
    return make_chain(Quantize(precision=precision)).apply(values, seed=0)


def _params(net: Net) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The weights and biases the forward pass uses: rounded to the grid for a QAT network."""
    if net.mode != "qat":
        return net.weights, net.biases
    return ([_quantize(w, net.qat_precision) for w in net.weights],
            [_quantize(b, net.qat_precision) for b in net.biases])


def _forward(net: Net, x: np.ndarray, *, eta: float, seed: tuple, clip=None, flip: BitFlip | None = None,
             params=None):
    """Logits, the pre-activations f' is taken at, and each layer's input.

    Per hidden layer: z = h W + b; bit flips in z (``flip``); noise (``eta``); for a QAT network
    z is then rounded to its grid; h = f(z), clipped to ``clip[layer]`` where given.
    """
    weights, biases = params if params is not None else _params(net)
    hs, zs, h = [x], [], x
    for layer, (w, b) in enumerate(zip(weights, biases)):
        z = h @ w + b
        if layer == len(weights) - 1:
            return z, zs, hs
        if flip is not None:
            z = make_chain(flip).apply(z, seed=(*seed, 1, layer))
        z = layer_noise(z, eta, (*seed, 0, layer))
        if net.mode == "qat":
            z = _quantize(z, net.qat_precision)
        zs.append(z)
        h = net.act.f(z)
        if clip is not None:
            h = np.minimum(h, clip[layer])
        hs.append(h)
    raise AssertionError("unreachable: the last layer returns")


def gradients(net: Net, x: np.ndarray, y: np.ndarray, *, eta: float, seed: tuple):
    """(loss, weight gradients, bias gradients) of mean softmax cross-entropy, straight through quantizers."""
    params = _params(net)
    logits, zs, hs = _forward(net, x, eta=eta, seed=seed, params=params)
    loss, delta = softmax_xent(logits, y)
    weights = params[0]
    gw, gb = [None] * len(weights), [None] * len(weights)
    for layer in range(len(weights) - 1, -1, -1):
        gw[layer] = hs[layer].T @ delta
        gb[layer] = delta.sum(axis=0)
        if layer > 0:
            delta = (delta @ weights[layer].T) * net.act.df(zs[layer - 1])
    return loss, gw, gb


def fit(act: Activation, mode: str, *, depth: int, hidden: int, epochs: int, batch: int, lr: float,
        train_noise: float, qat_precision: float, seed: int) -> Net:
    """Train on the digits' training split (seeded split, initialization and batch order) with Adam."""
    x_train, y_train, _, _ = load_digits_split(seed)
    rng = np.random.default_rng(seed)
    sizes = [x_train.shape[1]] + [hidden] * depth + [int(y_train.max()) + 1]
    net = Net([rng.standard_normal((a, b)) * np.sqrt(2.0 / a) for a, b in zip(sizes, sizes[1:])],
              [np.zeros(b) for b in sizes[1:]], act, mode, qat_precision, seed)
    params = net.weights + net.biases
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    eta = train_noise if mode == "noisy" else 0.0
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(y_train))
        for start in range(0, len(order), batch):
            idx = order[start: start + batch]
            step += 1
            _, gw, gb = gradients(net, x_train[idx], y_train[idx], eta=eta, seed=(seed, 0, step))
            for k, g in enumerate(gw + gb):
                m[k] = beta1 * m[k] + (1 - beta1) * g
                v[k] = beta2 * v[k] + (1 - beta2) * g * g
                params[k] -= lr * (m[k] / (1 - beta1**step)) / (np.sqrt(v[k] / (1 - beta2**step)) + eps)
    return net


def thresholds(net: Net, rule: str) -> list[np.ndarray] | None:
    """Clipping thresholds per hidden layer, from the activations on the (clean) training data.

    ``layer``: the largest activation of the layer; ``neuron``: each neuron's largest;
    ``hybrid`` (ProAct's proposal): per layer, except per neuron in the last hidden layer;
    ``relu6``: 6 everywhere; ``none``: no clipping (None).  ProAct starts from these statistics
    and then trains the thresholds layer by layer; that progressive fine-tuning is not done here.
    """
    if rule == "none":
        return None
    hidden = len(net.weights) - 1
    if rule == "relu6":
        return [np.float64(6.0)] * hidden
    x_train = load_digits_split(net.seed)[0]
    _, _, hs = _forward(net, x_train, eta=0.0, seed=(0,))
    out = []
    for layer, h in enumerate(hs[1:]):
        per_neuron = rule == "neuron" or (rule == "hybrid" and layer == hidden - 1)
        out.append(h.max(axis=0) if per_neuron else np.float64(h.max()))
    return out


def evaluate(net: Net, *, eta: float = 0.0, clip: list[np.ndarray] | None = None, ber: float = 0.0,
             where: str = "weights", word: str = "float32", seed: tuple = (0,)) -> float:
    """Test accuracy under layer-output noise ``eta`` and bit flips at rate ``ber``.

    Bit flips (in ``word``, one of :data:`WORDS`) hit the stored weights and biases
    (``where='weights'``), or every hidden layer's output before its activation
    (``'activations'``), so a clipped activation bounds what a flipped high-order bit does.
    """
    _, _, x_test, y_test = load_digits_split(net.seed)
    params = _params(net)
    flip = None
    if ber > 0:
        stage = dataclasses.replace(WORDS[word], ber=ber)
        if where == "weights":
            params = ([make_chain(stage).apply(w, seed=(*seed, 2, k)) for k, w in enumerate(params[0])],
                      [make_chain(stage).apply(b, seed=(*seed, 3, k)) for k, b in enumerate(params[1])])
        else:
            flip = stage
    with np.errstate(over="ignore", invalid="ignore"):  # a flipped exponent may overflow: the point
        logits, _, _ = _forward(net, x_test, eta=eta, seed=seed, clip=clip, flip=flip, params=params)
        predicted = np.where(np.isfinite(logits), logits, -np.inf).argmax(axis=1)
    return float((predicted == y_test).mean())
