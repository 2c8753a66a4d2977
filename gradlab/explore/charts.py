"""The explorer's live views as Vega-Lite charts, drawn by the browser (marimo renders Vega-Lite natively).

A slider move must redraw within 150 ms; matplotlib spends 80-165 ms rendering each figure on
this machine, so the views redrawn on every move are charts the page draws itself, from the
frames :mod:`gradlab.explore.model` computed (nothing is computed here).  ``gradlab figures`` and
the handout keep matplotlib (:mod:`gradlab.plots`).  A chart is a :class:`Chart`, which marimo
shows through its ``_mime_`` protocol; no plotting package is needed on the Python side.

Colours and dashes are the activations' own (:func:`gradlab.plots.activation_style`); text is
at least 12 px, readable at 1280 px and on a projector.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gradlab.plots import PALETTE, activation_style

__all__ = ["MIMETYPE", "Chart", "curves_chart", "error_chart", "levels_chart"]

#: marimo's mimetype for a Vega-Lite specification.
MIMETYPE = "application/vnd.vegalite.v5+json"
_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier: nothing is fetched
_FONT = {"labelFontSize": 12, "titleFontSize": 13}
_CONFIG = {
    "axis": {**_FONT, "titleFontWeight": "normal", "labelLimit": 0, "titleLimit": 0},
    "legend": {**_FONT, "titleFontWeight": "normal", "labelLimit": 0, "orient": "right"},
    "header": {"labelFontSize": 13, "titleFontSize": 13},
    "title": {"fontSize": 14, "subtitleFontSize": 12, "anchor": "start", "fontWeight": "bold"},
    "view": {"stroke": "#ddd"},
    "font": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
}
#: The colour of a reference curve drawn under the others.
_REFERENCE = "#a0a0a0"
# matplotlib line styles of gradlab.plots as SVG dash arrays.
_DASHES = {"-": [], "--": [6, 3], ":": [1.5, 2.5], "-.": [6, 2, 1.5, 2]}


class Chart:
    """A Vega-Lite specification that marimo draws in the page (``_mime_``); ``spec`` is the dict."""

    def __init__(self, spec: dict):
        self.spec = spec
        self._json: str | None = None

    def to_json(self) -> str:
        """The specification as JSON, built once (a chart is shown again unchanged when another control moves)."""
        if self._json is None:
            self._json = json.dumps(self.spec, separators=(",", ":"), allow_nan=False)
        return self._json

    def _mime_(self) -> tuple[str, str]:
        return MIMETYPE, self.to_json()


def _numbers(values) -> list[float | None]:
    """Floats with 7 significant digits (what a chart can show), None for what is not finite (JSON has no NaN)."""
    arr = np.asarray(values, dtype=float)
    out = [float(f"{v:.7g}") for v in arr.tolist()]
    return [v if math.isfinite(v) else None for v in out]


def _styles(labels: Sequence[str]) -> dict[str, dict]:
    """Colour and dash per activation label, the figures' own; a repeated colour takes the next palette entry."""
    out: dict[str, dict] = {}
    spare = iter(PALETTE)
    for label in dict.fromkeys(labels):
        st = activation_style(label)
        color = st["color"].lower()
        while color in {s["color"] for s in out.values()}:
            color = next(spare).lower()
        ls = st["ls"]
        out[label] = {"color": color, "dash": _DASHES.get(ls, [4, 1.5, 1, 1.5]) if isinstance(ls, str) else
                      [float(v) * 1.5 for v in ls[1]]}
    return out


def _color_scale(styles: dict[str, dict]) -> dict:
    return {"domain": list(styles), "range": [s["color"] for s in styles.values()]}


def _spec(body: dict, title: str | dict | None = None) -> dict:
    spec = {"$schema": _SCHEMA, "config": _CONFIG, "background": "white", "padding": 4, **body}
    if title is not None:
        spec["title"] = title
    return spec


def curves_chart(panels: pd.DataFrame, title: str, points: Sequence[str] = (), width: int = 210,
                 height: int = 120, reference: str | None = None, grid: bool = True) -> Chart:
    """f and f' (rows) per panel (columns), as :func:`gradlab.plots.plot_quantized_family` draws them.

    ``panels`` is :func:`gradlab.explore.model.curves`'s frame; panels named in ``points`` hold
    one random draw per x and are drawn as points, the others as steps.  The panel named
    ``reference`` (say ``"clean"``) is not drawn on its own but as a thin grey line under every
    other panel: one panel fewer for the browser to lay out, and the difference in one place.
    Sizes in px, per panel.  The data goes column by column (x, f, f' as arrays, one data set per
    panel and activation): a few thousand numbers, not a few thousand records.
    """
    names = list(dict.fromkeys(panels["panel"]))
    if reference is not None and reference not in names:
        raise ValueError(f"reference must be one of the panels {names}, got {reference!r}")
    styles = _styles(panels["activation"])
    datasets: dict[str, list[dict]] = {}

    def layer(key: str, part: pd.DataFrame, col: str, mark: dict, y_title: str) -> dict:
        if key not in datasets:  # one data set for both rows (and, for the reference, every panel)
            datasets[key] = [{"x": _numbers(part["x"]), "f": _numbers(part["f"]), "df": _numbers(part["df"])}]
        return {
            "data": {"name": key}, "transform": [{"flatten": ["x", "f", "df"]}], "mark": {**mark, "clip": True},
            "encoding": {
                "x": {"field": "x", "type": "quantitative", "title": "clean input x" if col == "df" else None,
                      "axis": {"labels": col == "df", "tickCount": 5}},
                "y": {"field": col, "type": "quantitative", "title": y_title, "scale": {"zero": False}},
            },
        }

    behind = [] if reference is None else list(panels[panels["panel"] == reference].groupby("activation", sort=False))
    columns = []
    for k, name in enumerate(n for n in names if n != reference):
        sub = panels[panels["panel"] == name]
        clean = bool(np.array_equal(sub["x_input"].to_numpy(), sub["x"].to_numpy()))
        arg = "x" if clean else "x~"
        mark = ({"type": "circle", "size": 9, "opacity": 0.85} if name in points else
                {"type": "line", "interpolate": "step", "strokeWidth": 1.5})
        rows = []
        for col, label in (("f", f"f({arg})"), ("df", f"f'({arg})")):
            layers = [layer(f"r{j}", part, col, {"type": "line", "color": _REFERENCE, "strokeWidth": 1}, label)
                      for j, (_, part) in enumerate(behind)]
            layers += [layer(f"p{k}a{j}", part, col, {**mark, "color": styles[act]["color"]}, label)
                       for j, (act, part) in enumerate(sub.groupby("activation", sort=False))]
            rows.append({"width": width, "height": height, "layer": layers})
        head = name + (" (one noise draw per x)" if name in points else "")
        columns.append({"vconcat": rows, "title": {"text": head, "fontSize": 13, "fontWeight": "normal"},
                        "spacing": 6})
    if behind:
        title = {"text": title, "subtitle": f"grey: {reference}"} if isinstance(title, str) else title
    config = _CONFIG if grid else {**_CONFIG, "axis": {**_CONFIG["axis"], "grid": False}}
    return Chart({**_spec({"datasets": datasets, "hconcat": columns, "spacing": 14}, title), "config": config})


def levels_chart(levels: pd.DataFrame, x0: float, error: float, label: str, width: int = 300,
                 height: int = 110) -> Chart:
    """The law of x~ at one input (a stem per level) over f' at each level against f'(x0), as
    :func:`gradlab.explore.plots.plot_levels` draws it; ``levels`` is
    :func:`gradlab.explore.model.level_view`'s frame."""
    values = [{"level": lv, "p": p, "df": d} for lv, p, d in
              zip(_numbers(levels["level"]), _numbers(levels["probability"]), _numbers(levels["df"]), strict=True)]
    dfx = _numbers([levels["df_x"].iloc[0]])[0]
    x = {"field": "level", "type": "quantitative", "scale": {"zero": False, "nice": False, "padding": 8}}
    top = {"width": width, "height": height, "layer": [
        {"mark": {"type": "rule", "color": PALETTE[0], "strokeWidth": 2},
         "encoding": {"x": {**x, "title": None}, "y": {"field": "p", "type": "quantitative",
                                                      "title": "P(x~ = level)"}, "y2": {"datum": 0}}},
        {"mark": {"type": "circle", "color": PALETTE[0], "size": 20},
         "encoding": {"x": {**x, "title": None}, "y": {"field": "p", "type": "quantitative"},
                      "tooltip": [{"field": "level", "format": ".5g"}, {"field": "p", "format": ".3g"}]}},
        {"data": {"values": [{"x0": x0}]}, "mark": {"type": "rule", "color": PALETTE[1], "strokeDash": [5, 3]},
         "encoding": {"x": {"field": "x0", "type": "quantitative"}}},
    ], "title": {"text": f"where x~ lands from x = {x0:g} (dashed)", "fontSize": 13, "fontWeight": "normal"}}
    bottom = {"width": width, "height": height, "layer": [
        {"mark": {"type": "square", "color": PALETTE[2], "size": 30, "filled": True},
         "encoding": {"x": {**x, "title": "level of x~ (input units)"},
                      "y": {"field": "df", "type": "quantitative", "title": "f'(level)",
                            "scale": {"zero": False, "padding": 10}}}},
        {"data": {"values": [{"dfx": dfx}]}, "mark": {"type": "rule", "color": PALETTE[1], "strokeDash": [5, 3]},
         "encoding": {"y": {"field": "dfx", "type": "quantitative"}}},
    ], "title": {"text": f"f' there; dashed: f'(x) clean; e(x) = {error:.4g}", "fontSize": 13,
                 "fontWeight": "normal"}}
    return Chart(_spec({"data": {"values": values}, "vconcat": [top, bottom], "spacing": 10,
                        "resolve": {"scale": {"x": "shared"}}}, {"text": f"{label}: the law of x~"}))


def error_chart(exact: pd.DataFrame, mc: pd.DataFrame, title: str, window: float, floor: float = 1e-8,
                width: int = 380, height: int = 220, note: str = "") -> Chart:
    """Exact e(x) as lines, Monte Carlo as points with 95% bars (±1.96 standard errors), log scale from ``floor``,
    on [-window, window], as :func:`gradlab.plots.plot_gradient_error` draws them.

    The subtitle says which engines are drawn, and ``note`` what stands in for the exact curve when
    there is none.  Bars are clipped to ``floor``; a Monte Carlo mean of 0 has no point on the log
    axis and is not drawn.
    """
    styles = _styles(list(exact["activation"]) + list(mc["activation"]))
    color = {"field": "activation", "type": "nominal", "scale": _color_scale(styles), "title": None,
             "legend": {"orient": "bottom", "direction": "horizontal", "symbolType": "stroke"}}
    x = {"field": "x", "type": "quantitative", "title": "clean input x",
         "scale": {"domain": [-window, window], "nice": False, "zero": False}}
    decades = [10.0**k for k in range(round(math.log10(floor)), 1)]
    y_scale = {"type": "log", "domain": [floor, 2.0], "nice": False}
    y_axis = {"values": decades, "labelExpr": "datum.value >= 0.01 ? format(datum.value, '~g') : "
              "'1e' + format(log(datum.value) / LN10, '.0f')"}
    y_title = "gradient error E|f'(x~) - f'(x)|"
    layers = []
    for label, part in exact.groupby("activation", sort=False):
        ys = _numbers(part["mean_abs_error"])
        values = [{"activation": label, "x": xv, "e": e} for xv, e in zip(_numbers(part["x"]), ys, strict=True)
                  if e is not None and e > 0]
        layers.append({"data": {"values": values}, "mark": {"type": "line", "strokeWidth": 1.6, "clip": True,
                                                            "strokeDash": styles[label]["dash"]},
                       "encoding": {"x": x, "y": {"field": "e", "type": "quantitative", "scale": y_scale,
                                                  "axis": y_axis, "title": y_title},
                                    "color": color}})
    samples = None
    if not mc.empty:
        mean = mc["mean_abs_error"].to_numpy(dtype=float)
        half = 1.96 * mc["stderr"].to_numpy(dtype=float)
        shown = mean > 0
        values = [{"activation": a, "x": xv, "e": e, "lo": lo, "hi": hi} for a, xv, e, lo, hi in zip(
            mc["activation"][shown], _numbers(mc["x"][shown]), _numbers(mean[shown]),
            _numbers(np.maximum(mean - half, floor)[shown]), _numbers(np.maximum(mean + half, floor)[shown]),
            strict=True)]
        layers.append({"data": {"values": values}, "mark": {"type": "rule", "strokeWidth": 1.2, "clip": True},
                       "encoding": {"x": x, "y": {"field": "lo", "type": "quantitative", "scale": y_scale,
                                                  "axis": y_axis, "title": y_title},
                                    "y2": {"field": "hi"}, "color": color}})
        layers.append({"data": {"values": values}, "mark": {"type": "circle", "size": 40, "opacity": 1,
                                                            "stroke": "white", "strokeWidth": 0.6, "clip": True},
                       "encoding": {"x": x, "y": {"field": "e", "type": "quantitative", "scale": y_scale,
                                                  "axis": y_axis, "title": y_title}, "color": color,
                                    "tooltip": [{"field": "activation"}, {"field": "x", "format": ".4g"},
                                                {"field": "e", "format": ".3g", "title": "e (Monte Carlo)"}]}})
        samples = int(mc["samples"].iloc[0])
    drawn = []
    if not exact.empty:
        drawn.append("lines: exact")
    elif note:
        drawn.append(note)
    if samples is not None:
        drawn.append(f"points, 95% bars: Monte Carlo ({samples:,} samples)")
    if not layers:  # nothing to draw yet: the empty axes, so the layout does not jump
        layers.append({"data": {"values": [{"x": 0, "e": floor}]}, "mark": {"type": "point", "opacity": 0},
                       "encoding": {"x": x, "y": {"field": "e", "type": "quantitative", "scale": y_scale,
                                                  "axis": y_axis, "title": y_title}}})
    return Chart(_spec({"width": width, "height": height, "layer": layers},
                       {"text": title, "subtitle": "; ".join(drawn) or " "}))
