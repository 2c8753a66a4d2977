"""The figure set of SPEC section 4: one recipe per figure, query then plot.

Each recipe returns ``(Figure, DataFrame)``: the figure and exactly the data it drew, so a user can
restyle or re-analyse.  ``fast=True`` uses fewer samples and coarser grids, same figures.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

import gradlab as gl


class _OnFirstUse:
    """A module imported when one of its attributes is first used.

    The command line reads the figure names from this module to build its help; pandas, SciPy and
    matplotlib (half a second together) wait until a figure is drawn.
    """

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


pd = _OnFirstUse("pandas")
plots = _OnFirstUse("gradlab.plots")

__all__ = ["ALL_FIGURES", "FIGURES", "PAPER_FIGURES", "PAPER_RENDERING_OF", "TORCH_FIGURES", "make_figure",
           "require_torch"]

PAPER_LEAKAGE, PAPER_PRECISION = 0.5, 256
FAMILY_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def activations_figure(fast: bool = False):
    """Figure 1: ReLU, GELU, SiLU and their derivatives on [-1.5, 1.5]."""
    df = gl.activation_curves(["relu", "gelu", "silu"], np.linspace(-1.5, 1.5, 601))
    return plots.plot_activations(df), df


def _panels(acts, chains: dict, x, x_by_panel: dict | None = None) -> pd.DataFrame:
    parts = []
    for name, chain in chains.items():
        part = gl.activation_curves(acts, (x_by_panel or {}).get(name, x), chain=chain, seed=0)
        part.insert(0, "panel", name)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def gelu_scaling_figure(fast: bool = False):
    """Figure 2: GELU for s in {1, 1.5, 2, 2.5, 3}, clean and on inputs quantized to P = 6."""
    acts = [gl.activation("gelu", s=s) for s in (1, 1.5, 2, 2.5, 3)]
    df = _panels(acts, {"clean": None, "quantized, P = 6": gl.Quantize(6)}, np.linspace(-1.5, 1.5, 601))
    return plots.plot_quantized_family(df, "Scaled GELU x·Phi(s·x)"), df


def effective_precision_figure(fast: bool = False):
    """Figure 3: effective precision near 0 against the GELU scale s (P = 64)."""
    df = gl.effective_precision(np.linspace(0.5, 5, 91), precision=64)
    return plots.plot_effective_precision(df), df


_SMOOTH_NAMES = {"gelu": "GELU", "silu": "SiLU"}


def _interpolation(family: str):
    acts = [gl.activation(family, i=i) for i in FAMILY_WEIGHTS]
    noisy = "noisy (leakage 0.5) + quantized, P = 6"
    chains = {"clean": None, "quantized, P = 6": gl.Quantize(6), noisy: gl.analog(leakage=0.5, precision=6)}
    # One noise draw per x, drawn as points: a coarser grid keeps them apart.
    df = _panels(acts, chains, np.linspace(-1.5, 1.5, 601), {noisy: np.linspace(-1.5, 1.5, 151)})
    title = f"{family}: (1 - i)·ReLU + i·{_SMOOTH_NAMES[family.split('_')[1]]}"
    return plots.plot_quantized_family(df, title, points=[noisy]), df


def relu_gelu_family_figure(fast: bool = False):
    """Figure 4: relu_gelu for i in {0, .25, .5, .75, 1}: clean, quantized, noisy then quantized."""
    return _interpolation("relu_gelu")


def relu_silu_family_figure(fast: bool = False):
    """Figure 4 for the SiLU family."""
    return _interpolation("relu_silu")


def step_discontinuity_figure(fast: bool = False):
    """Figure 5: gradient step discontinuity against i, symbolic and the paper's numeric form."""
    w = np.linspace(0, 1, 21)
    df = pd.concat([gl.step_discontinuity("relu_gelu", w), gl.step_discontinuity("relu_silu", w)], ignore_index=True)
    return plots.plot_step_discontinuity(df), df


def _paper_chain():
    return gl.analog(leakage=PAPER_LEAKAGE, precision=PAPER_PRECISION)


def product_maps_figure(fast: bool = False):
    """Figure 6: product error maps of ReLU and GELU (P = 256, leakage 0.5), whole and zoomed."""
    grid = np.linspace(-1, 1, 2 * PAPER_PRECISION + 1 if not fast else 129)
    df = gl.product_error_map(["relu", "gelu"], _paper_chain(), grid, grid, repeats=2 if fast else 8, seed=0)
    return plots.plot_product_maps(df, "Input x weight gradient error (P = 256, leakage 0.5)", zoom=0.25), df


#: The paper's colour limits for its single-realization product maps (its figure code).
PAPER_MAP_LIMITS = {"relu": 1.0, "gelu": 0.01}


def product_maps_paper_figure(fast: bool = False):
    """Figure 6 as the paper draws it: one noise realization, linear colour stopping at 1 (ReLU) and 0.01 (GELU).

    The title gives that realization's ratios of window maxima and means over |a|, |w| <= 0.25:
    the two readings of "about 100x" (about 95 and about 41).
    """
    grid = np.linspace(-1, 1, 2 * PAPER_PRECISION + 1 if not fast else 129)
    df = gl.product_error_map(["relu", "gelu"], _paper_chain(), grid, grid, repeats=1, seed=0)
    stats = gl.product_error_stats(["relu", "gelu"], _paper_chain(), grid, grid, window=0.25, repeats=1, seed=0)
    by = stats.set_index("activation")
    title = (f"One realization, as the paper draws it (P = 256, leakage 0.5)\nin |a|, |w| ≤ 0.25: "
             f"ReLU/GELU max {by.at['relu', 'max'] / by.at['gelu', 'max']:.0f}x, "
             f"mean {by.at['relu', 'mean'] / by.at['gelu', 'mean']:.0f}x")
    return plots.plot_product_maps_paper(df, title, PAPER_MAP_LIMITS, zoom=0.25), df


def _family_maps(family: str, fast: bool):
    grid = np.linspace(-0.25, 0.25, 129 if not fast else 65)
    acts = [gl.activation(family, i=i) for i in FAMILY_WEIGHTS]
    df = gl.product_error_map(acts, _paper_chain(), grid, grid, repeats=2 if fast else 8, seed=0)
    title = f"{family} product error maps, |a|, |w| ≤ 0.25 (P = 256, leakage 0.5)"
    return plots.plot_product_maps(df, title, zoom=0.25, columns=3), df


def relu_gelu_maps_figure(fast: bool = False):
    """Figure 7: product error maps for relu_gelu, i in {0, .25, .5, .75, 1}, zoomed."""
    return _family_maps("relu_gelu", fast)


def relu_silu_maps_figure(fast: bool = False):
    """Figure 7 for the SiLU family."""
    return _family_maps("relu_silu", fast)


def gradient_error_figure(fast: bool = False):
    """Figure 8: gradient error against input, exact curves with Monte Carlo points and bands."""
    acts = ["relu", "gelu", "silu", gl.activation("relu_gelu", i=0.5), gl.activation("relu_silu", i=0.5)]
    chain = _paper_chain()
    exact = gl.gradient_error(acts, chain, np.linspace(-0.1, 0.1, 801), method="exact")
    mc = gl.gradient_error(acts, chain, np.linspace(-0.1, 0.1, 41), method="mc",
                           samples=2_000 if fast else 50_000, seed=0)
    exact["engine"], mc["engine"] = "exact", "mc"
    fig = plots.plot_gradient_error(exact, mc, "Gradient error under the analog chain (P = 256, leakage 0.5)")
    return fig, pd.concat([exact, mc], ignore_index=True)


def error_ratio_figure(fast: bool = False):
    """Figure 9: error-near-zero ratio to GELU against the window and against the noise level."""
    acts = ["relu", "silu", gl.activation("relu_gelu", i=0.5), gl.activation("relu_silu", i=0.5)]
    widths = np.geomspace(1 / 1024, 0.5, 12 if fast else 24)
    by_width = gl.error_near_zero(acts, _paper_chain(), width=widths, reference="gelu")
    leakages = np.linspace(0.05, 0.95, 8 if fast else 19)
    chains = [gl.analog(leakage=lk, precision=PAPER_PRECISION) for lk in leakages]
    by_noise = gl.error_near_zero(acts, chains, width=1 / 64, reference="gelu")
    by_width["sweep"], by_noise["sweep"] = "width", "noise"
    fig = plots.plot_error_ratio(by_width, by_noise, "How much larger than GELU's is the error near 0?",
                                 chain_label="analog chain, P = 256, leakage 0.5")
    return fig, pd.concat([by_width, by_noise], ignore_index=True)


def depth_figure(fast: bool = False):
    """Figure 10: error of the backpropagated gradient against depth, per activation."""
    acts = ["relu", "gelu", "silu", gl.activation("relu_gelu", i=0.5), gl.activation("relu_silu", i=0.5)]
    df = gl.depth_error(acts, _paper_chain(), depth=[1, 2, 4, 8, 16], width=32, samples=16 if fast else 128, seed=0)
    df["input_rel_error_ci95"] = gl.t_halfwidth(df["input_rel_error_stderr"], df["samples"])
    df["input_cosine_ci95"] = gl.t_halfwidth(df["input_cosine_stderr"], df["samples"])
    return plots.plot_depth_error(df, "Gradient error through depth (analog chain on every pre-activation)"), df


#: Noise levels of the training sweep: the paper's leakage at two precisions, Gaussian ->
#: Quantize without the clamp (a clamp at +-1 saturates the unnormalized pre-activations of the
#: digits MLP and caps every activation near 45% test accuracy, which hides any difference).
TRAINING_LEAKAGE, TRAINING_PRECISIONS = 0.5, (16, 4)


def training_figure(fast: bool = False):
    """Network-level counterpart: digits test accuracy against i, trained and tested under noise.

    Runs through the sweep runner (gl.sweep): precision x depth x replicate, every interpolant at
    each point with the point's seed, so the runs resume (each finished point is kept in the sweep
    cache), show their progress and scale out like any sweep.
    """
    weights = (0.0, 0.5, 1.0) if fast else FAMILY_WEIGHTS
    families = ("relu_gelu", "relu_silu")
    spec = {
        "query": "train_noisy",
        "activations": [f"{family}(i={i:g})" for family in families for i in weights],
        "seed": 0,
        "replicates": 2 if fast else 3,
        "depth": [2, 4],
        "epochs": 2 if fast else 10,
        "batch": 64,
        "chain": {"kind": "analog", "leakage": TRAINING_LEAKAGE, "precision": list(TRAINING_PRECISIONS),
                  "clamp": False},
    }
    history = gl.sweep(spec)
    last = history[history["epoch"] == history["epoch"].max()]
    which = {gl.activation(family, i=i).label: (family, i) for family in families for i in weights}
    runs = pd.DataFrame({
        "family": [which[a][0] for a in last["activation"]],
        "i": [which[a][1] for a in last["activation"]],
        "noise": [f"P = {p:g}, leakage {TRAINING_LEAKAGE:g}" for p in last["precision"]],
        "depth": last["depth"].to_numpy(),
        "replicate": last["replicate"].to_numpy(),
        "seed": last["seed"].to_numpy(),
        "epochs": spec["epochs"],
        "accuracy": last["test_accuracy"].to_numpy(),
        "loss": last["test_loss"].to_numpy(),
    })
    # Few seeds: Student's t with seeds - 1 degrees of freedom (4.30 for 3), on the logit of the
    # accuracy so that the interval stays inside [0, 1].
    summary = gl.t_summary(runs, ["noise", "depth", "family", "i"], value="accuracy", bounds=(0, 1))
    fig = plots.plot_training(summary, "Digits MLP trained and tested under Gaussian noise -> Quantize")
    return fig, runs


#: The companion experiments per model: the keyword arguments of gl.noise_tolerance / gl.bitflip_resilience
#: for the default run (under 5 minutes each on 2 quiet cores), the fast one (the MLP and the FCN only: a
#: ConvNet point takes minutes of CPU) and the full tier (committed rows, redrawn without training).
NOISE_SPECS = {
    "default": {
        "mlp": {"activations": ["relu", "gelu"], "seeds": 3, "epochs": 10},
        "fcn": {"activations": ["relu", "gelu"], "seeds": 3, "epochs": 5},
        "convnet": {"activations": ["relu"], "seeds": 2, "epochs": 3, "train_noise": 0.03},
    },
    "fast": {
        "mlp": {"activations": ["relu"], "seeds": 2, "epochs": 3},
        "fcn": {"activations": ["relu"], "seeds": 2, "epochs": 1},
    },
    "full": {
        "mlp": {"activations": ["relu", "gelu", "relu_gelu(i=0.5)"], "seeds": 5, "epochs": 10, "qat_bits": [4, 8]},
        "fcn": {"activations": ["relu", "gelu"], "seeds": 5, "epochs": 10, "qat_bits": [4, 8]},
        "convnet": {"activations": ["relu"], "seeds": 3, "epochs": 5},
        # Noisy training at eta = 0.1 diverges on the ConvNet (its loss climbs to 8 in the second epoch): the same
        # at eta = 0.03, beside it. A key "model/label" is a second run of one model.
        "convnet/eta=0.03": {"activations": ["relu"], "seeds": 3, "epochs": 5, "train": ["noisy"],
                             "train_noise": 0.03},
    },
}
_CONV_RULES = ["none", "layer", "neuron", "hybrid", "proact"]
BITFLIP_SPECS = {
    "default": {
        "mlp": {"seeds": 3, "epochs": 10, "patterns": 30},
        "fcn": {"seeds": 3, "epochs": 5, "patterns": 30},
        "convnet": {"seeds": 2, "epochs": 3, "patterns": 5, "clipping": ["none", "layer", "hybrid"]},
    },
    "fast": {
        "mlp": {"seeds": 2, "epochs": 3, "patterns": 5},
        "fcn": {"seeds": 2, "epochs": 1, "patterns": 3, "clipping": ["none", "layer", "neuron", "hybrid"]},
    },
    "full": {
        "mlp": {"seeds": 5, "epochs": 10, "patterns": 100},
        "fcn": {"seeds": 5, "epochs": 10, "patterns": 100},
        "convnet": {"seeds": 3, "epochs": 5, "patterns": 12, "clipping": _CONV_RULES, "proact_epochs": 1,
                    "proact_images": 500},
    },
}


def _tier(fast: bool) -> str:
    return "fast" if fast else "default"


def _companion_runs(kind: str, tier: str, client=None, cache=True) -> pd.DataFrame:
    """Every model's rows of one companion experiment at ``tier`` (``NOISE_SPECS`` / ``BITFLIP_SPECS``), one sweep
    per model and QAT bit width (so that the clean and noisy networks are not trained again for each width)."""
    from gradlab.conventions import TRAIN_MODES
    from gradlab.experiments.runs import bitflip_resilience, noise_tolerance

    parts = []
    for key, kw in (NOISE_SPECS if kind == "noise" else BITFLIP_SPECS)[tier].items():
        model, kw = key.split("/")[0], dict(kw)
        if kind == "bitflip":
            parts.append(bitflip_resilience(kw.pop("activations", "relu"), model=model, client=client, cache=cache,
                                            progress=True, **kw))
            continue
        bits, train = kw.pop("qat_bits", [4]), kw.pop("train", list(TRAIN_MODES))
        for k, b in enumerate(bits):
            part = noise_tolerance(model=model, qat_bits=b, train=train if k == 0 else ["qat"],
                                   client=client, cache=cache, progress=True, **kw)
            parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _noise_summary(runs: pd.DataFrame) -> pd.DataFrame:
    runs = runs.copy()
    several = runs.loc[runs["train"] == "qat", "qat_bits"].nunique() > 1
    etas = runs.loc[runs["train"] == "noisy", "train_noise"] if "train_noise" in runs else pd.Series([0.1])
    runs["train"] = [f"qat, {b} bits" if t == "qat" and several else
                     (f"noisy, eta {e:g}" if t == "noisy" and etas.nunique() > 1 else t)
                     for t, b, e in zip(runs["train"], runs["qat_bits"], runs.get("train_noise", 0.1))]
    return gl.t_summary(runs, ["model", "activation", "train", "eval_noise"], bounds=(0, 1))


def _noise_figure(runs: pd.DataFrame, tier: str):
    bits = sorted(runs.loc[runs["train"] == "qat", "qat_bits"].unique())
    title = (f"Accuracy under layer-output noise eta x R by training mode ({tier})\nR: each sample's max|z| in the "
             f"layer; QAT: {'/'.join(map(str, bits))} bits on calibrated ranges; noisy training at eta = 0.1 "
             "(the ConvNet's also at 0.03)")
    return plots.plot_noise_tolerance(_noise_summary(runs), title), runs


def noise_tolerance_figure(fast: bool = False):
    """Accuracy under inference noise per training mode: clean, bounded QAT, noisy (arXiv 2501.14531), on the
    digits MLP, the MNIST-5k FCN and ConvNet (:data:`NOISE_SPECS`)."""
    return _noise_figure(_companion_runs("noise", _tier(fast), client=_workers()), _tier(fast))


def _bitflip_figure(runs: pd.DataFrame, tier: str):
    summary = gl.t_summary(runs, ["model", "clipping", "where", "word", "ber"], bounds=(0, 1))
    patterns = "/".join(str(p) for p in dict.fromkeys(runs["patterns"]))
    title = (f"ReLU networks under bit flips in stored weights, biases and thresholds ({tier})\n{patterns} fault "
             "patterns per rate and seed; clipping: ProAct's smooth bound to zero")
    return plots.plot_bitflip(summary, title), runs


def bitflip_figure(fast: bool = False):
    """Accuracy against the bit error rate of Q15.16 words per activation restriction (ProAct, arXiv 2406.06313),
    on the digits MLP, the MNIST-5k FCN and ConvNet (:data:`BITFLIP_SPECS`)."""
    return _bitflip_figure(_companion_runs("bitflip", _tier(fast), client=_workers()), _tier(fast))


def companion_full_path(kind: str):
    """Where a companion experiment's full tier's rows live: 'noise' or 'bitflip'."""
    from pathlib import Path

    name = {"noise": "noise_tolerance_full.csv", "bitflip": "bitflip_full.csv"}[kind]
    return Path(__file__).resolve().parent / "data" / name


def noise_tolerance_full_figure(fast: bool = False):
    """The noise-tolerance full tier, drawn from its committed rows (gradlab/data/noise_tolerance_full.csv)."""
    return _noise_figure(pd.read_csv(companion_full_path("noise")), "full tier")


def bitflip_full_figure(fast: bool = False):
    """The bit-flip full tier, drawn from its committed rows (gradlab/data/bitflip_full.csv)."""
    return _bitflip_figure(pd.read_csv(companion_full_path("bitflip")), "full tier")


def rerun_companion_full(kind: str, client=2):
    """Run a companion experiment's full tier again ('noise' or 'bitflip') and write its rows atomically."""
    from gradlab._io import save_table

    runs = _companion_runs(kind, "full", client=client)
    save_table(runs, companion_full_path(kind))
    return runs


#: The paper's training experiment (gradlab.nn, the torch extra): its FCN at P = 8, leakage 0.5 (the setting where
#: the prototype found GELU 16 points ahead), every activation and control of a seed trained from one start.
ANALOG_LEAKAGE, ANALOG_PRECISION = 0.5, 8
ANALOG_ACTIVATIONS = ("relu", "leaky_relu", "relu_gelu(i=0.5)", "gelu")
ANALOG_CONTROLS = ("none", "clean_gradient", "forward_noise_only", "backward_noise_only", "inputs_only",
                   "weights_only", "outputs_only", "clamp_only", "logit_activation")


def analog_spec(fast: bool = False) -> dict:
    """The sweep behind the analog_training figure (default tier: 4 activations x 9 controls x 3 seeds, 10 epochs)."""
    return {
        "query": "train_analog",
        "activations": list(ANALOG_ACTIVATIONS[::3] if fast else ANALOG_ACTIVATIONS),
        "seed": 19,
        "replicates": 2 if fast else 3,
        "chain": {"kind": "analog", "leakage": ANALOG_LEAKAGE, "precision": ANALOG_PRECISION},
        "data": "mnist5k", "model": "fcn", "depth": 2, "width": 128,
        "controls": list(ANALOG_CONTROLS[:2] if fast else ANALOG_CONTROLS),
        "epochs": 3 if fast else 10, "batch": 128,
    }


#: The full tier, run once (``python analyses/analog_training_full.py --rerun``); its rows are committed in
#: gradlab/data/analog_training_full.csv and drawn from there in seconds.
ANALOG_FULL_SPECS = {
    "fcn": {
        "query": "train_analog",
        "activations": [f"relu_gelu(i={i:g})" for i in FAMILY_WEIGHTS],
        "seed": 2402, "replicates": 5,
        "chain": {"kind": "analog", "leakage": ANALOG_LEAKAGE, "precision": [8, 16, 32]},
        "data": "mnist5k", "model": "fcn", "depth": [1, 2, 3], "width": 128,
        "controls": ["none", "clean_gradient"], "epochs": 10, "batch": 128,
    },
    "convnet": {
        "query": "train_analog",
        "activations": [f"relu_gelu(i={i:g})" for i in FAMILY_WEIGHTS],
        "seed": 2403, "replicates": 3,
        "chain": {"kind": "analog", "leakage": ANALOG_LEAKAGE, "precision": [16]},
        "data": "mnist5k", "model": "convnet", "controls": ["none", "clean_gradient"], "epochs": 5, "batch": 128,
    },
}


def analog_full_path():
    """Where the full tier's committed rows live (inside the package, so an install carries them)."""
    from pathlib import Path

    return Path(__file__).resolve().parent / "data" / "analog_training_full.csv"


def _workers():
    """Two local Dask workers (one torch thread each) where the sweep extra is installed, else None (here)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return None
    return 2


def _accuracy_means(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean final test accuracy over seeds per ``keys``, with the logit-t 95% interval (inside [0, 1])."""
    last = runs.groupby([*keys, "replicate"], sort=False).tail(1)  # each run's last epoch
    out = gl.t_summary(last, keys, bounds=(0, 1))
    return out.rename(columns={"mean": "accuracy", "ci_low": "low", "ci_high": "high"})


def analog_training_figure(fast: bool = False):
    """The paper's training experiment in PyTorch: MNIST-5k FCN at P = 8 per control, and the paired gap to ReLU.

    Trains through gl.sweep (4 activations x 9 controls x 3 seeds, 10 epochs; about 2 minutes on 2
    workers); needs the torch extra.
    """
    runs = gl.sweep(analog_spec(fast), client=_workers(), cache=False, progress=False)
    summary = gl.analog_summary(runs, reference="relu")
    means = _accuracy_means(runs, ["control", "activation"]).rename(
        columns={"low": "accuracy_low", "high": "accuracy_high"})
    summary = summary.merge(means[["control", "activation", "accuracy", "accuracy_low", "accuracy_high"]],
                            on=["control", "activation"])
    title = (f"MNIST-5k FCN 784-128-64-10 in the paper's analog placement (leakage {ANALOG_LEAKAGE:g}, "
             f"P = {ANALOG_PRECISION})")
    return plots.plot_analog_training(summary, title), runs


def analog_training_full_figure(fast: bool = False):
    """The full tier: accuracy against i for P in {8, 16, 32} and 1-3 hidden layers, and the ConvNet at P = 16.

    Drawn from the committed rows (gradlab/data/analog_training_full.csv), no training; ``fast`` changes nothing.
    """
    runs = pd.read_csv(analog_full_path())
    runs["i"] = runs["param_i"]
    summary = _accuracy_means(runs, ["model", "depth", "precision", "control", "i"])
    title = "relu_gelu(i) trained in the paper's analog placement (MNIST-5k, leakage 0.5)"
    return plots.plot_analog_training_full(summary, title), runs


def rerun_analog_full(client=2):
    """Run the full tier again (both specs of :data:`ANALOG_FULL_SPECS`) and write its rows atomically."""
    from gradlab._io import save_table

    runs = pd.concat([gl.sweep(spec, client=client, cache=True, progress=True) for spec in ANALOG_FULL_SPECS.values()],
                     ignore_index=True)
    save_table(runs, analog_full_path())
    return runs


def layer_diagnostics_path():
    """The committed rows of the layer_diagnostics figure (package data)."""
    from pathlib import Path

    return Path(__file__).resolve().parent / "data" / "layer_diagnostics.csv"


#: How the committed layer_diagnostics rows were made (gradlab.diagnostics.study.diagnose_paper_networks).
LAYER_DIAGNOSTICS = {"activations": ("relu", "gelu"), "steps": 40, "leakage": 0.5, "precision": 8}


def layer_diagnostics_figure(fast: bool = False):
    """Per-layer gradient error in the paper's FCN and ConvNet, measured against gradlab's exact prediction.

    Drawn from the committed rows (gradlab/data/layer_diagnostics.csv), no training; ``fast``
    changes nothing. ``python analyses/layer_diagnostics.py --rerun`` makes them again.
    """
    frame = pd.read_csv(layer_diagnostics_path())
    title = (f"Gradient error per layer while training under gl.analog({LAYER_DIAGNOSTICS['leakage']:g}, "
             f"{LAYER_DIAGNOSTICS['precision']:g}), MNIST-5k, {LAYER_DIAGNOSTICS['steps']} steps: measured vs "
             "gradlab's exact e(x), and what it does to the gradient")
    return plots.plot_layer_diagnostics(frame, title), frame


def rerun_layer_diagnostics():
    """Train and diagnose the paper's two networks again and write the rows atomically (about 2 minutes)."""
    from gradlab._io import save_table
    from gradlab.diagnostics.study import diagnose_paper_networks

    frame = diagnose_paper_networks(**LAYER_DIAGNOSTICS)
    save_table(frame, layer_diagnostics_path())
    return frame


#: The paper's own renderings, drawn beside gradlab's by ``gradlab figures --paper``.
PAPER_FIGURES: dict[str, Callable] = {
    "product_maps_paper": product_maps_paper_figure,
}

#: Each paper rendering -> the gradlab figure it redraws (``gradlab figures --only product_maps --paper``).
PAPER_RENDERING_OF: dict[str, str] = {
    "product_maps_paper": "product_maps",
}

#: Figure name -> recipe, in the order of SPEC section 4.
FIGURES: dict[str, Callable] = {
    "activations": activations_figure,
    "gelu_scaling": gelu_scaling_figure,
    "effective_precision": effective_precision_figure,
    "relu_gelu_family": relu_gelu_family_figure,
    "relu_silu_family": relu_silu_family_figure,
    "step_discontinuity": step_discontinuity_figure,
    "product_maps": product_maps_figure,
    "relu_gelu_maps": relu_gelu_maps_figure,
    "relu_silu_maps": relu_silu_maps_figure,
    "gradient_error": gradient_error_figure,
    "error_ratio": error_ratio_figure,
    "depth": depth_figure,
    "training": training_figure,
    "noise_tolerance": noise_tolerance_figure,
    "bitflip": bitflip_figure,
    "noise_tolerance_full": noise_tolerance_full_figure,
    "bitflip_full": bitflip_full_figure,
    "analog_training": analog_training_figure,
    "analog_training_full": analog_training_full_figure,
    "layer_diagnostics": layer_diagnostics_figure,
}


#: Every recipe by name: the default set, then the paper's renderings.
ALL_FIGURES: dict[str, Callable] = {**FIGURES, **PAPER_FIGURES}


#: The figures that train networks: they need the torch extra (gradlab.nn).
TORCH_FIGURES = ("training", "noise_tolerance", "bitflip", "analog_training")


def require_torch(name: str) -> None:
    """Raise ImportError saying how to install PyTorch (for this installation) when figure ``name`` needs it."""
    if name in TORCH_FIGURES:
        from gradlab._extras import require

        require("torch", f"the {name} figure (it trains networks with PyTorch)")


def make_figure(name: str, fast: bool = False):
    """(Figure, DataFrame) of the named figure (one of ALL_FIGURES); ImportError before any work if it
    needs PyTorch (:data:`TORCH_FIGURES`) and torch is not installed."""
    from gradlab._validate import check_choice

    check_choice("figure", name, ALL_FIGURES)
    require_torch(name)
    return ALL_FIGURES[name](fast=fast)
