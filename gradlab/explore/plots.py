"""Figures only the explorer draws, in the style of :mod:`gradlab.plots` (which draws the others).

Like every gradlab plot, each takes the frame the model computed and draws it; nothing is computed here.
"""
from __future__ import annotations

import io

import pandas as pd
from matplotlib.figure import Figure

from gradlab.plots import PALETTE, plt, style

__all__ = ["figure_png", "plot_levels", "window_text"]


def plot_levels(levels: pd.DataFrame, x0: float, error: float, label: str) -> Figure:
    """The law of x~ at one input: a stem per level (its probability), and f' there against f'(x0).

    ``levels`` is :func:`gradlab.explore.model.level_view`'s frame; ``error`` the e(x0) it gave.
    """
    with style():
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(4.4, 3.6), sharex=True, constrained_layout=True)
        top.vlines(levels["level"], 0, levels["probability"], color=PALETTE[0], lw=2)
        top.plot(levels["level"], levels["probability"], "o", ms=3, color=PALETTE[0])
        top.axvline(x0, color=PALETTE[1], ls="--", lw=1, label=f"clean input x = {x0:g}")
        top.set(ylabel="P(x~ = level)", title=f"{label}: where x~ lands, and f' there")
        top.legend(frameon=False, loc="upper right")
        bottom.plot(levels["level"], levels["df"], "s", ms=3.5, color=PALETTE[2], label="f'(level)")
        bottom.axhline(levels["df_x"].iloc[0], color=PALETTE[1], ls="--", lw=1, label="f'(x), clean")
        bottom.set(xlabel="level of x~ (input units)", ylabel="f'",
                   title=f"e(x) = sum of P(level) |f'(level) - f'(x)| = {error:.4g}")
        bottom.legend(frameon=False, loc="best")
        return fig


def window_text(width: float) -> str:
    """A window half-width as it reads best: 1/64 for 0.015625 (the explorer's windows are powers of two)."""
    if 0 < width < 1 and abs(1 / width - round(1 / width)) < 1e-9 / width:
        return f"1/{round(1 / width)}"
    return f"{width:g}"


def figure_png(fig: Figure, dpi: int = 110, tight: bool = False) -> bytes:
    """The figure as PNG bytes, and the figure closed (a page redrawn on every slider move must not keep them).

    ``tight`` crops to what is drawn, titles wider than the figure included; it costs another
    layout pass, so the views redrawn on every slider move go without it.
    """
    buf = io.BytesIO()
    try:
        # Light compression: the page is served on loopback, where bytes are cheap and time is not.
        fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1},
                    bbox_inches="tight" if tight else None)
    finally:
        plt.close(fig)
    return buf.getvalue()
