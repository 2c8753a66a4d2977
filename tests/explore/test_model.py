"""The explorer's model against the queries, the compiled kernels, the SPEC's values and closed forms."""
import math

import numpy as np
import pytest

import gradlab as gl
from gradlab.explore import lessons, model
from gradlab.explore.model import Settings

GRID = np.concatenate([np.linspace(-1.5, 1.5, 601), [0.0, 0.5, 1e-300, -1e-300]])


@pytest.mark.parametrize("spec, params", [
    ("relu_gelu", {"i": 0.3}), ("relu_silu", {"i": 0.7}), ("gelu", {"s": 2.5}), ("relu", {}),
    ("clipped_relu", {"lam": 0.5}), ("bounded_relu", {"lam": 0.5}), ("smooth_bounded_relu", {"lam": 0.5, "k": 20}),
    ("max(x, 0) + 0.1*abs(x)", {}), ("where(x > 0, x, 0.1*x)", {}),
])
@pytest.mark.parametrize("kink", ["autograd", "left", "right", "midpoint"])
def test_numpy_evaluation_matches_the_compiled_kernels(spec, params, kink):
    quick = model.explorer_activation(spec, kink, **params)
    compiled = gl.activation(spec, kink=kink, **params)
    assert quick == compiled and quick.label == compiled.label
    np.testing.assert_allclose(quick.f(GRID), compiled.f(GRID), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(quick.df(GRID), compiled.df(GRID), rtol=1e-13, atol=1e-15)
    away = GRID[np.abs(GRID - 0.5) > 1e-9]
    away = away[np.abs(away) > 1e-9]
    np.testing.assert_allclose(quick.d2f(away), compiled.d2f(away), rtol=1e-11, atol=1e-13)
    assert quick.df(0.0) == compiled.df(0.0)  # scalars stay scalars, and the kink value is the convention's


@pytest.mark.parametrize("spec", [
    "exp(x/4)", "log(1 + x*x)", "sqrt(1 + x*x)", "sin(x)", "cos(x)", "sinh(x)", "cosh(x)", "atan(x)", "asinh(x)",
    "erf(x)", "erfc(x)", "abs(x)", "sign(x)*x", "heaviside(x)*x", "min(x, 0)", "sigmoid(x)*x", "Phi(x)*x",
    "phi(x)", "relu(x)", "elu", "softplus", "mish", "hardswish", "gelu_tanh", "sigmoid", "tanh", "relu6", "silu",
])
def test_numpy_evaluation_covers_every_parser_function_and_builtin(spec):
    # Each function the safe parser accepts must print to NumPy/SciPy code with the kernels' values.
    grid = np.concatenate([np.linspace(-3, 3, 301), [0.0, 3.0, 6.0]])
    quick, compiled = model.explorer_activation(spec), gl.activation(spec)
    np.testing.assert_allclose(quick.f(grid), compiled.f(grid), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(quick.df(grid), compiled.df(grid), rtol=1e-12, atol=1e-14)


def test_activations_are_cached_per_value():
    assert model.explorer_activation("relu_gelu", i=0.25) is model.explorer_activation("relu_gelu", i=0.25)
    assert model.explorer_activation("relu_gelu", i=0.25) is not model.explorer_activation("relu_gelu", i=0.3)


@pytest.mark.parametrize("i", [0.0, 0.25, 0.8, 1.0])
def test_gsd_is_one_minus_i(i):
    numbers = model.live_numbers(Settings(family="relu_gelu", i=i))
    assert numbers["gsd"] == pytest.approx(1 - i, abs=1e-15)
    assert numbers["gsd"] == gl.step_discontinuity("relu_gelu", i=[i])["gsd"].iloc[0]
    assert numbers["smoothness"] == ("Cinf" if i == 1 else "C0")


def test_effective_precision_is_the_papers_for_gelu():
    # SPEC: EP(1) = 6.33 bits, EP(3) = 4.74 bits at P = 64.
    ep = gl.effective_precision([1, 3], precision=64)["bits"].to_numpy()
    for s, want in zip((1, 3), ep):
        bits = model.effective_precision_bits(model.explorer_activation("gelu", s=s), 64)
        assert bits == pytest.approx(want, rel=1e-12)
    assert [round(b, 2) for b in ep] == [6.33, 4.74]
    # ReLU's f' changes by 1 at the first level: 0 bits; a linear f never changes: infinitely many.
    assert model.effective_precision_bits(model.explorer_activation("relu"), 64) == 0.0
    assert model.effective_precision_bits(model.explorer_activation("2*x"), 64) == math.inf


def test_level_view_is_the_exact_engines_law_of_x_tilde():
    # SPEC: ReLU at x = 0 under the paper's chain: e = 0.25 exactly (x~ > 0 needs n > 1/512).
    levels, e = model.level_view(Settings(family="relu", x0=0.0))
    assert levels["probability"].sum() == pytest.approx(1.0, abs=1e-15)
    assert levels.loc[levels["level"] > 0, "probability"].sum() == pytest.approx(0.25, abs=1e-15)
    assert e == pytest.approx(0.25, abs=1e-15)
    for st in (Settings(family="relu_gelu", i=0.4, x0=0.003, precision=64, noise="laplace", leakage=0.3),
               Settings(family="gelu", x0=-0.01, noise="uniform", precision=16),
               Settings(family="relu", x0=0.3, noise="none", precision=8, rounding="stochastic")):
        levels, e = model.level_view(st)
        compiled = gl.activation(st.activation.name if st.family != "relu_gelu" else "relu_gelu",
                                 **st.activation.params)
        ref = gl.gradient_error(compiled, st.chain, [st.x0], method="exact")["mean_abs_error"].iloc[0]
        assert e == pytest.approx(ref, rel=1e-12, abs=1e-300)


def test_level_view_says_when_there_is_no_exact_law():
    with pytest.raises(gl.ExactUnsupported):
        model.level_view(Settings(rounding="stochastic"))  # noise then stochastic rounding


def test_error_curve_and_the_ratio_are_the_queries():
    st = Settings(family="relu_gelu", i=0.5, precision=64, window=1 / 32)
    curve = model.error_curve(st)
    ref = gl.gradient_error([gl.activation("relu_gelu", i=0.5), "gelu"], st.chain, np.linspace(-1 / 32, 1 / 32, 201),
                            method="exact")
    np.testing.assert_allclose(curve["mean_abs_error"], ref["mean_abs_error"], rtol=1e-12, atol=1e-300)
    # README: under the paper's chain ReLU / GELU near zero is 197.6, 43.9 and 2.08 at w = 1/512, 1/64, 1/4.
    ratios = [model.live_numbers(Settings(family="relu", window=w))["ratio"] for w in (1 / 512, 1 / 64, 1 / 4)]
    assert [round(r, 1) for r in ratios[:2]] == [197.6, 43.9] and round(ratios[2], 2) == 2.08
    # GELU against itself: ratio 1.
    assert model.live_numbers(Settings(family="gelu"))["ratio"] == 1.0


def test_live_numbers_without_an_exact_engine_say_why():
    numbers = model.live_numbers(Settings(rounding="stochastic"))
    assert math.isnan(numbers["ratio"]) and "stochastic" in numbers["exact_note"].lower()
    assert numbers["gsd"] == 1.0  # the symbolic numbers stay


def test_monte_carlo_points_agree_with_the_exact_curve_and_report_progress():
    st = Settings(family="relu", precision=64, window=1 / 64)
    calls = []
    mc = model.mc_points(st, points=5, samples=20_000, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(k, 5) for k in range(1, 6)]
    exact = gl.gradient_error(["relu", "gelu"], st.chain, np.linspace(-1 / 64, 1 / 64, 5), method="exact")
    both = mc.merge(exact, on=["activation", "x"], suffixes=("_mc", "_exact"))
    assert len(both) == 10
    z = (both["mean_abs_error_mc"] - both["mean_abs_error_exact"]) / both["stderr_mc"]
    assert np.all(np.abs(z) < 4.5)
    again = model.mc_points(st, points=5, samples=20_000)
    assert again["mean_abs_error"].tolist() == mc["mean_abs_error"].tolist()  # seeded


def test_curves_are_the_quantizer_formula():
    st = Settings(family="relu_gelu", i=0.5, precision=6, window=1.0)
    panels = model.curves(st, points=121)
    q = panels[panels["panel"] == "quantized"]
    x = q["x"].to_numpy()
    # The paper's rule: Q(v) = sign(v) ceil(|v P| - 1/2) / P.
    np.testing.assert_array_equal(q["x_input"], np.sign(x) * np.ceil(np.abs(x * 6) - 0.5) / 6)
    np.testing.assert_allclose(q["df"], gl.activation("relu_gelu", i=0.5).df(q["x_input"].to_numpy()), rtol=1e-13)
    assert set(panels["panel"]) == {"clean", "quantized", "noisy + quantized"}
    assert set(model.curves(Settings(noise="none"), points=11)["panel"]) == {"clean", "quantized"}


def test_depth_view_is_the_depth_query():
    st = Settings(family="relu", precision=16)
    calls = []
    df = model.depth_view(st, depths=(1, 3), width=8, samples=8, progress=lambda d, t: calls.append(d))
    ref = gl.depth_error(["relu", "gelu"], st.chain, depth=[1, 3], width=8, samples=8)
    np.testing.assert_allclose(df["input_rel_error"], ref["input_rel_error"], rtol=1e-12)
    assert calls == [1, 2] and np.all(df["input_rel_error_ci95"] > df["input_rel_error_stderr"])


def test_bad_settings_name_the_control():
    with pytest.raises(ValueError, match="family must be one of .*got 'nope'"):
        Settings(family="nope")
    with pytest.raises(ValueError, match=r"window must be a number in \(0, 1\], got 0"):
        Settings(window=0)
    with pytest.raises(ValueError, match="noise must be one of"):
        model.make_chain(noise="pink")
    with pytest.raises(gl.ExpressionError):
        _ = Settings(family="expression", expression="__import__('os')").activation
    with pytest.raises(ValueError, match=r"i must .*1\.5"):
        _ = Settings(family="relu_gelu", i=1.5).activation


def test_lesson_checks():
    ok = lessons.check_kink(model.explorer_activation("max(x, 0)"))
    assert ok.ok and "jumps by 1" in ok.message and ok.mark == "✓"
    assert not lessons.check_kink(model.explorer_activation("x*tanh(log(1 + exp(x)))")).ok
    step = lessons.check_kink(model.explorer_activation("where(x > 0, x + 1, x)"))
    assert not step.ok and "a step" in step.message
    bits = model.effective_precision_bits(model.explorer_activation("gelu", s=3), 16)
    assert not lessons.check_precision(bits).ok
    assert lessons.check_precision(model.effective_precision_bits(model.explorer_activation("gelu", s=1), 64)).ok
    assert lessons.check_gsd(model.live_numbers(Settings(i=0.85))["gsd"]).ok
    assert not lessons.check_gsd(model.live_numbers(Settings(i=0.8))["gsd"]).ok  # 0.2 is not below 0.2
    start = lessons.SECTIONS[2].start
    assert not lessons.check_ratio(model.live_numbers(start)["ratio"]).ok
    import dataclasses

    assert lessons.check_ratio(model.live_numbers(dataclasses.replace(start, window=1 / 512))["ratio"]).ok


def test_depth_check_reads_the_run():
    df = model.depth_view(lessons.SECTIONS[4].start, depths=(1, 8), width=16, samples=32)
    deepest = df[df["depth"] == 8].set_index("activation")["input_rel_error"]
    right = str(deepest.idxmax())
    wrong = ({"relu", "gelu"} - {right}).pop()
    assert lessons.check_depth(right, df).ok and not lessons.check_depth(wrong, df).ok
    assert not lessons.check_depth(right, None).ok and "run the experiment" in lessons.check_depth(right, None).message


def test_the_default_chain_is_the_papers():
    assert model.make_chain() == gl.analog(0.5, 256)
    assert model.make_chain("laplace", 0.3, None, 16, clamp=False) == gl.analog(0.3, 16, noise="laplace", clamp=None)
    assert model.make_chain("gaussian", scale=0.01).stages[0] == gl.Gaussian(sigma=0.01)
    with pytest.raises(ValueError, match="leakage"):
        model.make_chain(leakage=1.5)


def test_the_text_field_takes_the_one_spelling_and_evaluates_without_compiling():
    from gradlab.explore.model import explorer_activation

    act = explorer_activation("relu_gelu(i=0.25)")
    assert act == gl.activation("relu_gelu", i=0.25) and act.evaluation == "numpy"
    # f'(0) of relu_gelu(i) is i/2 (GELU'(0) = 1/2, ReLU'(0) = 0 under autograd).
    assert float(act.df(0.0)) == 0.125
    assert explorer_activation("a*x; a=3").f(np.array([2.0])).tolist() == [6.0]


# --- what the page shows of user text, and how long it may work on it ----------------------------
@pytest.mark.parametrize("typed", ["x+<img src=x onerror=alert(1)>", "__import__('os')", "x*<script>1</script>"])
def test_a_refused_expression_is_shown_as_text_not_html_or_markdown(typed):
    with pytest.raises(ValueError) as info:
        _ = Settings(family="expression", expression=typed).activation
    shown = model.problem_html(info.value)
    assert shown.startswith("<b>ExpressionError</b>: ")
    body = shown.removeprefix("<b>ExpressionError</b>: ")
    assert "<" not in body and ">" not in body and "*" not in body and "_" not in body
    import html

    assert html.unescape(body) == str(info.value)  # the same text, only escaped


def test_the_pages_parse_is_bounded_like_the_apis():
    # Typing x*((1e-300)**64)**64 stalled the explorer's session for more than 50 s.
    import time

    start = time.perf_counter()
    with pytest.raises(ValueError, match="below float64's range"):
        _ = Settings(family="expression", expression="x*((1e-300)**64)**64").activation
    assert time.perf_counter() - start < 5.0


def test_slider_values_are_prepared_and_met_again_as_the_same_key():
    assert model.control_value(0.05 * 3) == 0.15 != 0.05 * 3
    values = model.slider_values(0, 1, 0.05)
    assert len(values) == 21 and values[3] == 0.15 and values[-1] == 1.0
    assert model.prepare("relu_silu", {"i": values[:3]}) == 3
    before = model._explorer_activation.cache_info().hits
    act = model.explorer_activation("relu_silu", i=model.control_value(0.05 * 2))
    assert model._explorer_activation.cache_info().hits == before + 1  # built by prepare, not again
    assert act.gsd == pytest.approx(0.9, abs=1e-15)
    assert model.prepare("relu_silu", {"i": values}, stop=lambda: True) == 0


def test_the_kink_conventions_are_prepared_at_the_defaults():
    assert model.prepare_kinks("relu", ["left", "right"]) == 2
    before = model._explorer_activation.cache_info().hits
    left, right = model.explorer_activation("relu", "left"), model.explorer_activation("relu", "right")
    assert model._explorer_activation.cache_info().hits == before + 2
    assert (left.df(0.0), right.df(0.0)) == (0.0, 1.0)
    assert model.prepare_kinks("relu", ["left"], stop=lambda: True) == 0
