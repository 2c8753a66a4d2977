"""The explorer's charts draw the model's numbers, which are the queries': the page shows what gradlab computes."""
import json
import math

import numpy as np
import pytest

import gradlab as gl
from gradlab.explore import charts, model
from gradlab.explore.model import Settings


def _spec(chart: charts.Chart) -> dict:
    mime, text = chart._mime_()
    assert mime == "application/vnd.vegalite.v5+json"
    return json.loads(text)


def _layers(spec):
    """Every single view of a (concatenated, layered) specification, depth first."""
    for key in ("hconcat", "vconcat", "layer"):
        for part in spec.get(key, []):
            yield from _layers(part)
    if "mark" in spec:
        yield spec


def test_the_error_chart_draws_the_exact_query_and_the_monte_carlo_points():
    st = Settings(family="relu", window=1 / 16)
    exact = model.error_curve(st)
    # The page's e(x) is gradlab.gradient_error's, on the same inputs.
    xs = np.linspace(-1 / 16, 1 / 16, 201)
    query = gl.gradient_error(["relu", "gelu"], st.chain, xs, method="exact")
    np.testing.assert_allclose(exact["mean_abs_error"], query["mean_abs_error"], rtol=1e-12, atol=0)
    mc = model.mc_points(st, points=5, samples=4000)
    spec = _spec(charts.error_chart(exact, mc, "e(x)", st.window))
    lines = [v for v in _layers(spec) if v["mark"]["type"] == "line"]
    assert [v["data"]["values"][0]["activation"] for v in lines] == ["relu", "gelu"]
    for view, (label, part) in zip(lines, exact.groupby("activation", sort=False)):
        drawn = {(p["x"], p["e"]) for p in view["data"]["values"]}
        want = [(x, e) for x, e in zip(part["x"], part["mean_abs_error"]) if e > 0]
        assert len(drawn) == len(want) and label == view["data"]["values"][0]["activation"]
        for (x, e), (dx, de) in zip(want, sorted(drawn)):
            assert dx == pytest.approx(x, rel=1e-6, abs=1e-12) and de == pytest.approx(e, rel=1e-6)
    points = next(v for v in _layers(spec) if v["mark"]["type"] == "circle")["data"]["values"]
    assert len(points) == (mc["mean_abs_error"] > 0).sum()
    first = mc[mc["mean_abs_error"] > 0].iloc[0]
    assert points[0]["e"] == pytest.approx(first["mean_abs_error"], rel=1e-6)
    assert points[0]["hi"] == pytest.approx(first["mean_abs_error"] + 1.96 * first["stderr"], rel=1e-6)
    assert spec["title"]["subtitle"] == "lines: exact; points, 95% bars: Monte Carlo (4,000 samples)"
    assert spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == [-1 / 16, 1 / 16]


def test_without_an_exact_curve_the_chart_says_what_stands_in_and_keeps_its_axes():
    st = Settings(rounding="stochastic")
    with pytest.raises(model.ExactUnsupported):
        model.error_curve(st)
    spec = _spec(charts.error_chart(model.empty_errors(), model.empty_errors(), "e(x)", st.window,
                                    note="no exact curve (see the notice above)"))
    assert spec["title"]["subtitle"] == "no exact curve (see the notice above)"  # no "exact (line)" without a line
    assert [v["mark"]["type"] for v in _layers(spec)] == ["point"]  # an empty frame: the layout does not jump
    # The page says it once, in its own words: no API advice.
    text = model.exact_unavailable_text(st)
    assert "stochastic rounding" in text and "method=" not in text and "Monte Carlo button" in text


def test_the_curves_chart_draws_the_models_curves():
    st = Settings(family="relu_gelu", i=0.3, precision=64)
    panels = model.curves(st, points=201)
    spec = _spec(charts.curves_chart(panels, "t", points=["noisy + quantized"]))
    assert [c["title"]["text"] for c in spec["hconcat"]] == ["clean", "quantized",
                                                              "noisy + quantized (one noise draw per x)"]
    for k, name in enumerate(["clean", "quantized", "noisy + quantized"]):
        data = spec["datasets"][f"p{k}a0"][0]
        part = panels[panels["panel"] == name]
        for col in ("x", "f", "df"):
            np.testing.assert_allclose(data[col], part[col], rtol=1e-6, atol=1e-12)
    marks = [v["mark"]["type"] for v in _layers(spec)]
    assert marks == ["line", "line", "line", "line", "circle", "circle"]  # the random draws as points


def test_the_clean_curve_drawn_under_the_hardwares_is_the_clean_panel():
    st = Settings(family="relu_gelu", i=0.3, precision=64)
    panels = model.curves(st, points=201)
    spec = _spec(charts.curves_chart(panels, "t", points=["noisy + quantized"], reference="clean", grid=False))
    assert [c["title"]["text"] for c in spec["hconcat"]] == ["quantized", "noisy + quantized (one noise draw per x)"]
    assert spec["title"] == {"text": "t", "subtitle": "grey: clean"} and spec["config"]["axis"]["grid"] is False
    clean = panels[panels["panel"] == "clean"]
    for column in spec["hconcat"]:
        for row in column["vconcat"]:
            under, over = row["layer"]  # the clean curve first, so the hardware's is drawn over it
            assert under["mark"]["color"] == "#a0a0a0" and under["data"]["name"] == "r0"
            assert over["mark"]["color"] != under["mark"]["color"]
    for col in ("x", "f", "df"):
        np.testing.assert_allclose(spec["datasets"]["r0"][0][col], clean[col], rtol=1e-6, atol=1e-12)
    quantized = panels[panels["panel"] == "quantized"]
    np.testing.assert_allclose(spec["datasets"]["p0a0"][0]["df"], quantized["df"], rtol=1e-6, atol=1e-12)
    with pytest.raises(ValueError, match=r"reference must be one of the panels .* got 'noisy'"):
        charts.curves_chart(panels, "t", reference="noisy")


def test_the_levels_chart_is_the_exact_law_of_x_tilde():
    st = Settings(family="relu", x0=0.0)
    levels, e = model.level_view(st)
    spec = _spec(charts.levels_chart(levels, 0.0, e, "relu"))
    values = spec["data"]["values"]
    assert sum(v["p"] for v in values) == pytest.approx(1.0, abs=1e-6)
    assert sum(v["p"] for v in values if v["level"] > 0) == pytest.approx(0.25, abs=1e-6)  # SPEC: e = 0.25
    assert "e(x) = 0.25" in spec["vconcat"][1]["title"]["text"]


def test_chart_text_is_readable():
    spec = _spec(charts.curves_chart(model.curves(Settings(), points=201), "t"))
    config = spec["config"]
    assert min(config["axis"]["labelFontSize"], config["axis"]["titleFontSize"], config["legend"]["labelFontSize"],
               config["title"]["subtitleFontSize"]) >= 12


def test_numbers_that_are_not_finite_are_left_out_and_the_header_prints_sigma_with_4_digits():
    exact = model.error_curve(Settings(family="relu", window=1.0))
    exact.loc[exact.index[:3], "mean_abs_error"] = [math.nan, math.inf, 0.0]
    spec = _spec(charts.error_chart(exact, model.empty_errors(), "e", 1.0))  # valid JSON: no NaN, no Infinity
    assert all(p["e"] is not None and p["e"] > 0 for v in _layers(spec) for p in v["data"]["values"])
    text = model.chain_text(Settings().chain)
    assert text.startswith("Gaussian(sigma=0.002896, leakage=0.5, precision=256) -> Clamp(lo=-1, hi=1)")
    assert "0.0028957" not in text
