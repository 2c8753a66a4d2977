"""The explorer's computations: pure functions from control values to the data each view draws.

The notebooks (:mod:`gradlab.explore.explorer`, :mod:`gradlab.explore.lesson`) only call these and
the plotting functions, so everything a student sees is computed here, through the public queries
and engines, and tested like the rest of gradlab.

Speed.  A slider move must redraw within 100 ms (``benchmarks/bench_explore.py``).  Every new
parameter value is a new :class:`~gradlab.Activation`, and compiling its Numba kernels costs about
0.3 s, so the explorer evaluates f, f' and f'' with NumPy code that sympy generates from the same
expressions the kernels are generated from (:func:`explorer_activation`): a few ms per new value,
and fast enough for the few thousand points a view needs.  The Monte Carlo engine and the depth
experiment, which run on a button, use the compiled kernels as usual.
"""
from __future__ import annotations

import html
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

import gradlab as gl
from gradlab._validate import check_choice
from gradlab.activations import Activation
from gradlab.conventions import KINK_CHOICES, NOISES, ROUNDING
from gradlab.engines import ExactUnsupported, level_distribution

__all__ = [
    "FAMILIES",
    "ExactUnsupported",
    "NOISES",
    "PRECISIONS",
    "REFERENCE",
    "WINDOWS",
    "Settings",
    "chain_text",
    "control_value",
    "curves",
    "depth_view",
    "effective_precision_bits",
    "empty_errors",
    "error_curve",
    "exact_unavailable_text",
    "explorer_activation",
    "level_view",
    "live_numbers",
    "make_chain",
    "mc_points",
    "page_text",
    "prepare",
    "prepare_kinks",
    "problem_html",
    "slider_values",
]

#: Activation families offered by the explorer, with the parameters each takes from the controls.
FAMILIES: dict[str, tuple[str, ...]] = {
    "relu_gelu": ("i", "s"),
    "relu_silu": ("i",),
    "gelu": ("s",),
    "relu": (),
    "clipped_relu": ("lam",),
    "bounded_relu": ("lam",),
    "smooth_bounded_relu": ("lam", "k"),
    "expression": (),
}
#: Precision choices, levels per unit (not bits): small ones show the staircase, 256 is the paper's.
PRECISIONS = (2, 4, 6, 8, 16, 32, 64, 128, 256, 512, 1024)
#: Window half-widths around 0, powers of two (they read best as fractions, and hold x = 0 on the lattice).
WINDOWS = tuple(2.0**-k for k in range(10, -1, -1))
#: The smooth activation every error is compared with (the paper's).
REFERENCE = "gelu"


def page_text(value: object) -> str:
    """``value`` as HTML that shows it literally: user text (a typed expression, a label, a message
    quoting either) is escaped, never read as HTML or Markdown (``<img onerror=...>`` stays text,
    ``__import__`` is not made bold)."""
    text = html.escape(str(value), quote=True)
    # Markdown is not applied to mo.Html, but marimo's front end may still format a few characters
    # when the HTML is re-rendered; numeric references keep them literal.
    return text.replace("*", "&#42;").replace("_", "&#95;").replace("`", "&#96;").replace("$", "&#36;")


def problem_html(exc: BaseException) -> str:
    """The refusal of the controls' values, as the page shows it: its kind in bold, its message as text."""
    return f"<b>{page_text(type(exc).__name__)}</b>: {page_text(exc)}"


def chain_text(chain: gl.Chain, digits: int = 4) -> str:
    """The chain as the page prints it: its repr with every number at ``digits`` significant digits
    (``sigma=0.002896``, not ``sigma=0.0028957074580187535``)."""
    return re.sub(r"(?<![\w.])\d+\.\d+(?:e[-+]?\d+)?", lambda m: f"{float(m.group()):.{digits}g}", repr(chain))


def exact_unavailable_text(settings: Settings) -> str:
    """What the page shows instead of the exact views when the exact engine cannot follow the chain, in one sentence."""
    why = ("stochastic rounding after noise makes x~ a random level that the exact engine does not follow"
           if settings.rounding == "stochastic" else "the exact engine does not follow this chain")
    return (f"No exact numbers here: {why}. The error near zero, its ratio to GELU, the law of x~ and the exact "
            "e(x) curve are left out; the Monte Carlo button estimates e(x) by sampling instead.")


@dataclass(frozen=True)
class Settings:
    """What the controls hold.  Units: x, scale, window and lam in input units; precision in levels per unit.

    ``scale`` (None: use ``leakage``) is the noise's own scale: sigma (Gaussian), the full width
    (uniform) or b (Laplace).  ``leakage`` is the probability that the noise moves a value out of
    its quantization bin of width 1/precision (AnalogVNN's parameterization).
    """

    family: str = "relu_gelu"
    i: float = 0.0
    s: float = 1.0
    lam: float = 0.5
    k: float = 20.0
    expression: str = "x*tanh(log(1 + exp(x)))"
    kink: str = "autograd"
    noise: str = "gaussian"
    leakage: float = 0.5
    scale: float | None = None
    precision: float = 256
    rounding: str = "half_toward_zero"
    clamp: bool = True
    window: float = 1 / 16
    x0: float = 0.0

    def __post_init__(self):
        check_choice("family", self.family, FAMILIES)
        check_choice("kink", self.kink, KINK_CHOICES)
        check_choice("noise", self.noise, NOISES)
        check_choice("rounding", self.rounding, ROUNDING)
        if not (isinstance(self.window, (int, float)) and 0 < self.window <= 1):
            raise ValueError(f"window must be a number in (0, 1], got {self.window!r}")

    @property
    def activation(self) -> Activation:
        """The chosen activation (NumPy-evaluated, see :func:`explorer_activation`)."""
        params = {p: getattr(self, p) for p in FAMILIES[self.family]}
        spec = self.expression if self.family == "expression" else self.family
        return explorer_activation(spec, self.kink, **params)

    @property
    def reference(self) -> Activation:
        """GELU, which every error is compared with (smooth, so no kink convention applies)."""
        return explorer_activation(REFERENCE, "autograd")

    @property
    def chain(self) -> gl.Chain:
        """The perturbation chain the hardware controls describe (:func:`make_chain`)."""
        return make_chain(self.noise, self.leakage, self.scale, self.precision, self.rounding, self.clamp)


# One build at a time: the page's thread and the one that prepares slider values (:func:`prepare`)
# never run sympy on the same expressions at once.
_BUILD = threading.Lock()


@lru_cache(maxsize=1024)
def _explorer_activation(spec: str, kink: str, params: tuple[tuple[str, float], ...]) -> Activation:
    with _BUILD:
        return gl.activation(spec, kink=kink, **dict(params)).with_evaluation("numpy")


def explorer_activation(spec: str, kink: str = "autograd", **params: float) -> Activation:
    """``gl.activation(spec, kink=kink, **params)`` evaluated by generated NumPy code (no compile wait), cached.

    Raises what :func:`gradlab.activation` raises (``ExpressionError`` for a bad expression, a
    ValueError naming a parameter out of range), which the page shows as it is.
    """
    return _explorer_activation(spec.strip(), kink, tuple(sorted((k, float(v)) for k, v in params.items())))


def slider_values(start: float, stop: float, step: float) -> list[float]:
    """The values a slider from ``start`` to ``stop`` by ``step`` sends, rounded as the page rounds them
    (:func:`control_value`)."""
    n = round((stop - start) / step)
    return [control_value(start + k * step) for k in range(n + 1)]


def control_value(value: float) -> float:
    """A slider's value rounded to 10 decimals: 0.15 whether the browser summed 0.05 three times or not,
    so a value met again is the same cache key."""
    return round(float(value), 10)


def prepare(family: str, values: dict[str, Sequence[float]], kink: str = "autograd",
            stop: Callable[[], bool] = lambda: False) -> int:
    """Build (and cache) ``family``'s activation at every value of each parameter in ``values``, the
    others at their defaults, with its GSD, smoothness, kinks and NumPy code: what a new slider
    value costs (its symbolic analysis, 50-70 ms) is then paid before the slider reaches it.
    Stops early when ``stop()``; returns how many were built."""
    defaults = Settings()
    built = 0
    for name, choices in values.items():
        for v in choices:
            if stop():
                return built
            _build(family, kink, {p: (v if p == name else getattr(defaults, p)) for p in FAMILIES[family]})
            built += 1
    return built


def prepare_kinks(family: str, kinks: Sequence[str], stop: Callable[[], bool] = lambda: False) -> int:
    """Build (and cache) ``family``'s activation at its default parameters under each kink convention
    in ``kinks``, as :func:`prepare` does: a move of the kink control then costs no analysis.
    Returns how many were built."""
    defaults = Settings()
    built = 0
    for kink in kinks:
        if stop():
            break
        _build(family, kink, {p: getattr(defaults, p) for p in FAMILIES[family]})
        built += 1
    return built


def _build(family: str, kink: str, params: dict[str, float]) -> None:
    act = explorer_activation(family, kink, **params)
    with _BUILD:  # the symbolic numbers the page shows, and the NumPy code, are made on first use
        act.gsd, act.smoothness, act.kinks(), act.df(0.0)  # noqa: B018


def make_chain(
    noise: str = "gaussian",
    leakage: float = 0.5,
    scale: float | None = None,
    precision: float = 256,
    rounding: str = "half_toward_zero",
    clamp: bool = True,
) -> gl.Chain:
    """noise -> Clamp(-1, 1) -> Quantize(precision, rounding): the paper's analog chain, every part a control.

    The noise is set by ``scale`` (sigma, uniform width or Laplace b, input units) when given,
    else by ``leakage`` at this precision; ``noise='none'`` drops it (:func:`gradlab.analog`).
    """
    return gl.analog(leakage, precision, noise=noise, scale=scale, clamp=clamp, rounding=rounding)


def _grid(window: float, points: int) -> np.ndarray:
    return np.linspace(-window, window, points)


def curves(settings: Settings, points: int = 801) -> pd.DataFrame:
    """f and f' on [-window, window]: clean, quantized, and noisy then quantized (one draw per x, seed 0).

    :func:`gradlab.activation_curves` output with a ``panel`` column, as
    :func:`gradlab.plots.plot_quantized_family` draws it.
    """
    act, ch = settings.activation, settings.chain
    xs = _grid(settings.window, points)
    quantizer = gl.chain(*[s for s in ch.stages if not isinstance(s, gl.AdditiveNoise)])
    parts = [gl.activation_curves(act, xs).assign(panel="clean"),
             gl.activation_curves(act, xs, chain=quantizer).assign(panel="quantized")]
    if len(quantizer) < len(ch):
        parts.append(gl.activation_curves(act, xs, chain=ch, seed=0).assign(panel="noisy + quantized"))
    return pd.concat(parts, ignore_index=True)


def level_view(settings: Settings) -> tuple[pd.DataFrame, float]:
    """The law of x~ at the clean input ``x0``, from the exact engine, and e(x0) from it.

    Returns (levels, e): one row per level with its probability, f'(level), f'(x0) (df_x) and
    |f'(level) - f'(x0)|; e = sum of probability * |f'(level) - f'(x0)|.  Raises
    :class:`gradlab.ExactUnsupported` when x~ has no finite set of levels known exactly
    (stochastic rounding after noise).
    """
    act = settings.activation
    levels, p = level_distribution(settings.chain, settings.x0)
    dfl = act.df(levels)
    dfx = float(act.df(settings.x0))
    gap = np.abs(dfl - dfx)
    frame = pd.DataFrame({"level": levels, "probability": p, "df": dfl, "df_x": dfx, "abs_diff": gap})
    return frame, float((p * gap).sum())


def error_curve(settings: Settings, points: int = 201) -> pd.DataFrame:
    """Exact e(x) on [-window, window] for the activation and the reference (:func:`gradlab.gradient_error`).

    Raises :class:`gradlab.ExactUnsupported` when the chain is out of the exact engine's reach.
    """
    acts = _with_reference(settings)
    return gl.gradient_error(acts, settings.chain, _grid(settings.window, points), method="exact")


def empty_errors() -> pd.DataFrame:
    """A gradient-error frame with no rows: what a view draws before Monte Carlo runs."""
    return pd.DataFrame(columns=["activation", "x", "mean_abs_error", "stderr", "samples"])


def _with_reference(settings: Settings) -> list[Activation]:
    act, ref = settings.activation, settings.reference
    return [act] if act == ref else [act, ref]


def mc_points(
    settings: Settings,
    points: int = 21,
    samples: int = 20_000,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Monte Carlo e(x) at ``points`` inputs on [-window, window], one input at a time so ``progress(done, total)``
    can report; seeded, so the same settings give the same points (:func:`gradlab.gradient_error`)."""
    acts = _with_reference(settings)
    xs = _grid(settings.window, points)
    parts = []
    for j, xj in enumerate(xs):
        parts.append(gl.gradient_error(acts, settings.chain, [xj], method="mc", samples=samples, seed=(seed, j)))
        if progress is not None:
            progress(j + 1, xs.size)
    return pd.concat(parts, ignore_index=True)


def effective_precision_bits(act: Activation, precision: float) -> float:
    """log2(1 / |f'(1/P) - f'(0)|), bits: how finely the first quantization step resolves f' near 0.

    The paper's effective precision for scaled GELU (:func:`gradlab.effective_precision`), read for
    any activation; f'(0) follows the activation's kink convention; inf when f' does not change.
    """
    d = act.df_exact([1.0 / precision, 0.0])
    step = abs(float(d[0] - d[1]))
    return math.inf if step == 0 else math.log2(1.0 / step)


def live_numbers(settings: Settings) -> dict[str, float | str]:
    """The numbers beside the plots: GSD, smoothness, effective precision, error near zero and its ratio.

    Keys: gsd, smoothness, effective_precision (bits), error_near_zero (e averaged over
    |x| <= window), reference_error (GELU's), ratio (their quotient; NaN, with ``exact_note``
    saying why, when the exact engine cannot reach the chain).
    """
    act = settings.activation
    out: dict[str, float | str] = {
        "gsd": act.gsd,
        "smoothness": act.smoothness,
        "effective_precision": effective_precision_bits(act, settings.precision),
        "error_near_zero": math.nan,
        "reference_error": math.nan,
        "ratio": math.nan,
        "exact_note": "",
    }
    try:
        near = gl.error_near_zero(act, settings.chain, width=settings.window, reference=settings.reference,
                                  method="exact")
    except ExactUnsupported as exc:
        out["exact_note"] = str(exc)
        return out
    row = near.iloc[0]
    out.update(error_near_zero=float(row["error"]), reference_error=float(row["error"] / row["ratio"])
               if row["ratio"] > 0 else 0.0, ratio=float(row["ratio"]))
    return out


def depth_view(
    settings: Settings,
    depths: Sequence[int] = (1, 2, 4, 8),
    width: int = 16,
    samples: int = 32,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Gradient error against depth in random MLPs under the chain, with GELU (:func:`gradlab.depth_error`).

    One depth at a time, so ``progress(done, total)`` can report (the query seeds each depth's
    networks by (seed, depth): the numbers are those of one call with every depth).  Adds the
    95% half-widths ``input_rel_error_ci95`` and ``input_cosine_ci95`` (Student's t with samples - 1
    degrees of freedom) that :func:`gradlab.plots.plot_depth_error` draws.
    """
    parts = []
    for j, depth in enumerate(depths):
        parts.append(gl.depth_error(_with_reference(settings), settings.chain, depth=[depth], width=width,
                                    samples=samples, seed=seed))
        if progress is not None:
            progress(j + 1, len(depths))
    df = pd.concat(parts, ignore_index=True)
    df["input_rel_error_ci95"] = gl.t_halfwidth(df["input_rel_error_stderr"], df["samples"])
    df["input_cosine_ci95"] = gl.t_halfwidth(df["input_cosine_stderr"], df["samples"])
    return df
