"""The two companion experiments, one network seed at a time (the points a sweep runs) and as grids.

:func:`train_modes` and :func:`bitflip_faults` train one network per seed and evaluate it over a
whole list of noise levels or bit error rates (evaluating is cheap, training is not), so every
level of one seed sees the same network.  :func:`noise_tolerance` and
:func:`bitflip_resilience` run them over activations, depths and seeds through the sweep runner
(:func:`gradlab.sweep`): resumable, on Dask if asked, each point's seed derived from the spec's.

The networks are the torch lab's (:mod:`gradlab.nn.companion`, the ``torch`` extra), loaded when a
query runs: without torch, calling one raises ImportError saying how to install it.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from gradlab._extras import require
from gradlab._validate import check_choice, check_int, check_interval, check_positive
from gradlab.conventions import CLIPPING, FLIP_SITES, FLIP_WORDS, TRAIN_MODES
from gradlab.queries._common import ActivationLike, arguments_checked, as_activations

__all__ = ["bitflip_faults", "bitflip_resilience", "noise_tolerance", "train_modes"]

#: The choices of the queries (gradlab.conventions): training modes, clippings, flip sites, words.
MODES, WHERE, WORDS = TRAIN_MODES, FLIP_SITES, FLIP_WORDS

#: Defaults of the grid runs: the noise levels and bit error rates the figures sweep.
EVAL_NOISE = (0.0, 0.01, 0.03, 0.1, 0.3)
BER = (0.0, 1e-6, 1e-5, 1e-4, 1e-3)


def _sequence(name: str, values, what: str) -> list:
    if isinstance(values, (str, bytes, dict, set)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be {what}, got {values!r:.80}")
    return list(values)


def _levels(name: str, values, lo: float, hi: float) -> list[float]:
    items = [values] if isinstance(values, (int, float)) else _sequence(name, values, "a number or a list of numbers")
    if not items:
        raise ValueError(f"{name} must hold at least one value")
    return [check_interval(name, v, lo, hi) for v in items]


def _choices(name: str, values, allowed) -> list[str]:
    items = [values] if isinstance(values, str) else _sequence(
        name, values, f"one of {', '.join(map(repr, allowed))} or a list of them")
    if not items:
        raise ValueError(f"{name} must hold at least one of {', '.join(map(repr, allowed))}")
    return [check_choice(name, v, allowed) for v in items]


def _no_chain(chain, noise: str) -> None:
    if chain is not None:
        raise ValueError(f"chain must be None here: the perturbation is set by {noise}, got {chain!r}")


def _training(depth, hidden, epochs, batch, lr, seed) -> dict:
    from gradlab.queries.networks import check_training

    return check_training(depth, hidden, epochs, batch, lr, seed)


def train_modes(
    activation_: ActivationLike,
    chain=None,
    *,
    train: Sequence[str] = MODES,
    eval_noise: Sequence[float] = EVAL_NOISE,
    train_noise: float = 0.1,
    qat_precision: float = 16,
    depth: int = 2,
    hidden: int = 64,
    epochs: int = 10,
    batch: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> pd.DataFrame:
    """Train one digits MLP per mode in ``train`` (same seed: same split, initialization and batch
    order) and measure its test accuracy under each layer-output noise level of ``eval_noise``.

    Modes (see :mod:`gradlab.nn.companion`): ``clean``; ``qat``, weights and pre-activations
    rounded to the grid k / ``qat_precision`` in the forward pass, straight-through backward;
    ``noisy``, the evaluation's noise model at level ``train_noise`` in every training step.
    Noise level eta: each hidden layer's pre-activations z get eta * max|z| * N(0, 1).
    ``chain`` must be None (the sweep runner passes one).  Returns one row per (mode, level):
    activation, train, depth, hidden, epochs, seed, eval_noise, test_accuracy.
    """
    require("torch", "train_modes (networks on scikit-learn's bundled digits)")
    _no_chain(chain, "eval_noise and train_noise")
    act = as_activations(activation_)[0]
    modes = _choices("train", train, MODES)
    levels = _levels("eval_noise", eval_noise, 0.0, 1e3)
    kw = _training(depth, hidden, epochs, batch, lr, seed)
    eta_train = check_interval("train_noise", train_noise, 0.0, 1e3)
    precision = check_positive("qat_precision", qat_precision)
    arguments_checked()
    from gradlab.nn import mlp_accuracy, torch_threads, train_mode

    rows = []
    for mode in modes:
        with torch_threads(1):  # one thread per run: runs go side by side
            net = train_mode(act, mode, train_noise=eta_train, qat_precision=precision, **kw)
            accs = [mlp_accuracy(net, eta=eta, seed=(kw["seed"], 1, k)) for k, eta in enumerate(levels)]
        for eta, acc in zip(levels, accs):
            rows.append({"activation": act.label, "train": mode, "depth": kw["depth"], "hidden": kw["hidden"],
                         "epochs": kw["epochs"], "seed": kw["seed"], "eval_noise": eta, "test_accuracy": acc})
    return pd.DataFrame(rows)


def bitflip_faults(
    activation_: ActivationLike,
    chain=None,
    *,
    clipping: Sequence[str] = CLIPPING,
    ber: Sequence[float] = BER,
    where: Sequence[str] = WHERE,
    word: str = "float32",
    depth: int = 2,
    hidden: int = 64,
    epochs: int = 10,
    batch: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> pd.DataFrame:
    """Train one digits MLP cleanly, then measure its test accuracy with each activation restriction
    of ``clipping`` under bit flips at each rate of ``ber``, in the weights or the activations.

    ``word``: the stored format the flips hit, ``float32`` (ProAct's fault model) or ``fixed16``
    (16-bit two's complement with 10 fractional bits; gradlab's :class:`BitFlip` either way).

    Clipping (ProAct; thresholds from the activations on the training data, see
    :func:`gradlab.nn.companion.clip_thresholds`): none, relu6, layer, neuron, hybrid.  Flips in
    ``weights`` hit every stored weight and bias; in ``activations``, every hidden layer's output
    before the activation.  One fault pattern per (where, rate), the same for every clipping
    (paired).  ``chain`` must be None.  Returns one row per (clipping, where, ber): activation,
    clipping, where, word, ber, depth, hidden, epochs, seed, test_accuracy.
    """
    require("torch", "bitflip_faults (networks on scikit-learn's bundled digits)")
    _no_chain(chain, "ber and where")
    act = as_activations(activation_)[0]
    rules = _choices("clipping", clipping, CLIPPING)
    rates = _levels("ber", ber, 0.0, 1.0)
    places = _choices("where", where, WHERE)
    word = check_choice("word", word, WORDS)
    kw = _training(depth, hidden, epochs, batch, lr, seed)
    arguments_checked()
    from gradlab.nn import clip_thresholds, mlp_accuracy, torch_threads, train_mode

    with torch_threads(1):  # one thread per run: runs go side by side
        net = train_mode(act, "clean", train_noise=0.0, qat_precision=1.0, **kw)
        clips = {rule: clip_thresholds(net, rule) for rule in rules}
        accs = {(rule, w, k): mlp_accuracy(net, clip=clips[rule], ber=rate, where=place, word=word,
                                           seed=(kw["seed"], 2, w, k))
                for rule in rules for w, place in enumerate(places) for k, rate in enumerate(rates)}
    rows = []
    for rule in rules:
        for w, place in enumerate(places):
            for k, rate in enumerate(rates):
                acc = accs[rule, w, k]
                rows.append({"activation": act.label, "clipping": rule, "where": place, "word": word, "ber": rate,
                             "depth": kw["depth"], "hidden": kw["hidden"], "epochs": kw["epochs"],
                             "seed": kw["seed"], "test_accuracy": acc})
    return pd.DataFrame(rows)


def _grid_run(query: str, activations, depth, seeds: int, fixed: dict, client, cache, progress) -> pd.DataFrame:
    from gradlab.sweeps import sweep

    texts = [activations] if isinstance(activations, str) else activations
    if not isinstance(texts, (list, tuple)) or not texts or not all(isinstance(a, str) for a in texts):
        raise ValueError(f"activations must be names or expressions (strings), got {activations!r}")
    spec = {"query": query, "activations": texts, "seed": 0, "replicates": check_int("seeds", seeds, minimum=2),
            "depth": [check_int("depth", d, minimum=1) for d in ([depth] if isinstance(depth, int) else depth)],
            "chain": {"kind": "none"}, **fixed}
    return sweep(spec, client, cache=cache, progress=progress)


def noise_tolerance(
    activations: str | Sequence[str] = ("relu", "gelu", "relu_gelu(i=0.5)"),
    *,
    train: Sequence[str] = MODES,
    eval_noise: Sequence[float] = EVAL_NOISE,
    depth: int | Sequence[int] = (2, 4),
    seeds: int = 5,
    epochs: int = 10,
    train_noise: float = 0.1,
    qat_precision: float = 16,
    client=None,
    cache: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """:func:`train_modes` over activations x depth x ``seeds`` independent seeds, through :func:`gradlab.sweep`.

    Per-seed rows (the sweep's axis columns depth and replicate, then train_modes' columns); summarize
    with :func:`gradlab.t_summary` (mean and Student-t interval per activation, train, depth, eval_noise).
    """
    require("torch", "noise_tolerance (networks on scikit-learn's bundled digits)")  # before the sweep starts
    fixed = {"train": _choices("train", train, MODES), "eval_noise": _levels("eval_noise", eval_noise, 0.0, 1e3),
             "epochs": epochs, "train_noise": train_noise, "qat_precision": qat_precision}
    return _grid_run("train_modes", activations, depth, seeds, fixed, client, cache, progress)


def bitflip_resilience(
    activations: str | Sequence[str] = "relu",
    *,
    clipping: Sequence[str] = CLIPPING,
    ber: Sequence[float] = BER,
    where: Sequence[str] = WHERE,
    word: str | Sequence[str] = "float32",
    depth: int | Sequence[int] = (2, 4),
    seeds: int = 5,
    epochs: int = 10,
    client=None,
    cache: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """:func:`bitflip_faults` over activations x depth x ``seeds`` independent seeds, through :func:`gradlab.sweep`.

    ``word`` may list both formats (an axis of the sweep).  Per-seed rows; summarize with
    :func:`gradlab.t_summary` (per activation, clipping, where, word, ber, depth).
    """
    require("torch", "bitflip_resilience (networks on scikit-learn's bundled digits)")  # before the sweep starts
    fixed = {"clipping": _choices("clipping", clipping, CLIPPING), "ber": _levels("ber", ber, 0.0, 1.0),
             "where": _choices("where", where, WHERE), "epochs": epochs}
    words = _choices("word", word, WORDS)
    fixed["word"] = words[0] if len(words) == 1 else words  # one format is not an axis (nor a seed index)
    return _grid_run("bitflip_faults", activations, depth, seeds, fixed, client, cache, progress)
