"""Conventions reach the numbers: kink conventions, sample counts and AnalogVNN's quantizer.

Each expected value is a lattice sum written out by hand from the chain's definition, not a call
into gradlab's engines.
"""
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import norm

import gradlab as gl

P = 256
PAPER = gl.analog(leakage=0.5, precision=P)
SIGMA = PAPER.stages[0].sigma
X = 0.0007  # just right of ReLU's kink: f'(x) = 1, and the level 0 is likely


def relu_error_by_hand(kink: str, x: float = X) -> float:
    """E|f'(x~) - 1| for ReLU at x > 0 under Gaussian -> Quantize(P) (round half toward zero).

    x~ = 0 when |x + n| <= 1/(2P), x~ < 0 below that: levels below 0 cost 1, the level 0 costs
    1 - f'(0), where f'(0) is the convention's value (0, 0, 1, 1/2).
    """
    half = 1 / (2 * P)
    p_neg = norm.cdf((-half - x) / SIGMA)
    p_zero = norm.cdf((half - x) / SIGMA) - p_neg
    df0 = {"autograd": 0.0, "left": 0.0, "right": 1.0, "midpoint": 0.5}[kink]
    return p_neg + p_zero * (1 - df0)


@pytest.mark.parametrize("kink", ["autograd", "left", "right", "midpoint"])
def test_gradient_error_uses_the_activation_object_as_given(kink):
    act = gl.activation("relu", kink=kink)
    df = gl.gradient_error([act], PAPER, [X])
    assert df["kink"].tolist() == [kink]
    assert df["mean_abs_error"].iloc[0] == pytest.approx(relu_error_by_hand(kink), abs=1e-12)
    mc = gl.gradient_error([act], PAPER, [X], method="mc", samples=200_000, seed=1)
    assert mc["kink"].tolist() == [kink]
    assert abs(mc["mean_abs_error"].iloc[0] - relu_error_by_hand(kink)) < 4 * mc["stderr"].iloc[0]


def test_conventions_differ_by_what_their_definitions_say():
    acts = [gl.activation("relu", kink=k) for k in ("autograd", "right", "midpoint")]
    e = gl.gradient_error(acts, PAPER, [X])["mean_abs_error"].to_numpy()
    # right - autograd = P(x~ = 0); midpoint halves it.
    p_zero = norm.cdf((1 / (2 * P) - X) / SIGMA) - norm.cdf((-1 / (2 * P) - X) / SIGMA)
    assert e[0] - e[1] == pytest.approx(p_zero, abs=1e-12)
    assert e[0] - e[2] == pytest.approx(p_zero / 2, abs=1e-12)
    assert gl.gradient_error(acts, PAPER, [X])["activation"].tolist() == [
        "relu", "relu(kink=right)", "relu(kink=midpoint)"
    ]


def test_error_near_zero_keeps_the_conventions_of_activation_and_reference():
    right = gl.activation("relu", kink="right")
    both = gl.error_near_zero(["relu", right], PAPER, width=1 / 256, points=5)
    assert both["activation"].tolist() == ["relu", "relu(kink=right)"]
    assert both["ratio"].iloc[0] > both["ratio"].iloc[1]
    ref = gl.error_near_zero(["gelu"], PAPER, width=1 / 256, points=5, reference=right)
    assert ref["reference"].tolist() == ["relu(kink=right)"]


def test_kink_paper_selects_the_convention_of_the_papers_code():
    assert gl.activation("relu_silu", i=0.5, kink="paper").kink == "right"  # (x >= 0) in its backward
    assert gl.activation("relu_gelu", i=0.5, kink="paper").kink == "autograd"
    assert gl.activation("gelu", kink="paper").kink == "autograd"
    act = gl.activation("relu_silu", i=0.25)
    assert gl.activation(act, kink="paper").kink == "right"
    # The paper's ReLU<->SiLU backward at 0: (1 - i) * 1 + i * silu'(0) = 1 - i/2.
    assert gl.activation(act, kink="paper").df(0.0) == pytest.approx(1 - 0.25 / 2, abs=1e-15)
    assert act.df(0.0) == pytest.approx(0.25 / 2, abs=1e-15)
    with pytest.raises(ValueError, match=r"AnalogVNN's own ReLU gives 1 \(kink='right'\)"):
        gl.activation("relu", kink="paper")
    with pytest.raises(ValueError, match="not one of the paper's activations"):
        gl.activation("x*tanh(x)", kink="paper")
    with pytest.raises(ValueError, match="kink must be one of"):
        gl.activation("relu", kink="up")


def test_step_discontinuity_numeric_form_follows_the_convention():
    w = np.array([0.0, 0.5, 1.0])
    auto = gl.step_discontinuity("relu_silu", w)
    paper = gl.step_discontinuity("relu_silu", w, kink="paper")
    np.testing.assert_allclose(auto["gsd"], paper["gsd"])  # one-sided limits do not care
    assert paper["kink"].tolist() == ["right"] * 3
    # With f'(0) the right limit, f'(h) - f'(0) is only the smooth part's slope: i silu''(0) h = i h / 2.
    np.testing.assert_allclose(paper["numeric"], w * 1e-4 / 2, rtol=1e-3, atol=1e-15)
    np.testing.assert_allclose(auto["numeric"], 1 - w + w * 1e-4 / 2, rtol=1e-3)


def test_a_sample_count_asks_for_sampling():
    df = gl.gradient_error(["relu"], PAPER, [0.0], samples=1000)
    assert df["method"].tolist() == ["mc"] and df["samples"].tolist() == [1000]
    assert gl.gradient_error(["relu"], PAPER, [0.0])["method"].tolist() == ["exact"]
    with pytest.raises(ValueError, match=r"samples=1000 asks for Monte Carlo sampling, but method='exact'"):
        gl.gradient_error(["relu"], PAPER, [0.0], method="exact", samples=1000)
    near = gl.error_near_zero(["relu"], PAPER, width=1 / 64, points=5, samples=2000)
    assert near["method"].tolist() == ["mc"]
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        gl.gradient_error(["relu"], PAPER, [0.0], seed=-1)  # checked even when the engine is exact


def test_error_near_zero_statistic_mean_and_max():
    acts = ["relu", "gelu"]
    xs = np.linspace(-0.25, 0.25, 21)
    e = gl.gradient_error(acts, PAPER, xs).groupby("activation", sort=False)["mean_abs_error"]
    mean = gl.error_near_zero(["relu"], PAPER, width=0.25, points=21)
    top = gl.error_near_zero(["relu"], PAPER, width=0.25, points=21, statistic="max")
    assert mean["ratio"].iloc[0] == pytest.approx(e.mean()["relu"] / e.mean()["gelu"], rel=1e-12)
    assert top["ratio"].iloc[0] == pytest.approx(e.max()["relu"] / e.max()["gelu"], rel=1e-12)
    assert top["statistic"].tolist() == ["max"]
    with pytest.raises(ValueError, match="statistic must be one of 'mean', 'max'"):
        gl.error_near_zero(["relu"], PAPER, statistic="median")


def analogvnn_reduce_precision(v: np.ndarray, precision: int) -> np.ndarray:
    """AnalogVNN's formula, sign(v) ceil(|v P| - 1/2) * (1/P), with 1/P from an integer tensor (float32)."""
    return np.sign(v) * np.ceil(np.abs(v * precision) - 0.5) * float(np.float32(1 / precision))


@pytest.mark.parametrize("precision", [6, 15, 100, 256])
def test_quantize_compat_analogvnn_is_its_formula_bit_for_bit(precision):
    v = np.random.default_rng(precision).uniform(-1.5, 1.5, 200_001)
    v[:7] = [0.0, -0.0, 0.5 / precision, -0.5 / precision, 1.0, -1.0, 7.5 / precision]
    got = gl.chain(gl.Quantize(precision, compat="analogvnn")).apply(v)
    np.testing.assert_array_equal(got, analogvnn_reduce_precision(v, precision))
    formula = np.sign(v) * np.ceil(np.abs(v * precision) - 0.5) / precision
    np.testing.assert_array_equal(gl.chain(gl.Quantize(precision)).apply(v), formula)
    differs = (got != formula).any()
    assert differs == (precision & (precision - 1) != 0)  # powers of two agree, others do not


def test_quantize_compat_reaches_both_engines_at_a_kink():
    """At P = 15, AnalogVNN's top level is 15 * float32(1/15) = 1 + 5e-8: past clipped_relu's bound at 1."""
    act = gl.activation("clipped_relu", lam=1.0, kink="left")  # f'(1) = 1, f'(1 + 5e-8) = 0
    x = 0.95
    chains = {c: gl.analog(0.5, 15, compat=c) for c in ("gradlab", "analogvnn")}
    e = {c: gl.gradient_error([act], ch, [x])["mean_abs_error"].iloc[0] for c, ch in chains.items()}
    sigma = chains["gradlab"].stages[0].sigma
    p_top = norm.sf((14.5 / 15 - x) / sigma)  # x~ = top level, clamp included
    assert e["analogvnn"] - e["gradlab"] == pytest.approx(p_top, abs=1e-12)
    mc = gl.gradient_error([act], chains["analogvnn"], [x], method="mc", samples=200_000, seed=2)
    assert abs(mc["mean_abs_error"].iloc[0] - e["analogvnn"]) < 4 * mc["stderr"].iloc[0]
    assert repr(chains["analogvnn"]).endswith("compat='analogvnn')")
    assert "compat" not in repr(chains["gradlab"])
    with pytest.raises(ValueError, match="Quantize: compat must be one of 'gradlab', 'analogvnn'"):
        gl.Quantize(15, compat="torch")


def test_quantize_compat_matches_torch_when_installed():
    torch = pytest.importorskip("torch")
    v = np.random.default_rng(0).uniform(-1.5, 1.5, 10_001)
    for precision in (6, 15, 256):
        t = torch.tensor(v, dtype=torch.float64)
        p = torch.tensor(precision)  # AnalogVNN's ReducePrecision stores an integer tensor
        ref = (torch.sign(t) * torch.ceil(torch.abs(t * p) - 0.5) * (1 / p)).numpy()
        np.testing.assert_array_equal(gl.chain(gl.Quantize(precision, compat="analogvnn")).apply(v), ref)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "gradlab.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_error_honours_kink_and_samples():
    out = run_cli("error", "relu", "--kink", "right", "--x=0.0007:0.0007:1")
    assert out.returncode == 0, out.stderr
    assert "relu(kink=right)" in out.stdout
    assert f"{relu_error_by_hand('right'):.6f}" in out.stdout
    out = run_cli("error", "relu", "--x=0:0:1", "--samples", "2000")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["2000", "mc"]
    out = run_cli("show", "relu_silu", "i=0.5", "--kink", "paper")
    assert "kink='right'" in out.stdout and "the paper's code: the paper's ReLU<->SiLU class" in out.stdout


def test_product_error_stats_are_the_realizations_of_the_map_by_hand():
    """Realization r draws streams (seed, r, 0|1|2); ReLU's error is 1 where the sign of the product flips."""
    g = np.linspace(-0.5, 0.5, 65)
    stats = gl.product_error_stats(["relu", "gelu"], PAPER, g, g, window=0.25, repeats=3, seed=4)
    inside = np.abs(g) <= 0.25
    for r in range(3):
        a = PAPER.apply(g, seed=(4, r, 0))
        w = PAPER.apply(g, seed=(4, r, 1))
        noisy = PAPER.apply(np.outer(a, w), seed=(4, r, 2))
        err = np.abs((noisy > 0).astype(float) - (np.outer(g, g) > 0))[inside][:, inside]
        row = stats[(stats.activation == "relu") & (stats.realization == r)].iloc[0]
        assert row["mean"] == err.mean() and row["max"] == err.max() == 1.0
        assert row["zero_fraction"] == (err == 0).mean() and row["cells"] == err.size
    one = gl.product_error_map(["relu", "gelu"], PAPER, g, g, repeats=1, seed=4)
    cell = (one["input"].abs() <= 0.25) & (one["weight"].abs() <= 0.25)
    means = one[cell].groupby("activation")["error"].mean()
    first = stats[stats.realization == 0].set_index("activation")["mean"]
    assert means["gelu"] == pytest.approx(first["gelu"], rel=1e-12)
    with pytest.raises(ValueError, match="window must be > 0"):
        gl.product_error_stats("relu", PAPER, g, g, window=0)


def test_paper_reading_of_one_hundred_x():
    """SPEC section 7: in one realization, ReLU/GELU is about 95 by window maxima and about 41 by means."""
    g = np.linspace(-1, 1, 2 * P + 1)
    stats = gl.product_error_stats(["relu", "gelu"], PAPER, g, g, window=0.25, repeats=4, seed=0)
    t = stats.pivot(index="realization", columns="activation", values=["mean", "max"])
    by_max = t["max"]["relu"] / t["max"]["gelu"]
    by_mean = t["mean"]["relu"] / t["mean"]["gelu"]
    assert 75 < by_max.mean() < 120 and 38 < by_mean.mean() < 44
    assert (by_max > 1.8 * by_mean).all()


def test_paper_product_maps_figure_uses_one_realization_and_the_papers_colour_limits():
    from gradlab.figures import PAPER_FIGURES, make_figure

    fig, df = make_figure("product_maps_paper", fast=True)
    assert set(df["repeats"]) == {1} and "product_maps_paper" in PAPER_FIGURES
    from matplotlib.collections import QuadMesh

    maps = [ax for ax in fig.axes if ax.get_title()]  # the colour bars' axes have no title
    meshes = [c for ax in maps for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 4  # whole and zoomed, ReLU and GELU
    limits = sorted({m.get_clim() for m in meshes})
    assert limits == [(0.0, 0.01), (0.0, 1.0)]
    assert "max" in fig._suptitle.get_text() and "mean" in fig._suptitle.get_text()


def test_cli_figures_paper_draws_the_variant_beside(tmp_path):
    out = run_cli("figures", "--only", "product_maps_paper", "--fast", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["product_maps_paper.png"]
    assert "--paper" in run_cli("figures", "--help").stdout


def test_tuple_seeds_differ_when_they_differ_only_by_trailing_zeros():
    chain = gl.chain(gl.Gaussian(sigma=1.0))
    draws = [chain.apply([0.0], seed=s, samples=4).tolist() for s in ((7,), (7, 0), (7, 0, 0), 7)]
    assert all(draws[i] != draws[j] for i in range(4) for j in range(i))
    with pytest.raises(ValueError, match="non-empty tuple"):
        chain.apply([0.0], seed=())
