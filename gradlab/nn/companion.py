"""The companion experiments' networks on the torch lab: training modes, layer-output noise, ProAct clipping, bit flips.

Three networks (``model``, :data:`gradlab.conventions.COMPANION_MODELS`): ``mlp``, the digits MLP
(:func:`~gradlab.nn.noisy.digits_mlp`, 8x8 digits, ``depth`` hidden layers of ``hidden``);
``fcn``, the paper's FCN on MNIST-5k (784 - ``hidden`` halving per layer - 10); ``convnet``, the
paper's ConvNet on MNIST-5k (:func:`~gradlab.nn.models.paper_convnet`, a third of its widths: six
3x3 convolutions 16-16-32-32-64-64, three max-pools, linear 128-64-10). Neither has dropout here
(the MLP has none either; with the paper's dropout the ConvNet is still near chance after 4 epochs
on 4,000 images, without it at 0.94-0.96). Each is trained by the one training loop in one of
three modes (Wang et al., "On Hardening DNNs against Noisy Computations", arXiv 2501.14531):

- ``clean``: plain training.
- ``qat``: quantization-aware training with constant scaling factors (:class:`BoundedQuantize`).
  *Constant*: the bit width ``qat_bits`` and, once calibrated, every range. *Calibrated*: after
  ``warmup`` clean epochs, each layer's weight range (max |w|, |b| of the layer) and each hidden
  layer's pre-activation range (max |z| over the training split), symmetric [-r, r]; from then on
  weights, biases and hidden pre-activations are clipped to their range and rounded to its
  2**bits levels in every forward pass, training and test. Backward: straight-through inside the
  range, zero outside on pre-activations; straight-through on weights (the float weight keeps
  its gradient, AnalogVNN's parameter rule).
- ``noisy``: noisy training: the evaluation's noise model at level ``train_noise`` on every
  hidden pre-activation in every step (fresh draws), f' at the noisy value, the noise constant.

The noise model (:class:`~gradlab.nn.chains.RangeGaussian`): z + eta * R * N(0, 1) on each hidden
layer's pre-activation, the logits clean, with R "the layer's output range" in one of three
meanings (``noise_range``, :data:`gradlab.conventions.NOISE_RANGES`): ``sample`` (the default:
max|z| over the sample's own units, the same whatever the batch), ``calibrated`` (max|z| over the
training split, measured once per network: at evaluation on the trained network, in noisy
training again before every epoch, so that it follows the weights), ``batch`` (max|z| over the
batch at hand, gradlab's earlier model, whose scale grows with the batch). The paper's wording,
noise "relative to the layer's output range", names a property of the layer, which ``calibrated``
is closest to; ``sample`` is the default because it needs no calibration and means the same in a
training step and at test by construction.

For ProAct (Mousavi et al., arXiv 2406.06313) see :mod:`gradlab.nn.proact`: :func:`clip_thresholds`
gives the thresholds of each clipping rule from activation statistics, and
:func:`fault_accuracies` scores a network with them under faults in its stored words.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import pandas as pd
import torch

from gradlab.conventions import CLIPPING, COMPANION_MODELS, FLIP_SITES, NOISE_RANGES, TRAIN_MODES
from gradlab.nn.chains import BoundedQuantize, Draws, RangeGaussian, WordFlip
from gradlab.nn.data import Dataset, load_dataset
from gradlab.nn.experiment import hidden_widths
from gradlab.nn.layers import AnalogDropout, Block, Placement
from gradlab.nn.models import AnalogNet, paper_convnet, paper_fcn, run_clean
from gradlab.nn.noisy import digits_mlp
from gradlab.nn.proact import (
    activation_maxima,
    clip_blocks,
    fault_pattern,
    parameter_faults,
    set_clips,
    stored_parameters,
    train_thresholds,
)
from gradlab.nn.training import evaluate, train_network
from gradlab.perturbations.chain import seed_of

__all__ = ["MODEL_DATA", "TrainedMLP", "TrainedNet", "build_model", "calibrate", "clip_thresholds",
           "fault_accuracies", "hidden_blocks", "noisy_accuracy", "set_chains", "train_mode"]

#: The data set each model trains on.
MODEL_DATA = {"mlp": "digits", "fcn": "mnist5k", "convnet": "mnist5k"}


@dataclass
class TrainedNet:
    """A trained companion network and how it was trained (``ranges``: QAT's calibrated ranges, else None)."""

    net: AnalogNet
    activation: object
    mode: str
    model: str
    depth: int
    hidden: int
    seed: int  # of the initialization, the batch order, dropout and the training noise
    qat_bits: int = 8
    ranges: dict | None = None

    @property
    def data(self) -> Dataset:
        return load_dataset(MODEL_DATA[self.model])


#: The earlier name (the digits MLP was the only model).
TrainedMLP = TrainedNet


def build_model(model: str, activation, *, depth: int = 2, hidden: int = 64, seed: int = 0) -> AnalogNet:
    """A companion network without chains (see the module docstring; ``depth``, ``hidden`` unused by the ConvNet)."""
    if model not in COMPANION_MODELS:
        raise ValueError(f"model must be one of {', '.join(map(repr, COMPANION_MODELS))}, got {model!r}")
    if model == "mlp":
        return digits_mlp(activation, depth, hidden, Placement(), seed=seed)
    if model == "fcn":
        return paper_fcn([784, *hidden_widths(depth, hidden), 10], activation, placement=Placement(), dropout=0.0,
                         logit_chain=False, seed=seed)
    net = paper_convnet(activation, placement=Placement(), seed=seed)
    for m in net.modules():
        if isinstance(m, AnalogDropout):
            m.p = 0.0
    return net


def hidden_blocks(net: AnalogNet) -> list[Block]:
    """The blocks of ``net`` that end in an activation (its hidden layers), in order."""
    return clip_blocks(net)


def _layer_blocks(net: AnalogNet) -> list[Block]:
    return [m for m in net.layers if isinstance(m, Block)]


@torch.no_grad()
def calibrate(net: AnalogNet, x: torch.Tensor, *, chunk: int = 500) -> dict:
    """The ranges of ``net`` on the inputs ``x`` (chains off, dropout off): ``outputs``, each hidden layer's
    max|z| of its pre-activation z; ``weights``, each layer's max over |w| and |b| (the logits' layer included)."""
    blocks = hidden_blocks(net)
    top = [0.0] * len(blocks)

    def keep(i):
        def hook(module, args, z):
            top[i] = max(top[i], float(z.abs().max()))
        return hook

    run_clean(net, x, [(b.layer, keep(i)) for i, b in enumerate(blocks)], chunk=chunk)
    weights = [max(float(b.layer.weight.abs().max()), float(b.layer.bias.abs().max()) if b.layer.bias is not None
                   else 0.0) for b in _layer_blocks(net)]
    return {"outputs": top, "weights": weights}


def _bounded(bits: int, r: float) -> BoundedQuantize:
    r = max(float(r), 1e-6)  # a dead layer still gets a range
    return BoundedQuantize(bits, -r, r)


def set_chains(net: AnalogNet, *, qat: tuple[int, dict] | None = None, eta: float = 0.0, noise_range: str = "sample",
               scales: list[float] | None = None, flip: WordFlip | None = None) -> None:
    """Set the chains of ``net`` in place: on each hidden pre-activation flips, then noise, then QAT's quantizer;
    on each layer's weights and biases QAT's quantizer.

    ``qat=(bits, ranges)`` with ranges from :func:`calibrate`; ``scales`` the calibrated R per hidden
    layer (``noise_range='calibrated'``).
    """
    blocks = hidden_blocks(net)
    if noise_range == "calibrated" and eta > 0 and (scales is None or len(scales) != len(blocks)):
        raise ValueError("noise_range='calibrated' needs scales, one calibrated range per hidden layer")
    for i, b in enumerate(blocks):
        stages = () if flip is None else (flip,)
        if eta > 0:
            stages += (RangeGaussian(eta, noise_range, float(scales[i]) if noise_range == "calibrated" else None),)
        if qat is not None:
            stages += (_bounded(qat[0], qat[1]["outputs"][i]),)
        b.output_chain.stages = stages
    for j, b in enumerate(_layer_blocks(net)):
        stages = () if qat is None else (_bounded(qat[0], qat[1]["weights"][j]),)
        b.layer.chains.weight_chain.stages = stages
        b.layer.chains.bias_chain.stages = stages


def train_mode(activation, mode: str, *, model: str = "mlp", depth: int = 2, hidden: int = 64, epochs: int = 10,
               batch: int = 64, lr: float = 3e-3, train_noise: float = 0.1, qat_bits: int = 8,
               noise_range: str = "sample", warmup: int = 2, seed: int = 0) -> TrainedNet:
    """Train a companion network in ``mode`` (one of :data:`~gradlab.conventions.TRAIN_MODES`) with Adam.

    Networks of one seed start from the same weights and see the same batches, dropout masks and
    noise draws, whatever their mode or activation. QAT's ranges are calibrated after
    ``min(warmup, epochs - 1)`` clean epochs, then fixed (module docstring).
    """
    if mode not in TRAIN_MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, TRAIN_MODES))}, got {mode!r}")
    if noise_range not in NOISE_RANGES:
        raise ValueError(f"noise_range must be one of {', '.join(map(repr, NOISE_RANGES))}, got {noise_range!r}")
    data = load_dataset(MODEL_DATA[model])
    net = build_model(model, activation, depth=depth, hidden=hidden, seed=seed)
    found: dict = {}
    calibrate_at = min(warmup, epochs - 1)  # 0: on the initial network (a one-epoch run)

    def before_epoch(net: AnalogNet, epoch: int) -> None:
        if mode == "qat" and epoch == calibrate_at:
            found["ranges"] = calibrate(net, data.x_train)
            set_chains(net, qat=(qat_bits, found["ranges"]))
        elif mode == "noisy" and noise_range == "calibrated":
            set_chains(net, eta=train_noise, noise_range="calibrated", scales=calibrate(net, data.x_train)["outputs"])

    if mode == "noisy" and noise_range != "calibrated":
        set_chains(net, eta=train_noise, noise_range=noise_range)
    train_network(net, data, epochs=epochs, batch=batch, lr=lr, seed=seed,
                  before_epoch=before_epoch if mode != "clean" else None)
    return TrainedNet(net, activation, mode, model, depth, hidden, seed, qat_bits, found.get("ranges"))


def _rebuilt(trained: TrainedNet, dtype: torch.dtype = torch.float64) -> AnalogNet:
    """The trained weights in a network without chains, computing in ``dtype`` (float64 where a flipped float32
    exponent must not overflow; float32 elsewhere: CPU convolutions in float64 are many times slower)."""
    net = build_model(trained.model, trained.activation, depth=trained.depth, hidden=trained.hidden,
                      seed=trained.seed)
    net.load_state_dict(trained.net.state_dict())
    return net.to(dtype)


def _draws_seed(seed) -> int:
    return int(seed_of(tuple(seed) if isinstance(seed, (tuple, list)) else (seed,))) >> 1


def noisy_accuracy(trained: TrainedNet, eta: float = 0.0, *, noise_range: str = "sample", seed=(0,)) -> float:
    """Test accuracy of ``trained`` (its QAT quantizers on, if any) under layer-output noise ``eta`` (float32).

    ``noise_range='calibrated'`` measures each hidden layer's range on the training split of this
    network first (one constant per layer for the whole test split). ``seed`` draws the noise.
    """
    net = _rebuilt(trained, torch.float32)
    data = trained.data
    scales = calibrate(net, data.x_train)["outputs"] if noise_range == "calibrated" else None
    qat = (trained.qat_bits, trained.ranges) if trained.mode == "qat" else None
    set_chains(net, qat=qat, eta=eta, noise_range=noise_range, scales=scales)
    net.analog.draws = Draws(_draws_seed(seed))
    return evaluate(net, data.x_test, data.y_test, noisy=True, step=-1)


def clip_thresholds(maxima: list[torch.Tensor], rule: str) -> list | None:
    """The thresholds of clipping ``rule`` (:data:`~gradlab.conventions.CLIPPING`) from activation statistics.

    ``maxima``: each hidden layer's per-element maxima on the training data
    (:func:`gradlab.nn.proact.activation_maxima`). ``layer``: the layer's largest activation;
    ``neuron``: each element's own (per neuron; per C x H x W element in a ConvNet); ``hybrid``
    (ProAct's proposal) and ``proact``: per layer, except per neuron in the last hidden layer
    (``proact`` then trains them, :func:`gradlab.nn.proact.train_thresholds`); ``relu6``: 6
    everywhere; ``none``: no clipping (None).
    """
    if rule not in CLIPPING:
        raise ValueError(f"rule must be one of {', '.join(map(repr, CLIPPING))}, got {rule!r}")
    if rule == "none":
        return None
    if rule == "relu6":
        return [torch.tensor(6.0, dtype=m.dtype) for m in maxima]
    last = len(maxima) - 1
    return [m.clone() if rule == "neuron" or (rule in ("hybrid", "proact") and i == last) else m.max().clone()
            for i, m in enumerate(maxima)]


def fault_accuracies(
    trained: TrainedNet,
    rules,
    *,
    ber,
    patterns: int = 20,
    where: str = "weights",
    word: str = "fixed32",
    form: str = "smooth",
    fault_thresholds: bool = True,
    proact: dict | None = None,
    seed=(0,),
) -> pd.DataFrame:
    """Test accuracy of ``trained`` clipped by each rule of ``rules`` under ``patterns`` fault patterns per rate.

    Every weight, bias and (``fault_thresholds``) clipping threshold is stored as ``word``; in
    ``where='weights'`` each bit of that memory flips at rate ``ber`` (one pattern for the whole
    test split, drawn count first); a pattern's flips in the weights and biases are the same for
    every rule (paired), its flips in the thresholds are drawn from the rule's own threshold memory.
    ``where='activations'`` flips the bits of every hidden pre-activation instead (one pattern per
    pass over the test split). ``proact``: keyword arguments of
    :func:`~gradlab.nn.proact.train_thresholds` for the ``proact`` rule, and ``images``: how many
    training images it trains on (the first; all by default). Scoring is in float64 for float32
    words (a flipped exponent), else in float32.
    Rows: clipping, ber, patterns, test_accuracy (mean over patterns), accuracy_sd, flips (mean
    per pattern), threshold_flips (mean), fault_free (accuracy without flips), mean_threshold.
    """
    if where not in FLIP_SITES:
        raise ValueError(f"where must be one of {', '.join(map(repr, FLIP_SITES))}, got {where!r}")
    data = trained.data
    # fixed-point words bound every value (|v| < 2^15): float32 arithmetic serves; a float32 word needs float64
    base = _rebuilt(trained, torch.float64 if word == "float32" else torch.float32)
    dtype = next(base.parameters()).dtype
    x_test, y_test = data.x_test.to(dtype), data.y_test
    maxima = activation_maxima(base, data.x_train.to(dtype))
    rows = []
    for rule in rules:
        net = copy.deepcopy(base)
        thresholds = clip_thresholds(maxima, rule)
        set_clips(net, thresholds, form)
        if rule == "proact":
            options = dict(proact or {})
            n = options.pop("images", len(data.y_train))
            net32 = copy.deepcopy(net).float()
            train_thresholds(net32, data.x_train[:n], data.y_train[:n], **options)
            for b, b32 in zip(clip_blocks(net), clip_blocks(net32)):
                b.clip.threshold.data.copy_(b32.clip.threshold.data.to(dtype))
        weights, lams = stored_parameters(net, word, thresholds=fault_thresholds)
        clips = [b.clip.threshold.reshape(-1) for b in clip_blocks(net) if b.clip is not None]
        lam_mean = float(torch.cat(clips).mean()) if clips else float("nan")
        fault_free = evaluate(net, x_test, y_test, noisy=False, step=-1)
        for k, rate in enumerate(ber):
            accs, flips, lam_flips = [], [], []
            for p in range(patterns):
                if where == "weights":
                    pos_w = fault_pattern(weights, word, rate, torch.Generator().manual_seed(
                        _draws_seed((*_tuple(seed), 2, k, p, 0))))
                    pos_t = fault_pattern(lams, word, rate, torch.Generator().manual_seed(
                        _draws_seed((*_tuple(seed), 2, k, p, 1))))
                    flips.append(len(pos_w) + len(pos_t))
                    lam_flips.append(len(pos_t))
                    if not flips[-1]:
                        accs.append(fault_free)
                        continue
                    with parameter_faults(weights, word, pos_w), parameter_faults(lams, word, pos_t):
                        accs.append(evaluate(net, x_test, y_test, noisy=False, step=-1))
                else:
                    if rate == 0:
                        accs.append(fault_free)
                        continue
                    set_chains(net, flip=WordFlip(rate, word))
                    net.analog.draws = Draws(_draws_seed((*_tuple(seed), 3, k, p)))
                    accs.append(evaluate(net, x_test, y_test, noisy=True, step=-1))
                    set_chains(net)
            acc = torch.tensor(accs, dtype=torch.float64)
            rows.append({"clipping": rule, "ber": rate, "patterns": patterns, "test_accuracy": float(acc.mean()),
                         "accuracy_sd": float(acc.std()) if patterns > 1 else float("nan"),
                         "flips": sum(flips) / patterns if flips else float("nan"),
                         "threshold_flips": sum(lam_flips) / patterns if lam_flips else float("nan"),
                         "fault_free": fault_free, "mean_threshold": lam_mean})
    return pd.DataFrame(rows)


def _tuple(seed) -> tuple:
    return tuple(seed) if isinstance(seed, (tuple, list)) else (seed,)
