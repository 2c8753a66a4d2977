"""Latency of the explorer's updates: what one slider move costs, per control, computed and drawn.

A move re-runs the model functions of the views that depend on the control (the explorer's cells
take the window and x separately, so those two redraw fewer views), then draws their figures.
Each control is moved to 7 values in turn; a new parameter value of the activation is a cold
build (sympy, then NumPy code generated from it), a revisited one comes from the cache.
Reported: min / median / max over the moves, in ms.

Run: python benchmarks/bench_explore.py
"""
from __future__ import annotations

import dataclasses
import os
import statistics
import time

from gradlab import plots
from gradlab.explore import model
from gradlab.explore import plots as xplots

#: Which views each control redraws in the explorer (see the cells of gradlab/explore/explorer.py).
ALL = ("numbers", "curves", "levels", "error")
VIEWS = {"i (new values)": ALL, "i (revisited)": ALL, "precision P": ALL, "leakage": ALL, "kink": ALL,
         "window": ("numbers", "curves", "error"), "x": ("levels",)}
MOVES = {
    "i (new values)": [("i", v) for v in (0.05, 0.15, 0.35, 0.45, 0.65, 0.85, 0.95)],
    "i (revisited)": [("i", v) for v in (0.05, 0.15, 0.35, 0.45, 0.65, 0.85, 0.95)],
    "precision P": [("precision", v) for v in (16, 32, 64, 128, 512, 1024, 256)],
    "leakage": [("leakage", v) for v in (0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.5)],
    "kink": [("kink", v) for v in ("left", "right", "midpoint", "paper", "left", "right", "autograd")],
    "window": [("window", v) for v in (1 / 512, 1 / 128, 1 / 32, 1 / 8, 1 / 2, 1.0, 1 / 16)],
    "x": [("x0", v) for v in (-0.01, -0.004, 0.001, 0.002, 0.005, 0.02, 0.0)],
}


def compute(st: model.Settings, views) -> dict:
    out = {}
    if "numbers" in views:
        out["numbers"] = model.live_numbers(st)
    if "curves" in views:
        out["curves"] = model.curves(st)
    if "levels" in views:
        out["levels"] = model.level_view(st)
    if "error" in views:
        out["error"] = model.error_curve(st)
    return out


def draw(st: model.Settings, data: dict) -> None:
    if "curves" in data:
        xplots.figure_png(plots.plot_quantized_family(data["curves"], "f", points=["noisy + quantized"]))
    if "levels" in data:
        levels, e = data["levels"]
        xplots.figure_png(xplots.plot_levels(levels, st.x0, e, "x~"))
    if "error" in data:
        xplots.figure_png(plots.plot_gradient_error(data["error"], model.empty_errors(), "e", floor=1e-8))


def spread(ms: list[float]) -> str:
    return f"{min(ms):6.1f} / {statistics.median(ms):6.1f} / {max(ms):6.1f}"


def split_drawing(st: model.Settings, repeats: int = 5) -> None:
    """Where a figure's time goes: model + building it, rendering it (Agg, 110 dpi), encoding the PNG; median ms."""
    import io

    from PIL import Image

    def levels():
        frame, e = model.level_view(st)
        return xplots.plot_levels(frame, st.x0, e, "x~")

    figures = {
        "curves": lambda: plots.plot_quantized_family(model.curves(st), "f", points=["noisy + quantized"]),
        "levels": levels,
        "error": lambda: plots.plot_gradient_error(model.error_curve(st), model.empty_errors(), "e", floor=1e-8),
    }
    for name, make in figures.items():
        build, render, encode, size = [], [], [], 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            fig = make()
            fig.set_dpi(110)
            t1 = time.perf_counter()
            fig.canvas.draw()
            t2 = time.perf_counter()
            buf = io.BytesIO()
            Image.frombuffer("RGBA", fig.canvas.get_width_height(physical=True), fig.canvas.buffer_rgba()).save(
                buf, format="png", compress_level=1)
            t3 = time.perf_counter()
            xplots.plt.close(fig)
            build.append((t1 - t0) * 1e3)
            render.append((t2 - t1) * 1e3)
            encode.append((t3 - t2) * 1e3)
            size = buf.tell()
        print(f"figure {name:<7} model + build {statistics.median(build):6.1f} ms, render (Agg) "
              f"{statistics.median(render):6.1f} ms, PNG encode {statistics.median(encode):5.1f} ms, "
              f"{size / 1e3:.0f} kB")


def main() -> None:
    base = model.Settings()
    draw(base, compute(base, ALL))  # warm: the chain kernels load once per process
    print(f"load average {os.getloadavg()[0]:.2f}; min / median / max over 7 moves, ms")
    print(f"{'control':<16}{'live numbers':>24}{'all views computed':>26}{'computed and drawn':>26}")
    for control, moves in MOVES.items():
        numbers, computed, drawn = [], [], []
        for name, value in moves:
            st = dataclasses.replace(base, **{name: value})
            t0 = time.perf_counter()
            if "numbers" in VIEWS[control]:
                model.live_numbers(st)
            t1 = time.perf_counter()
            data = compute(st, [v for v in VIEWS[control] if v != "numbers"])
            t2 = time.perf_counter()
            draw(st, data)
            t3 = time.perf_counter()
            numbers.append((t1 - t0) * 1e3)
            computed.append((t2 - t0) * 1e3)
            drawn.append((t3 - t0) * 1e3)
        shown = spread(numbers) if "numbers" in VIEWS[control] else f"{'(not redrawn)':>20}"
        print(f"{control:<16}{shown:>24}{spread(computed):>26}{spread(drawn):>26}")
    split_drawing(base)
    st = model.Settings(i=0.5)
    t0 = time.perf_counter()
    model.mc_points(st)
    t1 = time.perf_counter()
    model.depth_view(st)
    t2 = time.perf_counter()
    print(f"on demand: Monte Carlo points (21 x 20,000 samples, 2 activations) {(t1 - t0) * 1e3:.0f} ms; "
          f"depth experiment (depths 1-8, 32 networks) {(t2 - t1) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
