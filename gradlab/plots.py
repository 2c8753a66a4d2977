"""One plotting function per figure: each takes the DataFrame a query returned and returns a Figure.

Plots draw; they compute nothing but layout (no statistics here).  The style is shared: the
Okabe-Ito colour-blind-safe palette, labelled axes with units, sizes readable at column width.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")  # figures are written to files; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = [
    "ACTIVATION_STYLES",
    "INTERPOLANTS",
    "LINESTYLES",
    "MARKERS",
    "PALETTE",
    "SERIES_STYLES",
    "UNKNOWN_STYLES",
    "ZERO_COLOR",
    "activation_style",
    "plot_activations",
    "plot_analog_training",
    "plot_analog_training_full",
    "plot_bitflip",
    "plot_depth_error",
    "plot_effective_precision",
    "plot_error_ratio",
    "plot_gradient_error",
    "plot_layer_diagnostics",
    "plot_noise_tolerance",
    "plot_product_maps",
    "plot_product_maps_paper",
    "plot_quantized_family",
    "plot_step_discontinuity",
    "plot_training",
    "style",
]

#: Okabe & Ito (2008) colour-blind-safe palette, ordered so that the first five are far apart
#: (blue, vermillion, bluish green, reddish purple, black); orange and sky blue, near vermillion
#: and blue, come only after them, and yellow, faint on white, last.  Series that are not
#: activations use it in this order; activations have their own keyed styles (:func:`activation_style`).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9", "#F0E442"]
#: Line styles and markers that go with the colours, so that series stay apart in grey print too.
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1.5, 1, 1.5, 1, 1.5))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
#: Colour of cells whose error is exactly 0 on logarithmic maps (below the colour bar's end).
ZERO_COLOR = "#d4d4d4"

_DASHDOTDOT = (0, (5, 1.5, 1, 1.5, 1, 1.5))

#: One colour, line style and marker per activation, the same in every figure.  The figure set's
#: five (relu, gelu, silu and the two interpolation families) take Okabe & Ito's five most distinct
#: colours; the other built-ins Okabe & Ito's remaining ones, then Tol's "muted" set (colour-blind safe).
ACTIVATION_STYLES: dict[str, dict] = {
    "relu": {"color": "#0072B2", "ls": "-", "marker": "o"},
    "gelu": {"color": "#D55E00", "ls": "--", "marker": "s"},
    "silu": {"color": "#009E73", "ls": "-.", "marker": "^"},
    "relu_gelu": {"color": "#CC79A7", "ls": ":", "marker": "D"},
    "relu_silu": {"color": "#000000", "ls": _DASHDOTDOT, "marker": "v"},
    "gelu_tanh": {"color": "#E69F00", "ls": (0, (3, 1)), "marker": "P"},
    "leaky_relu": {"color": "#56B4E9", "ls": "-", "marker": "X"},
    "relu6": {"color": "#882255", "ls": "-", "marker": "h"},
    "clipped_relu": {"color": "#AA4499", "ls": "--", "marker": "p"},
    "bounded_relu": {"color": "#332288", "ls": "-.", "marker": "<"},
    "smooth_bounded_relu": {"color": "#44AA99", "ls": ":", "marker": ">"},
    "elu": {"color": "#999933", "ls": "--", "marker": "d"},
    "softplus": {"color": "#117733", "ls": "-", "marker": "8"},
    "mish": {"color": "#CC6677", "ls": "-.", "marker": "H"},
    "tanh": {"color": "#88CCEE", "ls": "--", "marker": "*"},
    "sigmoid": {"color": "#DDCC77", "ls": "-", "marker": "x"},
    "hardswish": {"color": "#777777", "ls": ":", "marker": "+"},
}
#: The smooth end of each interpolation family: relu_gelu(i) runs from relu's colour (i = 0)
#: through the family's own (i = 0.5) to gelu's (i = 1).
INTERPOLANTS = {"relu_gelu": "gelu", "relu_silu": "silu"}
#: Colours for activations the table does not know (expressions, callables), chosen by their
#: label's checksum so that one of them keeps its colour from figure to figure.
UNKNOWN_STYLES = [
    {"color": "#8C510A", "ls": "-", "marker": "o"},
    {"color": "#01665E", "ls": "--", "marker": "s"},
    {"color": "#762A83", "ls": "-.", "marker": "^"},
    {"color": "#B35806", "ls": ":", "marker": "D"},
    {"color": "#555555", "ls": _DASHDOTDOT, "marker": "v"},
    {"color": "#1B7837", "ls": (0, (3, 1)), "marker": "P"},
]
#: Series that are not activations, keyed too: training modes and ProAct's clipping rules
#: (clipping "none" is the plain ReLU network, "relu6" ReLU6: they take those activations' styles).
SERIES_STYLES: dict[str, dict] = {
    "clean": {"color": "#332288", "ls": "-", "marker": "o"},
    "qat": {"color": "#999933", "ls": "--", "marker": "s"},
    "noisy": {"color": "#CC6677", "ls": "-.", "marker": "^"},
    "none": ACTIVATION_STYLES["relu"],
    "relu6": ACTIVATION_STYLES["relu6"],
    "layer": {"color": "#44AA99", "ls": "--", "marker": "s"},
    "neuron": {"color": "#AA4499", "ls": "-.", "marker": "^"},
    "hybrid": {"color": "#E69F00", "ls": ":", "marker": "D"},
    "proact": {"color": "#117733", "ls": "-", "marker": "v"},
}


_RC = {
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "lines.linewidth": 1.4,
}


@contextmanager
def style():
    """The gradlab figure style, as a context."""
    with plt.rc_context(_RC):
        yield


def _mix(a: str, b: str, t: float) -> str:
    """The colour a fraction t of the way from a to b (linear in sRGB components)."""
    ca, cb = np.array(matplotlib.colors.to_rgb(a)), np.array(matplotlib.colors.to_rgb(b))
    return matplotlib.colors.to_hex(np.clip((1 - t) * ca + t * cb, 0, 1))


@functools.lru_cache(maxsize=256)
def _parsed(label: str):
    from gradlab.activations import activation

    try:
        return activation(label)
    except (ValueError, TypeError):  # a callable's label (torch 'mish'), not a spelling
        return None


def activation_style(label: str) -> dict:
    """Colour, line style and marker of the activation spelled ``label``, the same in every figure.

    Rules, in order:

    - a built-in at its defaults: its entry of :data:`ACTIVATION_STYLES` (relu blue, gelu vermillion, ...);
    - an interpolant ``relu_gelu(i=...)`` / ``relu_silu(i=...)`` (other parameters at their defaults):
      the family's line style and marker, and a colour on the path from relu's (i = 0) through the
      family's own (i = 0.5) to gelu's or silu's (i = 1); the bare family name is i = 0.5;
    - a built-in with other parameters (``gelu(s=2)``): its colour's hue, lighter the larger a
      parameter is than its default and darker the smaller, by d = |v - v0| / (|v| + |v0|) summed
      over the parameters (d = 0.5, s = 3 against s = 1, goes to lightness 0.85; see :func:`_shade`);
    - another kink convention (``relu(kink=midpoint)``): the base style, dotted;
    - anything else (an expression, a callable): one of :data:`UNKNOWN_STYLES`, by the label's CRC-32.
    """
    act = _parsed(label)
    family = getattr(act, "family", None) if act is not None else None
    if family not in ACTIVATION_STYLES:
        import zlib

        return dict(UNKNOWN_STYLES[zlib.crc32(label.encode()) % len(UNKNOWN_STYLES)])
    style_ = dict(ACTIVATION_STYLES[family])
    params = dict(act.params)
    defaults = {p.name: p.default for p in _builtin(family).params}
    if family in INTERPOLANTS:
        i = float(params.pop("i", 0.5))
        defaults.pop("i", None)
        own, start, end = style_["color"], ACTIVATION_STYLES["relu"]["color"], ACTIVATION_STYLES[INTERPOLANTS[family]]
        style_["color"] = _mix(start, own, 2 * i) if i <= 0.5 else _mix(own, end["color"], 2 * i - 1)
    shift = 0.0
    for name, value in params.items():
        v0 = defaults.get(name, value)
        if value != v0:
            d = abs(value - v0) / (abs(value) + abs(v0))
            shift += d if value > v0 else -d
    if shift:
        style_["color"] = _shade(style_["color"], shift)
    if act.kink != "autograd":
        style_["ls"] = ":" if style_["ls"] != ":" else "-"
    return style_


def _shade(color: str, shift: float) -> str:
    """``color`` lighter (shift > 0) or darker (shift < 0), hue and saturation kept: |shift| = 0.5 goes
    the whole way to lightness 0.85 or 0.15."""
    import colorsys

    h, light, sat = colorsys.rgb_to_hls(*matplotlib.colors.to_rgb(color))
    t = min(1.0, 2 * abs(shift))
    light = light + (0.85 - light) * t if shift > 0 else light - (light - 0.15) * t
    return matplotlib.colors.to_hex(colorsys.hls_to_rgb(h, light, sat))


def _builtin(name: str):
    from gradlab.activations.builtins import BUILTINS

    return BUILTINS[name]


def _apart(styles: dict[str, dict]) -> dict[str, dict]:
    """Give a label whose style repeats an earlier one's in the same figure the next unused style."""
    seen: set = set()
    spare = iter(UNKNOWN_STYLES + [{"color": c, "ls": "-", "marker": m} for c, m in zip(PALETTE, MARKERS)])
    for label, st in styles.items():
        while (st["color"], str(st["ls"])) in seen:
            st = dict(next(spare))
        styles[label] = st
        seen.add((st["color"], str(st["ls"])))
    return styles


def _styles(labels: Sequence[str]) -> dict[str, dict]:
    """Colour, line style and marker per activation label (:func:`activation_style`), apart within a figure."""
    return _apart({label: activation_style(label) for label in dict.fromkeys(labels)})


def _colors(labels: Sequence[str]) -> dict[str, str]:
    return {label: st["color"] for label, st in _styles(labels).items()}


def _series_styles(names: Sequence[str]) -> dict[str, dict]:
    """Styles of series that are not activations (training modes, clipping rules): :data:`SERIES_STYLES`."""
    fallback = iter([{"color": c, "ls": ls, "marker": m} for c, ls, m in zip(PALETTE, LINESTYLES * 2, MARKERS)])
    return _apart({name: dict(SERIES_STYLES.get(name) or next(fallback)) for name in dict.fromkeys(names)})


def _fraction(value: float) -> str:
    """1/64 for 0.015625: window widths are powers of two, and read best as fractions."""
    if value > 0 and value < 1:
        inverse = 1 / value
        if abs(inverse - round(inverse)) < 1e-9 * inverse:
            return f"1/{round(inverse)}"
    return f"{value:g}"


def plot_activations(curves: pd.DataFrame, title: str = "Activations and their derivatives") -> Figure:
    """f and f' against x, one line per activation (from :func:`gradlab.activation_curves`)."""
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.8), constrained_layout=True)
        colors = _colors(curves["activation"])
        for label, part in curves.groupby("activation", sort=False):
            axes[0].plot(part["x"], part["f"], color=colors[label], label=label)
            axes[1].plot(part["x"], part["df"], color=colors[label], label=label)
        axes[0].set(xlabel="input x", ylabel="f(x)", title="activation")
        axes[1].set(xlabel="input x", ylabel="f'(x)", title="derivative")
        axes[0].legend(frameon=False)
        fig.suptitle(title)
        return fig


def plot_quantized_family(panels: pd.DataFrame, title: str, points: Sequence[str] = ()) -> Figure:
    """Rows f and f', one column per ``panel`` value (e.g. clean / quantized / noisy+quantized).

    ``panels`` is :func:`gradlab.activation_curves` output with a ``panel`` column added.  Panels
    named in ``points`` hold random draws (one per x): they are drawn as points, not joined by
    lines.  The clean panel (``x_input`` equal to ``x``) is labelled f(x), the others f(x~).
    """
    names = list(dict.fromkeys(panels["panel"]))
    with style():
        fig, axes = plt.subplots(2, len(names), figsize=(2.6 * len(names) + 0.6, 4.6),
                                 constrained_layout=True, sharex=True, sharey="row", squeeze=False)
        colors = _colors(panels["activation"])
        for col, name in enumerate(names):
            sub = panels[panels["panel"] == name]
            for label, part in sub.groupby("activation", sort=False):
                for row, col_name in ((0, "f"), (1, "df")):
                    if name in points:
                        axes[row, col].plot(part["x"], part[col_name], "o", ms=2.0, mew=0, alpha=0.85,
                                            color=colors[label], label=label)
                    else:
                        axes[row, col].plot(part["x"], part[col_name], color=colors[label], label=label,
                                            drawstyle="steps-mid", lw=1.0)
            clean = bool(np.array_equal(sub["x_input"].to_numpy(), sub["x"].to_numpy()))
            arg = "x" if clean else "x~"
            axes[0, col].set_title(name + ("\n(one noise draw per x)" if name in points else ""))
            axes[0, col].set_ylabel(f"f({arg})")
            axes[1, col].set_ylabel(f"f'({arg})")
            axes[0, col].yaxis.label.set_visible(True)  # shared rows still name x or x~ per panel
            axes[1, col].yaxis.label.set_visible(True)
            axes[1, col].set_xlabel("clean input x")
        axes[0, 0].legend(frameon=False)
        fig.suptitle(title)
        return fig


def plot_effective_precision(ep: pd.DataFrame) -> Figure:
    """EP(s) in bits against the GELU scale s (from :func:`gradlab.effective_precision`)."""
    with style():
        fig, ax = plt.subplots(figsize=(3.4, 2.6), constrained_layout=True)
        ax.plot(ep["s"], ep["bits"], color=ACTIVATION_STYLES["gelu"]["color"])
        P = ep["precision"].iloc[0]
        ax.set(xlabel="GELU scale s", ylabel="effective precision near 0 (bits)",
               title=f"log2(1 / (f'(1/P) - f'(0))), P = {P:g}")
        return fig


def plot_step_discontinuity(gsd: pd.DataFrame) -> Figure:
    """GSD against i per family: exact line and the paper's numeric form as markers.

    The families' lines can coincide (both are 1 - i): each family has its own dash and marker,
    and the legend says when all of them lie on one line.
    """
    families = list(dict.fromkeys(gsd["family"]))
    styles = _styles(families)
    values = [part["gsd"].to_numpy() for _, part in gsd.groupby("family", sort=False)]
    coincide = len(values) > 1 and all(v.shape == values[0].shape and np.allclose(v, values[0], rtol=0, atol=1e-12)
                                       for v in values[1:])
    with style():
        fig, ax = plt.subplots(figsize=(3.6, 2.8), constrained_layout=True)
        for k, (fam, part) in enumerate(gsd.groupby("family", sort=False)):
            st = styles[fam]
            ax.plot(part["i"], part["gsd"], color=st["color"], ls=st["ls"], lw=1.6 if k == 0 else 1.2,
                    zorder=2 + k, label=f"{fam}: |f'(0+) - f'(0-)|")
            h = part["h"].iloc[0]
            ax.plot(part["i"], part["numeric"], ls="none", marker=st["marker"], ms=4 if k == 0 else 2.5,
                    mfc="none" if k == 0 else st["color"], mew=0.9, color=st["color"], zorder=3 + k,
                    label=f"{fam}: f'({h:g}) - f'(0)")
        ax.set(xlabel="interpolation weight i (0: ReLU)", ylabel="gradient step at 0",
               title="Gradient step discontinuity")
        ax.legend(frameon=False, title="the families coincide" if coincide else None,
                  title_fontsize=7.5)
        return fig


def plot_product_maps(
    maps: pd.DataFrame, title: str, zoom: float | None = None, columns: int | None = None, floor: float = 1e-5
) -> Figure:
    """Heat maps of |f'(noisy a w) - f'(a w)| over (input, weight), one per activation, log colour.

    ``zoom`` restricts both axes to [-zoom, zoom] (the drawn data are the map's own cells); with
    ``columns`` only zoomed views are drawn, ``columns`` to a row.  Errors below ``floor`` share
    its colour; exact zeros, which a logarithmic scale cannot place, get :data:`ZERO_COLOR` (the
    colour bar's "under" end, named in its label).
    """
    labels = list(dict.fromkeys(maps["activation"]))
    if zoom and columns is not None:
        views = [(label, zoom) for label in labels]
    else:
        views = [(label, None) for label in labels] + ([(label, zoom) for label in labels] if zoom else [])
    ncol = min(columns or len(labels), len(views))
    nrow = int(np.ceil(len(views) / ncol))
    # A shared logarithmic scale: ReLU's and GELU's errors differ by orders of magnitude.
    norm = matplotlib.colors.LogNorm(vmin=floor, vmax=max(float(maps["error"].max()), 10 * floor))
    cmap = matplotlib.colormaps["viridis"].with_extremes(under=ZERO_COLOR)
    every_view_zoomed = all(z for _, z in views)
    with style():
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.0 * ncol + 1.1, 3.0 * nrow + 0.5),
                                 constrained_layout=True, squeeze=False)
        image = None
        for ax, (label, z) in zip(axes.flat, views):
            part = maps[maps["activation"] == label]
            a = np.unique(part["input"])
            w = np.unique(part["weight"])
            grid = part["error"].to_numpy().reshape(a.size, w.size)
            # Zeros go below the scale (the "under" colour); other small errors up to its floor.
            shown = np.where(grid > 0, np.maximum(grid, floor), 0.5 * floor)
            image = ax.pcolormesh(w, a, shown, shading="nearest", cmap=cmap, norm=norm, rasterized=True)
            if z:
                ax.set_xlim(-z, z)
                ax.set_ylim(-z, z)
            ax.set(xlabel="weight w", ylabel="input a",
                   title=label + (f" (zoom ±{z:g})" if z and not every_view_zoomed else ""))
            ax.set_aspect("equal")
            ax.grid(False)
            for spine in ("top", "right"):
                ax.spines[spine].set_visible(True)
        for ax in list(axes.flat)[len(views):]:
            ax.set_visible(False)
        bar = fig.colorbar(image, ax=axes, shrink=0.85 if nrow > 1 else 1.0, extend="min", extendfrac=0.06)
        floor_text = f"1e{np.log10(floor):.0f}" if float(np.log10(floor)).is_integer() else f"{floor:g}"
        bar.set_label(f"mean |f'(noisy a·w) - f'(a·w)|\n(grey: exactly 0; below {floor_text}: lowest colour)")
        fig.suptitle(title)
        return fig


def plot_product_maps_paper(maps: pd.DataFrame, title: str, limits: dict[str, float], zoom: float) -> Figure:
    """The paper's rendering of product error maps: one realization, a linear colour scale per activation.

    ``limits`` maps each activation label to its colour limit (the paper: 1 for ReLU, 0.01 for
    GELU; larger errors share the top colour).  Top row whole, bottom row zoomed to [-zoom, zoom].
    """
    labels = list(dict.fromkeys(maps["activation"]))
    with style():
        fig, axes = plt.subplots(2, len(labels), figsize=(3.0 * len(labels) + 0.6, 5.4),
                                 constrained_layout=True, squeeze=False)
        for col, label in enumerate(labels):
            part = maps[maps["activation"] == label]
            a = np.unique(part["input"])
            w = np.unique(part["weight"])
            grid = part["error"].to_numpy().reshape(a.size, w.size)
            for row, z in enumerate((None, zoom)):
                ax = axes[row, col]
                image = ax.pcolormesh(w, a, grid, shading="nearest", cmap="viridis", vmin=0, vmax=limits[label],
                                      rasterized=True)
                if z:
                    ax.set_xlim(-z, z)
                    ax.set_ylim(-z, z)
                ax.set(xlabel="weight w", ylabel="input a", title=label + (f" (zoom ±{z:g})" if z else ""))
                ax.set_aspect("equal")
                ax.grid(False)
                for spine in ("top", "right"):
                    ax.spines[spine].set_visible(True)
                bar = fig.colorbar(image, ax=ax, shrink=0.85, extend="max")
                bar.set_label(f"|f'(noisy a·w) - f'(a·w)|, limit {limits[label]:g}")
        fig.suptitle(title)
        return fig


def plot_gradient_error(exact: pd.DataFrame, mc: pd.DataFrame, title: str, floor: float = 1e-6) -> Figure:
    """Exact e(x) curves (lines, no markers), Monte Carlo points (markers, 95% bars), log scale from ``floor``.

    Each activation has its keyed colour, dash and marker (:func:`activation_style`); markers mark
    Monte Carlo estimates only, drawn filled over the lines with their 95% bars (±1.96 standard
    errors), and later activations are drawn on top (an interpolant's curve can lie on a base
    activation's).  Two legends beside the axes: the activations (line and marker), and the engines
    (exact: a line; Monte Carlo: a marker with its bar).  Bars are clipped to ``floor``; a Monte
    Carlo mean of exactly 0 (no sample moved f') has no point on the log axis and is not drawn.
    """
    from matplotlib.lines import Line2D

    styles = _styles(list(exact["activation"]) + list(mc["activation"]))
    with style():
        fig, ax = plt.subplots(figsize=(7.0, 3.4), constrained_layout=True)
        for k, (label, part) in enumerate(exact.groupby("activation", sort=False)):
            st = styles[label]
            ax.plot(part["x"], part["mean_abs_error"], color=st["color"], ls=st["ls"], lw=1.1, marker="None",
                    zorder=2 + k, label=f"{label} (exact)")
        samples = None
        for k, (label, part) in enumerate(mc.groupby("activation", sort=False)):
            st = styles[label]
            mean = part["mean_abs_error"].to_numpy()
            half = 1.96 * part["stderr"].to_numpy()
            shown = mean > 0
            lo = np.maximum(mean - half, floor)
            hi = np.maximum(mean + half, floor)
            ax.errorbar(part["x"].to_numpy()[shown], mean[shown], yerr=[(mean - lo)[shown], (hi - mean)[shown]],
                        ls="none", marker=st["marker"], ms=4, mew=0.6, mec="white", mfc=st["color"],
                        ecolor=st["color"], elinewidth=0.8, capsize=0, zorder=20 + k, label=f"{label} (Monte Carlo)")
            samples = int(part["samples"].iloc[0])
        ax.set_yscale("log")
        # Far from 0 the exact error underflows towards 1e-300; the interesting range is above.
        ax.set_ylim(floor, 2.0)
        ax.set(xlabel="clean input x", ylabel="gradient error E|f'(x~) - f'(x)|", title=title)
        handles = [Line2D([], [], color=st["color"], ls=st["ls"], marker=st["marker"], ms=4, mec="white",
                          mfc=st["color"], label=label) for label, st in styles.items()]
        fig.legend(handles=handles, loc="outside right upper", frameon=False, title="activation",
                   title_fontsize=7.5)
        engines = [Line2D([], [], color="0.3", label="exact: lines,\nno markers")]
        if samples is not None:
            engines.append(Line2D([], [], color="0.3", ls="none", marker="o", ms=5, mec="white", mfc="0.3",
                                  label=f"Monte Carlo: markers\nand 95% bars\n({samples:,} samples)"))
        fig.legend(handles=engines, loc="outside right lower", frameon=False, title="engine", title_fontsize=7.5)
        return fig


def plot_error_ratio(by_width: pd.DataFrame, by_noise: pd.DataFrame, title: str, chain_label: str = "") -> Figure:
    """Error-near-zero ratio to the reference, against window width and against noise sigma.

    Window widths are written as fractions (1/64).  Error bars (95%, ±1.96 standard errors) are
    drawn when the ratios carry sampling error; exact ratios are drawn as plain lines and the
    legend says "exact".
    """
    exact = not (by_width["ratio_stderr"].fillna(0).any() or by_noise["ratio_stderr"].fillna(0).any())
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.9), constrained_layout=True, sharey=True)
        ref = by_width["reference"].iloc[0]
        styles = _styles(list(by_width["activation"]) + list(by_noise["activation"]))
        for ax, frame, column in ((axes[0], by_width, "width"), (axes[1], by_noise, "sigma")):
            for label, part in frame.groupby("activation", sort=False):
                st = styles[label]
                kw = dict(color=st["color"], ls=st["ls"], marker=st["marker"], ms=3, mfc="white", mew=0.8,
                          label=label)
                if exact:
                    ax.plot(part[column], part["ratio"], **kw)
                else:
                    ax.errorbar(part[column], part["ratio"], yerr=1.96 * part["ratio_stderr"], capsize=1.5, **kw)
        w_fixed = by_noise["width"].iloc[0]
        axes[0].set_xscale("log", base=2)
        widths = by_width["width"].to_numpy()
        # Powers of two, every other one when crowded, keeping the fixed window of the right panel.
        anchor = int(round(np.log2(w_fixed)))
        powers = [k for k in range(-30, 1) if widths.min() * (1 - 1e-9) <= 2.0 ** k <= widths.max() * (1 + 1e-9)]
        if len(powers) > 6:
            powers = [k for k in powers if (k - anchor) % 2 == 0]
        ticks = [2.0 ** k for k in powers]
        axes[0].set_xticks(ticks, [_fraction(t) for t in ticks])
        axes[0].xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        axes[0].set(yscale="log", xlabel="window half-width w (|x| ≤ w)", ylabel=f"error near 0 / {ref}'s",
                    title=chain_label)
        axes[1].set(xscale="log", xlabel="Gaussian noise sigma", title=f"window w = {_fraction(w_fixed)}")
        for ax in axes:
            ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        axes[0].axvline(w_fixed, color="grey", lw=0.8, ls=":")
        axes[0].legend(frameon=False, title="exact (no sampling error)" if exact else "bars: 95% confidence",
                       title_fontsize=7.5)
        fig.suptitle(title)
        return fig


def plot_depth_error(depth: pd.DataFrame, title: str) -> Figure:
    """Relative error and cosine similarity of the input gradient against depth (from depth_error).

    Error bars are the columns ``input_rel_error_ci95`` and ``input_cosine_ci95`` (half-widths of
    95% intervals, computed by the caller); the title names the width and the number of networks.
    """
    styles = _styles(depth["activation"])
    width, samples = int(depth["width"].iloc[0]), int(depth["samples"].iloc[0])
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(6.8, 3.0), constrained_layout=True)
        for label, part in depth.groupby("activation", sort=False):
            st = styles[label]
            kw = dict(color=st["color"], ls=st["ls"], marker=st["marker"], ms=3, mfc="white", mew=0.8,
                      capsize=1.5, label=label)
            axes[0].errorbar(part["depth"], part["input_rel_error"], yerr=part["input_rel_error_ci95"], **kw)
            axes[1].errorbar(part["depth"], part["input_cosine"], yerr=part["input_cosine_ci95"], **kw)
        axes[0].set(xscale="log", yscale="log", xlabel="depth (layers)",
                    ylabel="relative error of input gradient", title="||g~ - g|| / ||g||")
        axes[1].set(xscale="log", xlabel="depth (layers)", ylabel="cosine(g~, g)", title="direction kept")
        for ax in axes:
            ax.set_xticks(sorted(depth["depth"].unique()))
            ax.set_xticklabels([str(d) for d in sorted(depth["depth"].unique())])
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        axes[0].legend(frameon=False)
        fig.suptitle(f"{title}\nwidth {width} units per layer, {samples:,} random networks per depth; "
                     "bars: 95% confidence (Student's t)")
        return fig


def _interval_note(summary: pd.DataFrame) -> str:
    seeds = int(summary["seeds"].min())
    dof = f"{seeds - 1} degree{'s' if seeds != 2 else ''} of freedom"
    return (f"mean over {seeds} seeds; bars: 95% interval, Student's t with {dof} on the logit of the accuracy, "
            "so within [0, 1]")


def _accuracy_limits(axes, summary: pd.DataFrame) -> None:
    """One y range for every panel, inside [0, 1]: accuracies are proportions."""
    lo = float(np.nanmin(np.r_[summary["ci_low"], summary["mean"]]))
    hi = float(np.nanmax(np.r_[summary["ci_high"], summary["mean"]]))
    pad = 0.04 * max(hi - lo, 0.05)
    for ax in axes.flat:
        ax.set_ylim(max(0.0, lo - pad), min(1.0, hi + pad))


def _bars(summary: pd.DataFrame) -> list:
    """errorbar's (below, above) lengths. A logit-t interval is centred on the mean logit, not on the mean: where
    the seeds agree (or nearly) it can sit a rounding error to one side of the plotted mean, hence the floor."""
    return [np.maximum(summary["mean"] - summary["ci_low"], 0.0), np.maximum(summary["ci_high"] - summary["mean"], 0.0)]


def plot_training(summary: pd.DataFrame, title: str) -> Figure:
    """Final test accuracy against interpolation weight i, one panel per (noise, depth).

    ``summary`` is :func:`gradlab.t_summary` (with ``bounds=(0, 1)``) by noise, depth, family and
    i: columns mean, ci_low, ci_high and seeds, one row per point.  Each family has its keyed
    style (:func:`activation_style`).  All panels share their y-axis, inside [0, 1], so that noise
    levels and depths compare at a glance.
    """
    noises = list(dict.fromkeys(summary["noise"]))
    depths = sorted(summary["depth"].unique())
    with style():
        fig, axes = plt.subplots(len(noises), len(depths), figsize=(3.0 * len(depths) + 0.5, 2.4 * len(noises) + 0.5),
                                 constrained_layout=True, sharex=True, sharey=True, squeeze=False)
        styles = _styles(summary["family"])
        for r, noise in enumerate(noises):
            for c, d in enumerate(depths):
                ax = axes[r, c]
                sub = summary[(summary["noise"] == noise) & (summary["depth"] == d)]
                for k, (fam, part) in enumerate(sub.groupby("family", sort=False)):
                    st = styles[fam]
                    # Side by side: the two families' bars would otherwise hide each other.
                    offset = (k - 0.5) * 0.012
                    ax.errorbar(part["i"] + offset, part["mean"], yerr=_bars(part), color=st["color"],
                                ls=st["ls"], marker=st["marker"], ms=3, mfc="white", mew=0.8, capsize=1.5,
                                label=fam)
                ax.set_title(f"{noise}, depth {d}")
                if c == 0:
                    ax.set_ylabel("test accuracy")
                if r == len(noises) - 1:
                    ax.set_xlabel("interpolation weight i (0: ReLU)")
        _accuracy_limits(axes, summary)
        axes[0, 0].legend(frameon=False)
        fig.suptitle(f"{title}\n({_interval_note(summary)})")
        return fig


def _zero_position(levels: Sequence[float]) -> float:
    """Where a level 0 sits on a log axis of the positive ``levels``: set apart, 1.5 of their mean steps below."""
    positive = np.sort(np.asarray([v for v in levels if v > 0], dtype=float))
    step = np.exp(np.mean(np.diff(np.log(positive)))) if positive.size > 1 else 10.0
    return float(positive[0] / max(step, np.sqrt(10.0)) ** 1.5)


def _level_axis(ax, levels: Sequence[float], name: str) -> None:
    """A log axis of the positive levels with 0 set apart on its left, beyond a break mark."""
    positive = [v for v in levels if v > 0]
    ax.set_xscale("log")
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ticks, texts = list(positive), [f"{v:g}" for v in positive]
    if len(positive) < len(levels):
        zero = _zero_position(levels)
        ticks, texts = [zero, *ticks], ["0", *texts]
        gap = float(np.sqrt(zero * positive[0]))
        ax.axvline(gap, color="0.75", lw=0.8, zorder=0)
        ax.annotate("//", (gap, 0), xycoords=("data", "axes fraction"), ha="center", va="center",
                    fontsize=8, color="0.35", annotation_clip=False,
                    bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none"))
    ax.set_xticks(ticks, texts)
    ax.set_xlabel(name)


def _accuracy_grid(summary: pd.DataFrame, *, panel: str, line: str, level: str, level_name: str,
                   panel_title, legend: str, title: str, size: tuple[float, float], row: str = "depth") -> Figure:
    """Test accuracy (mean and interval) against ``level``, a line per ``line``, a panel per (``row``, ``panel``).

    ``level`` is drawn on a log axis with its 0 set apart on the left (:func:`_level_axis`); the
    lines join the positive levels only, the point at 0 stands alone. A (row, panel) pair without
    data is left out (its axes hidden).
    """
    panels = list(dict.fromkeys(summary[panel]))
    rows = list(dict.fromkeys(summary[row]))
    levels = sorted(summary[level].unique())
    lines = list(dict.fromkeys(summary[line]))
    zero = _zero_position(levels) if 0 in levels and len(levels) > 1 else None
    with style():
        fig, axes = plt.subplots(len(rows), len(panels),
                                 figsize=(size[0] * len(panels) + 0.5, size[1] * len(rows) + 0.7),
                                 constrained_layout=True, sharex=True, sharey=True, squeeze=False)
        styles = _series_styles(lines)
        for r, d in enumerate(rows):
            for c, key in enumerate(panels):
                ax = axes[r, c]
                sub = summary[(summary[row] == d) & (summary[panel] == key)]
                if sub.empty:
                    ax.set_visible(False)
                    continue
                for k, (name, part) in enumerate(sub.groupby(line, sort=False)):
                    st = styles[name]
                    # Side by side (a factor on the log axis), so that the bars do not hide each other.
                    nudge = 10 ** ((k - (len(lines) - 1) / 2) * min(0.035, 0.06 / max(len(lines) - 1, 1)))
                    part = part.sort_values(level)
                    x = np.where(part[level] > 0, part[level], zero if zero is not None else 1.0) * nudge
                    kw = dict(color=st["color"], marker=st["marker"], ms=3, mfc="white", mew=0.8, capsize=1.5)
                    pos = (part[level] > 0).to_numpy()
                    ax.errorbar(x[pos], part["mean"][pos], yerr=[b[pos] for b in _bars(part)], ls=st["ls"],
                                label=name, **kw)
                    if (~pos).any():
                        ax.errorbar(x[~pos], part["mean"][~pos], yerr=[b[~pos] for b in _bars(part)], ls="none",
                                    label=f"_{name} at 0", **kw)
                ax.set_title(panel_title(key, d))
                ax.set_ylabel("test accuracy" if c == 0 or not axes[r, c - 1].get_visible() else "")
                _level_axis(ax, levels, level_name)
                ax.tick_params(labelbottom=True)
                if r < len(rows) - 1:
                    ax.set_xlabel("")
        _accuracy_limits(axes, summary)
        first = next(ax for ax in axes.flat if ax.get_visible())
        seen: dict = {}
        for ax in axes.flat:  # every line of every panel (a model may have a mode the first panel lacks)
            for handle, label in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(label, handle)
        first.legend(list(seen.values()), list(seen), frameon=False, title=legend, fontsize="small")
        low, high = int(summary["seeds"].min()), int(summary["seeds"].max())
        note = _interval_note(summary) if low == high else (
            f"mean over {low}-{high} seeds per point; bars: 95% interval, Student's t with seeds - 1 degrees of "
            "freedom on the logit of the accuracy, so within [0, 1]")
        import textwrap

        width = max(58, 36 * len(panels))  # the suptitle must fit above the panels
        fig.suptitle("\n".join(textwrap.fill(part, width) for part in f"{title}\n({note})".split("\n")))
        return fig


#: How the companion figures name their networks.
COMPANION_MODEL_NAMES = {"mlp": "digits MLP", "fcn": "MNIST-5k FCN", "convnet": "MNIST-5k ConvNet"}


def plot_noise_tolerance(summary: pd.DataFrame, title: str) -> Figure:
    """Test accuracy against inference noise, one line per training mode; a panel per (model, activation).

    ``summary`` is :func:`gradlab.t_summary` of :func:`gradlab.noise_tolerance` by model, activation,
    train and eval_noise (columns mean, ci_low, ci_high, seeds).
    """
    return _accuracy_grid(summary, panel="activation", line="train", level="eval_noise", row="model",
                          level_name="inference noise eta (x the layer's range)",
                          panel_title=lambda a, m: f"{COMPANION_MODEL_NAMES.get(m, m)}, {a}",
                          legend="training", title=title, size=(3.0, 2.5))


def plot_bitflip(summary: pd.DataFrame, title: str) -> Figure:
    """Test accuracy against bit error rate, one line per activation restriction; a panel per (model, where).

    ``summary`` is :func:`gradlab.t_summary` of :func:`gradlab.bitflip_resilience` by model,
    clipping, where and ber (columns mean, ci_low, ci_high, seeds).
    """
    names = {"fixed32": "Q15.16", "fixed16": "Q5.10", "float32": "float32"}
    words = ", ".join(names.get(w, w) for w in dict.fromkeys(summary["word"])) if "word" in summary else "stored"
    return _accuracy_grid(summary, panel="where", line="clipping", level="ber", row="model",
                          level_name=f"bit error rate ({words} words)",
                          panel_title=lambda w, m: f"{COMPANION_MODEL_NAMES.get(m, m)}: flips in the {w}",
                          legend="clipping", title=title, size=(3.8, 2.6))


def plot_analog_training(summary: pd.DataFrame, title: str, reference: str = "relu") -> Figure:
    """The controls of the paper's training experiment: accuracy per control, and the paired gap to ReLU.

    ``summary`` is :func:`gradlab.analog_summary`'s frame (one row per control and activation:
    mean, low, high of the paired difference to the reference, reference_mean, seeds) with an
    ``accuracy`` column (the activation's own mean) and ``accuracy_low``/``accuracy_high`` added by
    the caller. Left: mean final test accuracy of the perturbed network; right: the difference to
    the ``reference`` activation, seed by seed, with its 95% interval.
    """
    controls = list(dict.fromkeys(summary["control"]))
    acts = list(dict.fromkeys(summary["activation"]))
    y = np.arange(len(controls))[::-1]
    with style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 0.42 * len(controls) + 1.6), sharey=True,
                                          constrained_layout=True)
        styles = _styles(acts)
        for k, act in enumerate(acts):
            part = summary[summary["activation"] == act].set_index("control").loc[controls]
            st = styles[act]
            offset = (k - (len(acts) - 1) / 2) * 0.14
            left.errorbar(part["accuracy"], y + offset,
                          xerr=[part["accuracy"] - part["accuracy_low"], part["accuracy_high"] - part["accuracy"]],
                          color=st["color"], marker=st["marker"], ls="none", ms=4, capsize=1.5, label=act)
            if act != reference:
                right.errorbar(part["mean"], y + offset, xerr=[part["mean"] - part["low"], part["high"] - part["mean"]],
                               color=st["color"], marker=st["marker"], ls="none", ms=4, capsize=1.5, label=act)
        right.axvline(0, color=ZERO_COLOR, lw=1, zorder=0)
        left.set_yticks(y, [c.replace("_", " ") for c in controls])
        left.set_xlabel("final test accuracy (noise on)")
        left.set_ylabel("control")
        right.set_xlabel(f"difference to {reference}, paired by seed")
        left.legend(frameon=False, fontsize="small", loc="lower left")
        fig.suptitle(f"{title}\n({_interval_note(summary)}; right: the paired difference's plain t interval)",
                     fontsize="medium")
        return fig


def plot_analog_training_full(summary: pd.DataFrame, title: str) -> Figure:
    """Final test accuracy against the interpolation weight i: one panel per (model, depth), a line per precision.

    ``summary`` has columns model, depth, precision, control, i, accuracy, low, high (the 95%
    logit-t interval of :func:`gradlab.t_summary` with ``bounds=(0, 1)``) and seeds; solid lines
    are the paper's setting ('none'), dashed the clean-gradient control.
    """
    panels = list(dict.fromkeys(zip(summary["model"], summary["depth"])))
    precisions = sorted(summary["precision"].unique())
    with style():
        fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels) + 0.6, 3.2), sharey=True,
                                 constrained_layout=True, squeeze=False)
        colors = _colors([f"P = {p:g}" for p in precisions])
        for ax, (model, depth) in zip(axes[0], panels):
            sub = summary[(summary["model"] == model) & (summary["depth"] == depth)]
            for (p, control), part in sub.groupby(["precision", "control"], sort=True):
                color = colors[f"P = {p:g}"]
                dashed = control != "none"
                ax.errorbar(part["i"] + (0.01 if dashed else -0.01), part["accuracy"],
                            yerr=[part["accuracy"] - part["low"], part["high"] - part["accuracy"]], color=color,
                            ls="--" if dashed else "-", marker="s" if dashed else "o", ms=3, mfc="white", mew=0.8,
                            capsize=1.5, label=f"P = {p:g}, {control.replace('_', ' ')}")
            name = "FCN" if model == "fcn" else "ConvNet"
            ax.set_title(f"{name}, {depth} hidden" if model == "fcn" else name)
            ax.set_xlabel("interpolation weight i (0: ReLU)")
        axes[0, 0].set_ylabel("final test accuracy (noise on)")
        axes[0, 0].legend(frameon=False, fontsize="x-small")
        lo, hi = int(summary["seeds"].min()), int(summary["seeds"].max())
        note = _interval_note(summary) if lo == hi else (
            f"mean over {lo}-{hi} seeds per point; bars: 95% interval, Student's t with seeds - 1 degrees of "
            "freedom on the logit of the accuracy, so within [0, 1]")
        fig.suptitle(f"{title}\n({note}; dashed: f' at the clean pre-activation)", fontsize="medium")
        return fig


def plot_layer_diagnostics(frame: pd.DataFrame, title: str) -> Figure:
    """Per-layer gradient error measured in a network against gradlab's prediction, and the gradient cosines.

    ``frame`` is :func:`gradlab.diagnostics.study.diagnose_paper_networks`'s (network, activation,
    layer, kind, metric, value, stderr). One row of panels per network. Left: each activation
    layer's measured mean |f'(x~) - f'(x)| (filled, +-2 standard errors) and gradlab's exact
    prediction over the same inputs (open). Right: per parameter layer, the cosine between the
    network's gradient and that of the same forward pass with exact f' (solid: the gradient error
    alone), and that of the clean network (dotted), mean over the training steps +-2 standard errors.
    """
    networks = list(dict.fromkeys(frame["network"]))
    acts = list(dict.fromkeys(frame["activation"]))
    styles = _styles(acts)
    with style():
        fig, axes = plt.subplots(len(networks), 2, figsize=(10, 3.3 * len(networks)), squeeze=False,
                                 constrained_layout=True)
        for row, network in enumerate(networks):
            left, right = axes[row]
            part = frame[frame["network"] == network]
            for k, act in enumerate(acts):
                st = styles[act]
                mine = part[part["activation"] == act]
                meas = mine[mine["metric"] == "measured"].reset_index(drop=True)
                pred = mine[mine["metric"] == "predicted"].reset_index(drop=True)
                pos = np.arange(len(meas)) + (k - (len(acts) - 1) / 2) * 0.18
                left.errorbar(pos, meas["value"], yerr=2 * meas["stderr"], color=st["color"], marker=st["marker"],
                              ls="none", ms=5, capsize=2, label=f"{act}: measured")
                left.plot(pos, pred["value"], color=st["color"], marker=st["marker"], mfc="white", ls="none", ms=9,
                          label=f"{act}: gradlab's prediction")
                left.set_xticks(np.arange(len(meas)), [str(i + 1) for i in range(len(meas))])
                layers = mine[(mine["kind"] == "parameters") & (mine["metric"] == "cosine_exact")]
                ppos = np.arange(len(layers))
                for metric, ls, label in (("cosine_exact", "-", "exact f', same forward"),
                                          ("cosine_clean", ":", "clean network")):
                    rows = mine[(mine["kind"] == "parameters") & (mine["metric"] == metric)]
                    right.errorbar(ppos, rows["value"], yerr=2 * rows["stderr"], color=st["color"],
                                   marker=st["marker"], ls=ls, ms=4, capsize=2, label=f"{act}: vs {label}")
                right.set_xticks(ppos, [str(i + 1) for i in range(len(layers))])
            left.set_ylim(bottom=0)
            left.set_xlabel("activation layer (input to output)")
            left.set_ylabel(f"{network}\nmean |f'(x~) - f'(x)|")
            right.set_xlabel("parameter layer (input to output)")
            right.set_ylabel("gradient cosine")
            right.set_ylim(min(-0.05, float(part[part["metric"].str.startswith("cosine")]["value"].min()) - 0.05),
                           1.02)
            right.axhline(1, color=ZERO_COLOR, lw=1, zorder=0)
            if row == 0:
                left.legend(frameon=False, fontsize="x-small", loc="lower left", ncol=2)
                right.legend(frameon=False, fontsize="x-small", loc="center left")
        fig.suptitle(title, fontsize="medium")
        return fig
