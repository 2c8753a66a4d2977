"""The paper's training experiment as a query: one activation, one chain, every control, at one seed.

:func:`train_analog` builds the network a control asks for, trains it with
:func:`gradlab.nn.training.train_network` and returns tidy rows; :func:`gradlab.sweep` runs it
over grids (one point per seed, every activation and control inside it, so the comparisons are
paired: the same initial weights, batch order, dropout masks and noise draws).
:func:`analog_summary` turns such rows into paired differences with Student-t intervals.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

import gradlab as gl
from gradlab._budget import check_operations
from gradlab._validate import check_choice, check_finite, check_int
from gradlab.nn.data import DATASETS, load_dataset
from gradlab.nn.layers import Placement
from gradlab.nn.models import AnalogNet, paper_convnet, paper_fcn
from gradlab.nn.training import CONTROLS, torch_threads, train_network
from gradlab.perturbations import Chain
from gradlab.queries._common import arguments_checked

__all__ = ["CONVNET_MACS", "MODELS", "TRAIN_IMAGES", "analog_summary", "build_network", "check_work", "hidden_widths",
           "train_analog"]

MODELS = ("fcn", "convnet")

_SITES = {"inputs_only": "inputs", "weights_only": "weights", "outputs_only": "outputs"}


def hidden_widths(depth: int, width: int) -> list[int]:
    """The FCN's hidden widths: ``width`` halved at each layer (depth 2, width 128: [128, 64])."""
    depth, width = check_int("depth", depth, minimum=1), check_int("width", width, minimum=1)
    return [max(1, width >> k) for k in range(depth)]


def build_network(activation, chain: Chain | None, *, control: str = "none", model: str = "fcn", data=None,
                  depth: int = 2, width: int = 128, dropout: float = 0.5, seed: int = 0) -> AnalogNet:
    """The network for ``control`` (:data:`~gradlab.nn.training.CONTROLS`): the paper's placement of ``chain``,
    restricted for the placement controls, only its clamps for 'clamp_only', the activation on the logits too for
    'logit_activation'."""
    check_choice("control", control, CONTROLS)
    check_choice("model", model, MODELS)
    data = load_dataset("mnist5k") if data is None else data
    placement = Placement.paper(chain)
    if control in _SITES:
        placement = placement.only(_SITES[control])
    elif control == "clamp_only":
        placement = placement.clamps()
    logits = control == "logit_activation"
    if model == "fcn":
        sizes = [int(np.prod(data.shape)), *hidden_widths(depth, width), data.classes]
        return paper_fcn(sizes, activation, placement=placement, dropout=dropout, logit_activation=logits, seed=seed)
    return paper_convnet(activation, placement=placement, input_shape=data.shape, classes=data.classes,
                         logit_activation=logits, seed=seed)


#: Multiply-adds of one image's forward pass through the default ConvNet (its six convolutions dominate).
CONVNET_MACS = 4.4e6
#: Training images of the larger data set, mnist5k (the work bound assumes it).
TRAIN_IMAGES = 4000


def check_work(model: str, depth: int, width: int, epochs: int, batch: int, lr: float, *, runs: int = 1) -> None:
    """The training arguments, and the work of ``runs`` trainings against the budget, before any work.

    Work: about 3 multiply-adds per weight per image per epoch (forward and backward) for the FCN,
    3x :data:`CONVNET_MACS` per image for the ConvNet.
    """
    check_int("epochs", epochs, minimum=1)
    check_int("batch", batch, minimum=1)
    lr = check_finite("lr", lr)
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    per_image = 3 * CONVNET_MACS
    if model == "fcn":
        sizes = [784, *hidden_widths(depth, min(width, 1 << 20)), 10]
        per_image = 3.0 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    shown = str(epochs) if epochs <= 10**6 else f"~1e{len(str(epochs)) - 1}"  # a float would overflow
    check_operations(f"{runs} training run(s) of {shown} epochs ({model})",
                     float(runs) * min(epochs, 10**30) * TRAIN_IMAGES * per_image)


def train_analog(
    activation,
    chain: Chain | None,
    *,
    data: str = "mnist5k",
    model: str = "fcn",
    depth: int = 2,
    width: int = 128,
    controls: str | Sequence[str] = ("none",),
    epochs: int = 10,
    batch: int = 128,
    lr: float = 1e-3,
    dropout: float = 0.5,
    seed: int = 0,
    threads: int = 1,
) -> pd.DataFrame:
    """Train the paper's network with ``activation`` under ``chain`` once per control; one row per (control, epoch).

    The network is the paper's (``model`` 'fcn': 784 inputs, ``depth`` hidden layers of ``width``
    halving at each, dropout; 'convnet': :func:`~gradlab.nn.models.paper_convnet`), its chains
    placed as the paper's code places them (:meth:`~gradlab.nn.layers.Placement.paper`), trained
    with Adam (``lr``) in batches of ``batch`` for ``epochs`` on ``data`` (:data:`~gradlab.nn.data.DATASETS`).
    Every control starts from the same initial weights and sees the same batches, dropout masks
    and noise draws (all from ``seed``). The controls (:data:`~gradlab.nn.training.CONTROLS`):

    - ``none``: the paper's setting;
    - ``clean_gradient``: f' at each layer's output before its output chain (the activation's
      gradient error removed, the forward pass unchanged);
    - ``forward_noise_only`` / ``backward_noise_only``: the perturbed network for the loss and the
      clean one (same weights, no chain) for the backward pass, or the other way round;
    - ``inputs_only`` / ``weights_only`` / ``outputs_only``: the chain on one site only;
    - ``clamp_only``: only the chain's Clamp stages, everywhere;
    - ``logit_activation``: the activation after the classifier too (the paper's code before April 2024).

    Columns: activation, family, param_*, control, model, data, depth, width, epoch, train_loss,
    train_accuracy, test_loss and test_accuracy (perturbed network, noise on at test), test_accuracy_clean.
    torch runs ``threads`` intra-op threads (1: runs go side by side).
    """
    act = gl.activation(activation)
    if chain is not None and not isinstance(chain, Chain):
        chain = gl.chain(chain)
    names = [controls] if isinstance(controls, str) else list(controls)
    if not names:
        raise ValueError("controls must name at least one control, got an empty list")
    for c in names:
        check_choice("controls", c, CONTROLS)
    check_choice("data", data, DATASETS)
    check_choice("model", model, MODELS)
    check_finite("dropout", dropout)
    check_work(model, depth, width, epochs, batch, lr, runs=len(names))
    arguments_checked()
    dataset = load_dataset(data)
    frames = []
    with torch_threads(threads):
        for control in names:
            net = build_network(act, chain, control=control, model=model, data=dataset, depth=depth, width=width,
                                dropout=dropout, seed=seed)
            frame = train_network(net, dataset, control=control, epochs=epochs, batch=batch, lr=lr, seed=seed)
            frame.insert(0, "control", control)
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    identity = {"activation": act.label, "family": act.name, **{f"param_{k}": v for k, v in act.params.items()},
                "model": model, "data": data, "depth": depth if model == "fcn" else 6, "width": width}
    for pos, (key, value) in enumerate(identity.items()):
        out.insert(pos, key, value)
    return out


def analog_summary(
    frame: pd.DataFrame,
    *,
    reference: str = "relu",
    metric: str = "test_accuracy",
    epoch: str = "final",
    level: float = 0.95,
    by: Sequence[str] = ("precision", "leakage", "depth", "model", "data"),
) -> pd.DataFrame:
    """Paired differences (activation - ``reference``) of ``metric`` over seeds, with Student-t intervals.

    ``epoch``: 'final' (the last epoch of each run) or 'best' (each run's best epoch: optimistic,
    it selects on the test split). Rows are matched by seed, control and the ``by`` columns
    present. Also reports the paper's own metric, ``paper_best``: the best ``metric`` over every
    epoch and every seed, the largest of many noisy numbers (biased upward; no interval).
    Columns: the ``by`` columns, control, activation, seeds, mean, stderr, low, high, reference_mean,
    paper_best.
    """
    check_choice("epoch", epoch, ("final", "best"))
    keys = [c for c in by if c in frame.columns]
    seed_col = "seed" if "seed" in frame.columns else "replicate"
    if seed_col not in frame.columns:
        raise ValueError("frame must have a 'seed' or 'replicate' column (a sweep's rows have one)")
    group = [*keys, "control", "activation", seed_col]
    runs = frame.groupby(group, sort=False)
    per_run = runs[metric].last() if epoch == "final" else runs[metric].max()
    paper = frame.groupby([*keys, "control", "activation"], sort=False)[metric].max().rename("paper_best")
    table = per_run.unstack("activation")
    if reference not in table.columns:
        raise ValueError(f"reference {reference!r} is not among the activations: {', '.join(table.columns)}")
    cells = [*keys, "control"]
    diffs = table.sub(table[reference], axis=0).stack().rename("diff").reset_index()
    stats = diffs.groupby([*cells, "activation"], sort=False)["diff"].agg(["count", "mean", "std"]).reset_index()
    ref = table[reference].groupby(level=cells, sort=False).mean().rename("reference_mean").reset_index()
    out = stats.merge(ref, on=cells).merge(paper.reset_index(), on=[*cells, "activation"])
    n = out["count"].to_numpy()
    se = out["std"].to_numpy() / np.sqrt(n)  # NaN for one seed, as is its interval
    half = gl.t_halfwidth(se, n, level=level)
    out = out.assign(seeds=n, stderr=se, low=out["mean"] - half, high=out["mean"] + half)
    return out[[*cells, "activation", "seeds", "mean", "stderr", "low", "high", "reference_mean", "paper_best"]]

