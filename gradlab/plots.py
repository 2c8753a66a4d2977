"""One plotting function per figure: each takes the DataFrame a query returned and returns a Figure.

Plots draw; they compute nothing but layout (no statistics here).  The style is shared: the
Okabe-Ito colour-blind-safe palette, labelled axes with units, sizes readable at column width.
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")  # figures are written to files; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = [
    "PALETTE",
    "plot_activations",
    "plot_depth_error",
    "plot_effective_precision",
    "plot_error_ratio",
    "plot_gradient_error",
    "plot_product_maps",
    "plot_product_maps_paper",
    "plot_quantized_family",
    "plot_step_discontinuity",
    "plot_training",
    "style",
]

#: Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

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


def _colors(labels: Sequence[str]) -> dict[str, str]:
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(dict.fromkeys(labels))}


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


def plot_quantized_family(panels: pd.DataFrame, title: str) -> Figure:
    """Rows f and f', one column per ``panel`` value (e.g. clean / quantized / noisy+quantized).

    ``panels`` is :func:`gradlab.activation_curves` output with a ``panel`` column added.
    """
    names = list(dict.fromkeys(panels["panel"]))
    with style():
        fig, axes = plt.subplots(2, len(names), figsize=(2.5 * len(names) + 0.6, 4.4),
                                 constrained_layout=True, sharex=True, squeeze=False)
        colors = _colors(panels["activation"])
        for col, name in enumerate(names):
            sub = panels[panels["panel"] == name]
            for label, part in sub.groupby("activation", sort=False):
                for row, col_name in ((0, "f"), (1, "df")):
                    axes[row, col].plot(part["x"], part[col_name], color=colors[label], label=label,
                                        drawstyle="steps-mid", lw=1.0)
            axes[0, col].set_title(name)
            axes[1, col].set_xlabel("clean input x")
        axes[0, 0].set_ylabel("f(x~)")
        axes[1, 0].set_ylabel("f'(x~)")
        axes[0, 0].legend(frameon=False)
        fig.suptitle(title)
        return fig


def plot_effective_precision(ep: pd.DataFrame) -> Figure:
    """EP(s) in bits against the GELU scale s (from :func:`gradlab.effective_precision`)."""
    with style():
        fig, ax = plt.subplots(figsize=(3.4, 2.6), constrained_layout=True)
        ax.plot(ep["s"], ep["bits"], color=PALETTE[0])
        P = ep["precision"].iloc[0]
        ax.set(xlabel="GELU scale s", ylabel="effective precision near 0 (bits)",
               title=f"log2(1 / (f'(1/P) - f'(0))), P = {P:g}")
        return fig


def plot_step_discontinuity(gsd: pd.DataFrame) -> Figure:
    """GSD against i per family: exact line and the paper's numeric form as markers."""
    with style():
        fig, ax = plt.subplots(figsize=(3.4, 2.6), constrained_layout=True)
        colors = _colors(gsd["family"])
        for fam, part in gsd.groupby("family", sort=False):
            ax.plot(part["i"], part["gsd"], color=colors[fam], label=f"{fam}: |f'(0+) - f'(0-)|")
            h = part["h"].iloc[0]
            ax.plot(part["i"], part["numeric"], "o", ms=3, mfc="none", color=colors[fam],
                    label=f"{fam}: f'({h:g}) - f'(0)")
        ax.set(xlabel="interpolation weight i (0: ReLU)", ylabel="gradient step at 0",
               title="Gradient step discontinuity")
        ax.legend(frameon=False)
        return fig


def plot_product_maps(
    maps: pd.DataFrame, title: str, zoom: float | None = None, columns: int | None = None, floor: float = 1e-5
) -> Figure:
    """Heat maps of |f'(noisy a w) - f'(a w)| over (input, weight), one per activation, log colour.

    ``zoom`` restricts both axes to [-zoom, zoom] (the drawn data are the map's own cells); with
    ``columns`` only zoomed views are drawn.  Errors below ``floor`` (zero included) share its colour.
    """
    labels = list(dict.fromkeys(maps["activation"]))
    if zoom and columns is not None:
        views = [(label, zoom) for label in labels]
    else:
        views = [(label, None) for label in labels] + ([(label, zoom) for label in labels] if zoom else [])
    ncol = columns or len(labels)
    nrow = int(np.ceil(len(views) / ncol))
    # A shared logarithmic scale: ReLU's and GELU's errors differ by orders of magnitude.
    norm = matplotlib.colors.LogNorm(vmin=floor, vmax=max(float(maps["error"].max()), 10 * floor))
    with style():
        fig, axes = plt.subplots(nrow, ncol, figsize=(2.5 * ncol + 0.8, 2.4 * nrow + 0.3),
                                 constrained_layout=True, squeeze=False)
        image = None
        for ax, (label, z) in zip(axes.flat, views):
            part = maps[maps["activation"] == label]
            a = np.unique(part["input"])
            w = np.unique(part["weight"])
            grid = part["error"].to_numpy().reshape(a.size, w.size)
            image = ax.pcolormesh(w, a, np.maximum(grid, floor), shading="nearest", cmap="viridis", norm=norm,
                                  rasterized=True)
            if z:
                ax.set_xlim(-z, z)
                ax.set_ylim(-z, z)
            ax.set(xlabel="weight w", ylabel="input a", title=label + (f" (zoom ±{z:g})" if z else ""))
            ax.set_aspect("equal")
            ax.grid(False)
        for ax in list(axes.flat)[len(views):]:
            ax.set_visible(False)
        bar = fig.colorbar(image, ax=axes, shrink=0.85)
        bar.set_label("mean |f'(noisy a·w) - f'(a·w)|")
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
                bar = fig.colorbar(image, ax=ax, shrink=0.85, extend="max")
                bar.set_label(f"|f'(noisy a·w) - f'(a·w)|, limit {limits[label]:g}")
        fig.suptitle(title)
        return fig


def plot_gradient_error(exact: pd.DataFrame, mc: pd.DataFrame, title: str, floor: float = 1e-6) -> Figure:
    """Exact e(x) curves, Monte Carlo points with 95% confidence bands, log scale from ``floor``."""
    with style():
        fig, ax = plt.subplots(figsize=(6.0, 3.4), constrained_layout=True)
        colors = _colors(exact["activation"])
        for label, part in exact.groupby("activation", sort=False):
            ax.plot(part["x"], part["mean_abs_error"], color=colors[label], label=f"{label} (exact)")
        for label, part in mc.groupby("activation", sort=False):
            lo = np.maximum(part["mean_abs_error"] - 1.96 * part["stderr"], floor)
            hi = part["mean_abs_error"] + 1.96 * part["stderr"]
            ax.fill_between(part["x"], lo, hi, color=colors.get(label, "grey"), alpha=0.25, lw=0)
            ax.plot(part["x"], part["mean_abs_error"], "o", ms=2.5, color=colors.get(label, "grey"),
                    label=f"{label} (Monte Carlo, {int(part['samples'].iloc[0]):,} samples, 95% band)")
        ax.set_yscale("log")
        # Far from 0 the exact error underflows towards 1e-300; the interesting range is above.
        ax.set_ylim(floor, 2.0)
        ax.set(xlabel="clean input x", ylabel="gradient error E|f'(x~) - f'(x)|", title=title)
        ax.legend(frameon=False, ncol=2, fontsize=6.5)
        return fig


def plot_error_ratio(by_width: pd.DataFrame, by_noise: pd.DataFrame, title: str, chain_label: str = "") -> Figure:
    """Error-near-zero ratio to the reference, against window width and against noise sigma."""
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.9), constrained_layout=True)
        ref = by_width["reference"].iloc[0]
        colors = _colors(by_width["activation"])
        for label, part in by_width.groupby("activation", sort=False):
            axes[0].errorbar(part["width"], part["ratio"], yerr=1.96 * part["ratio_stderr"], color=colors[label],
                             label=label, marker="o", ms=2.5)
        for label, part in by_noise.groupby("activation", sort=False):
            axes[1].errorbar(part["sigma"], part["ratio"], yerr=1.96 * part["ratio_stderr"], color=colors[label],
                             label=label, marker="o", ms=2.5)
        w_fixed = by_noise["width"].iloc[0]
        axes[0].set(xscale="log", yscale="log", xlabel="window half-width w (|x| <= w)",
                    ylabel=f"error near 0 / {ref}'s", title=chain_label)
        axes[1].set(xscale="log", yscale="log", xlabel="Gaussian noise sigma",
                    ylabel=f"error near 0 / {ref}'s", title=f"window w = {w_fixed:g}")
        for ax in axes:
            ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        axes[0].legend(frameon=False)
        fig.suptitle(title)
        return fig


def plot_depth_error(depth: pd.DataFrame, title: str) -> Figure:
    """Relative error and cosine similarity of the input gradient against depth (from depth_error)."""
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.9), constrained_layout=True)
        colors = _colors(depth["activation"])
        for label, part in depth.groupby("activation", sort=False):
            axes[0].errorbar(part["depth"], part["input_rel_error"], yerr=1.96 * part["input_rel_error_stderr"],
                             color=colors[label], marker="o", ms=3, label=label)
            axes[1].errorbar(part["depth"], part["input_cosine"], yerr=1.96 * part["input_cosine_stderr"],
                             color=colors[label], marker="o", ms=3, label=label)
        axes[0].set(xscale="log", yscale="log", xlabel="depth (layers)",
                    ylabel="relative error of input gradient", title="||g~ - g|| / ||g||")
        axes[1].set(xscale="log", xlabel="depth (layers)", ylabel="cosine(g~, g)", title="direction kept")
        for ax in axes:
            ax.set_xticks(sorted(depth["depth"].unique()))
            ax.set_xticklabels([str(d) for d in sorted(depth["depth"].unique())])
        axes[0].legend(frameon=False)
        fig.suptitle(title)
        return fig


def plot_training(summary: pd.DataFrame, title: str) -> Figure:
    """Final test accuracy against interpolation weight i, one panel per (noise, depth).

    ``summary`` has columns family, i, noise, depth, accuracy, stderr, seeds (one row per point).
    """
    noises = list(dict.fromkeys(summary["noise"]))
    depths = sorted(summary["depth"].unique())
    with style():
        fig, axes = plt.subplots(len(noises), len(depths), figsize=(3.0 * len(depths) + 0.5, 2.4 * len(noises) + 0.4),
                                 constrained_layout=True, sharex=True, squeeze=False)
        colors = _colors(summary["family"])
        for r, noise in enumerate(noises):
            for c, d in enumerate(depths):
                ax = axes[r, c]
                sub = summary[(summary["noise"] == noise) & (summary["depth"] == d)]
                for fam, part in sub.groupby("family", sort=False):
                    ax.errorbar(part["i"], part["accuracy"], yerr=1.96 * part["stderr"], color=colors[fam],
                                marker="o", ms=3, label=fam)
                ax.set_title(f"{noise}, depth {d}")
                ax.set_ylabel("test accuracy")
                if r == len(noises) - 1:
                    ax.set_xlabel("interpolation weight i (0: ReLU)")
        axes[0, 0].legend(frameon=False)
        seeds = int(summary["seeds"].iloc[0])
        fig.suptitle(f"{title}\n(mean over {seeds} seeds; bars: ±1.96 standard errors)")
        return fig
