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
from gradlab._validate import check_choice, check_int, check_interval
from gradlab.conventions import (
    CLIP_FORMS,
    CLIPPING,
    COMPANION_MODELS,
    FLIP_SITES,
    FLIP_WORDS,
    NOISE_RANGES,
    TRAIN_MODES,
)
from gradlab.queries._common import ActivationLike, arguments_checked, as_activations

__all__ = ["bitflip_faults", "bitflip_resilience", "noise_tolerance", "train_modes"]

#: The choices of the queries (gradlab.conventions): training modes, clippings, flip sites, words.
MODES, WHERE, WORDS = TRAIN_MODES, FLIP_SITES, FLIP_WORDS

#: Defaults of the grid runs: the noise levels and bit error rates the figures sweep (ProAct's rates
#: 1e-7 ... 3e-5, and 1e-4 beyond them, where the small digits MLP, 0.29 M stored bits, starts to be hit).
EVAL_NOISE = (0.0, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5)
BER = (0.0, 1e-7, 1e-6, 1e-5, 3e-5, 1e-4)


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


#: Each model's Adam step and batch when a query is not given them.
MODEL_TRAINING = {"mlp": {"lr": 3e-3, "batch": 64}, "fcn": {"lr": 1e-3, "batch": 64},
                  "convnet": {"lr": 1e-3, "batch": 64}}


def _training(model, depth, hidden, epochs, batch, lr, seed) -> dict:
    from gradlab.queries.networks import check_training

    model = check_choice("model", model, COMPANION_MODELS)
    batch = MODEL_TRAINING[model]["batch"] if batch is None else batch
    lr = MODEL_TRAINING[model]["lr"] if lr is None else lr
    kw = check_training(depth, hidden, epochs, batch, lr, seed)
    if model != "mlp":  # the digits MLP's budget check above; the MNIST models' own
        from gradlab.nn.experiment import check_work

        check_work("fcn" if model == "fcn" else "convnet", kw["depth"], kw["hidden"], kw["epochs"], kw["batch"],
                   kw["lr"])
    return {"model": model, **kw}


def _identity(act, kw: dict) -> dict:
    """The columns that say which network a row is about (the ConvNet has 6 convolutions and fixed widths)."""
    conv = kw["model"] == "convnet"
    return {"activation": act.label, "model": kw["model"], "depth": 6 if conv else kw["depth"],
            "hidden": 0 if conv else kw["hidden"], "epochs": kw["epochs"], "seed": kw["seed"]}


def train_modes(
    activation_: ActivationLike,
    chain=None,
    *,
    model: str = "mlp",
    train: Sequence[str] = MODES,
    eval_noise: Sequence[float] = EVAL_NOISE,
    train_noise: float = 0.1,
    noise_range: str = "sample",
    qat_bits: int = 4,
    warmup: int = 2,
    depth: int = 2,
    hidden: int = 64,
    epochs: int = 10,
    batch: int | None = None,
    lr: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Train one companion network per mode in ``train`` (same seed: same initialization, batches, dropout)
    and measure its test accuracy under each layer-output noise level of ``eval_noise``.

    ``model``: 'mlp' (8x8 digits), 'fcn' or 'convnet' (MNIST-5k), see :mod:`gradlab.nn.companion`.
    Modes: ``clean``; ``qat``, bounded QAT: ``qat_bits`` bits on ranges calibrated after
    ``warmup`` clean epochs and then constant (weights, biases, hidden pre-activations clipped and
    rounded; straight-through inside the range, zero gradient outside); ``noisy``, the
    evaluation's noise model at level ``train_noise`` in every step. Noise level eta: each hidden
    pre-activation z gets eta * R * N(0, 1), R the layer's range as ``noise_range`` says
    (:data:`gradlab.conventions.NOISE_RANGES`; the same meaning in training and at test).
    ``batch`` and ``lr`` (Adam): the model's own when None (:data:`MODEL_TRAINING`).
    ``chain`` must be None (the sweep runner passes one). One row per (mode, level): activation,
    model, depth, hidden, epochs, seed, train, qat_bits, train_noise, noise_range, eval_noise, test_accuracy.
    """
    require("torch", "train_modes (the companion networks in PyTorch)")
    _no_chain(chain, "eval_noise and train_noise")
    act = as_activations(activation_)[0]
    modes = _choices("train", train, MODES)
    levels = _levels("eval_noise", eval_noise, 0.0, 1e3)
    kw = _training(model, depth, hidden, epochs, batch, lr, seed)
    eta_train = check_interval("train_noise", train_noise, 0.0, 1e3)
    noise_range = check_choice("noise_range", noise_range, NOISE_RANGES)
    bits = check_int("qat_bits", qat_bits, minimum=1)
    if bits > 24:
        raise ValueError(f"qat_bits must be at most 24, got {qat_bits!r}")
    warmup = check_int("warmup", warmup, minimum=1)
    arguments_checked()
    from gradlab.nn import noisy_accuracy, torch_threads, train_mode

    rows = []
    for mode in modes:
        with torch_threads(1):  # one thread per run: runs go side by side
            net = train_mode(act, mode, train_noise=eta_train, qat_bits=bits, noise_range=noise_range, warmup=warmup,
                             **kw)
            accs = [noisy_accuracy(net, eta, noise_range=noise_range, seed=(kw["seed"], 1, k))
                    for k, eta in enumerate(levels)]
        for eta, acc in zip(levels, accs):
            rows.append({**_identity(act, kw), "train": mode, "qat_bits": bits, "train_noise": eta_train,
                         "noise_range": noise_range, "eval_noise": eta, "test_accuracy": acc})
    return pd.DataFrame(rows)


def bitflip_faults(
    activation_: ActivationLike,
    chain=None,
    *,
    model: str = "mlp",
    clipping: Sequence[str] = CLIPPING,
    ber: Sequence[float] = BER,
    patterns: int = 20,
    where: Sequence[str] = ("weights",),
    word: str = "fixed32",
    form: str = "smooth",
    fault_thresholds: bool = True,
    proact_epochs: int = 2,
    proact_images: int = 1000,
    depth: int = 2,
    hidden: int = 64,
    epochs: int = 10,
    batch: int | None = None,
    lr: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Train one companion network cleanly, then measure its test accuracy with each activation restriction
    of ``clipping`` under ``patterns`` fault patterns at each bit error rate of ``ber``.

    Clipping (:mod:`gradlab.nn.proact`): none, relu6, layer, neuron, hybrid (thresholds from the
    activations on the training data), proact (the hybrid's, then trained progressively:
    ``proact_epochs`` epochs per weight decay, on the first ``proact_images`` training images).
    ``form``: 'smooth', ProAct's bound to zero,
    max(0, h sigmoid(20 (lambda - h))), or 'saturating', min(h, lambda). Faults: every bit of the
    stored ``word`` (``fixed32``: Q15.16, ProAct's model; ``float32``; ``fixed16``) flips at
    rate ``ber``, the pattern drawn count first; in ``weights`` the memory is every weight and
    bias and (``fault_thresholds``) every threshold, one pattern for the whole test split, its
    flips in the weights the same for every clipping (paired); in ``activations`` every hidden
    pre-activation. ``batch``, ``lr``: the model's own when None. ``chain`` must be None. One row per
    (clipping, where, ber): activation,
    model, depth, hidden, epochs, seed, clipping, form, where, word, ber, patterns, test_accuracy
    (mean over patterns), accuracy_sd, flips and threshold_flips (mean per pattern), fault_free,
    mean_threshold.
    """
    require("torch", "bitflip_faults (the companion networks in PyTorch)")
    _no_chain(chain, "ber and where")
    act = as_activations(activation_)[0]
    rules = _choices("clipping", clipping, CLIPPING)
    rates = _levels("ber", ber, 0.0, 1.0)
    places = _choices("where", where, WHERE)
    word = check_choice("word", word, WORDS)
    form = check_choice("form", form, CLIP_FORMS)
    n_patterns = check_int("patterns", patterns, minimum=1)
    if not isinstance(fault_thresholds, bool):
        raise TypeError(f"fault_thresholds must be True or False, got {fault_thresholds!r}")
    proact = {"epochs": check_int("proact_epochs", proact_epochs, minimum=1),
              "images": check_int("proact_images", proact_images, minimum=1)}
    kw = _training(model, depth, hidden, epochs, batch, lr, seed)
    arguments_checked()
    from gradlab.nn import fault_accuracies, torch_threads, train_mode

    frames = []
    with torch_threads(1):  # one thread per run: runs go side by side
        net = train_mode(act, "clean", train_noise=0.0, **kw)
        for w, place in enumerate(places):
            part = fault_accuracies(net, rules, ber=rates, patterns=n_patterns, where=place, word=word, form=form,
                                    fault_thresholds=fault_thresholds, proact={**proact, "seed": kw["seed"] & 0xFFFF},
                                    seed=(kw["seed"], w))
            part.insert(1, "form", form)
            part.insert(2, "where", place)
            part.insert(3, "word", word)
            frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    for pos, (key, value) in enumerate(_identity(act, kw).items()):
        out.insert(pos, key, value)
    return out


def _grid_run(query: str, activations, depth, seeds: int, fixed: dict, client, cache, progress) -> pd.DataFrame:
    from gradlab.sweeps import sweep

    texts = [activations] if isinstance(activations, str) else activations
    if not isinstance(texts, (list, tuple)) or not texts or not all(isinstance(a, str) for a in texts):
        raise ValueError(f"activations must be names or expressions (strings), got {activations!r}")
    spec = {"query": query, "activations": texts, "seed": 0, "replicates": check_int("seeds", seeds, minimum=2),
            "depth": [check_int("depth", d, minimum=1) for d in ([depth] if isinstance(depth, int) else depth)],
            "chain": {"kind": "none"}, **fixed}
    return sweep(spec, client, cache=cache, progress=progress)


def _one_or_axis(values: list):
    return values[0] if len(values) == 1 else values  # one value is not an axis (nor a seed index)


def noise_tolerance(
    activations: str | Sequence[str] = ("relu", "gelu"),
    *,
    model: str | Sequence[str] = "mlp",
    train: Sequence[str] = MODES,
    eval_noise: Sequence[float] = EVAL_NOISE,
    noise_range: str = "sample",
    qat_bits: int | Sequence[int] = 4,
    depth: int | Sequence[int] = 2,
    seeds: int = 5,
    epochs: int = 10,
    train_noise: float = 0.1,
    client=None,
    cache: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """:func:`train_modes` over activations x model x qat_bits x depth x ``seeds`` seeds, through :func:`gradlab.sweep`.

    Per-seed rows (the sweep's axis columns, then train_modes' columns); summarize with
    :func:`gradlab.t_summary` (``bounds=(0, 1)``: a logit-scale interval inside [0, 1]).
    """
    require("torch", "noise_tolerance (the companion networks in PyTorch)")  # before the sweep starts
    models = _choices("model", model, COMPANION_MODELS)
    bits = [check_int("qat_bits", b, minimum=1) for b in ([qat_bits] if isinstance(qat_bits, int) else qat_bits)]
    fixed = {"model": _one_or_axis(models), "train": _choices("train", train, MODES),
             "eval_noise": _levels("eval_noise", eval_noise, 0.0, 1e3), "epochs": epochs, "train_noise": train_noise,
             "noise_range": check_choice("noise_range", noise_range, NOISE_RANGES), "qat_bits": _one_or_axis(bits)}
    return _grid_run("train_modes", activations, depth, seeds, fixed, client, cache, progress)


def bitflip_resilience(
    activations: str | Sequence[str] = "relu",
    *,
    model: str | Sequence[str] = "mlp",
    clipping: Sequence[str] = CLIPPING,
    ber: Sequence[float] = BER,
    patterns: int = 20,
    where: Sequence[str] = ("weights",),
    word: str | Sequence[str] = "fixed32",
    form: str | Sequence[str] = "smooth",
    proact_epochs: int = 2,
    proact_images: int = 1000,
    depth: int | Sequence[int] = 2,
    seeds: int = 5,
    epochs: int = 10,
    client=None,
    cache: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """:func:`bitflip_faults` over activations x model x word x form x depth x ``seeds`` seeds, through
    :func:`gradlab.sweep`.

    Per-seed rows (each the mean over ``patterns`` fault patterns); summarize with
    :func:`gradlab.t_summary` (per model, clipping, where, word, ber; ``bounds=(0, 1)``).
    """
    require("torch", "bitflip_resilience (the companion networks in PyTorch)")  # before the sweep starts
    fixed = {"model": _one_or_axis(_choices("model", model, COMPANION_MODELS)),
             "clipping": _choices("clipping", clipping, CLIPPING), "ber": _levels("ber", ber, 0.0, 1.0),
             "patterns": check_int("patterns", patterns, minimum=1), "where": _choices("where", where, WHERE),
             "epochs": epochs, "word": _one_or_axis(_choices("word", word, WORDS)),
             "form": _one_or_axis(_choices("form", form, CLIP_FORMS)),
             "proact_epochs": check_int("proact_epochs", proact_epochs, minimum=1),
             "proact_images": check_int("proact_images", proact_images, minimum=1)}
    return _grid_run("bitflip_faults", activations, depth, seeds, fixed, client, cache, progress)
