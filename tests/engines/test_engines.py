import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate, stats

import gradlab as gl

PAPER = gl.analog(leakage=0.5, precision=256)


def frame_values(df, column="mean_abs_error"):
    return {(r.activation, r.x): getattr(r, column) for r in df.itertuples()}


def test_exact_reference_values_from_the_spec():
    df = gl.gradient_error(["relu", "gelu"], PAPER, [0.0], method="exact")
    e = frame_values(df)
    assert e[("relu", 0.0)] == pytest.approx(0.25, abs=1e-15)
    assert e[("gelu", 0.0)] == pytest.approx(0.0016948, abs=5e-8)
    assert set(df["method"]) == {"exact"} and set(df["stderr"]) == {0.0}


def noise_pdf(noise):
    """The noise density from scipy.stats: an oracle independent of gradlab's own formulas."""
    if isinstance(noise, gl.Gaussian):
        return stats.norm(scale=noise.sigma).pdf
    if isinstance(noise, gl.Laplace):
        return stats.laplace(scale=noise.scale).pdf
    return stats.uniform(loc=-noise.width / 2, scale=noise.width).pdf


@pytest.mark.parametrize("name", ["relu", "gelu", "silu", "relu6"])
@pytest.mark.parametrize("noise", [gl.Gaussian(sigma=0.05), gl.Laplace(scale=0.04), gl.Uniform(width=0.3)])
def test_exact_continuous_noise_matches_scipy_quad(name, noise):
    act = gl.activation(name)
    xs = np.array([-0.4, -0.01, 0.0, 0.02, 0.3])
    got = gl.gradient_error(act, noise, xs, method="exact")["mean_abs_error"].to_numpy()
    pdf = noise_pdf(noise)
    lo, hi = noise.bounds(0.0, 0.0)
    for x, g in zip(xs, got):
        ref, _ = integrate.quad(
            lambda n, x=x: abs(act.df(x + n) - act.df(x)) * pdf(n),
            lo,
            hi,
            points=sorted({-x, 0.0}),
            limit=400,
            epsabs=1e-13,
        )
        assert g == pytest.approx(ref, abs=2e-9)


def test_exact_clamped_continuous_noise_has_atoms():
    # relu' jumps at 0 and the clamp at 0.05 makes an atom there: compare with a direct sum.
    chain = gl.chain(gl.Gaussian(sigma=0.1), gl.Clamp(-1, 0.05))
    got = gl.gradient_error("relu", chain, [0.0], method="exact")["mean_abs_error"].iloc[0]
    # x~ > 0 happens with probability P(n > 0) (atom at 0.05 included); |1 - 0| each time.
    assert got == pytest.approx(0.5, abs=1e-12)


CASES = [
    (PAPER, np.array([-0.5, -0.002, 0.0, 0.001, 0.004, 0.6])),
    (gl.analog(leakage=0.3, precision=15), np.array([-0.9, -0.03, 0.0, 0.05, 1.0])),
    (gl.analog(leakage=0.5, precision=15, noise="laplace"), np.array([-0.2, 0.0, 0.04])),
    (gl.analog(leakage=0.5, precision=15, noise="uniform", clamp=None), np.array([-0.2, 0.0, 0.04])),
    (
        gl.chain(gl.Quantize(16), gl.Gaussian(sigma=0.03), gl.Quantize(32, rounding="half_even")),
        np.array([-0.1, 0.0, 0.02]),
    ),
    (gl.chain(gl.Gaussian(sigma=0.05)), np.array([-0.1, 0.0, 0.02, 0.5])),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_monte_carlo_agrees_with_exact_within_four_stderr(case):
    chain, xs = CASES[case]
    acts = ["relu", "gelu", gl.activation("relu_silu", i=0.5), "relu6"]
    ex = gl.gradient_error(acts, chain, xs, method="exact")
    mc = gl.gradient_error(acts, chain, xs, method="mc", samples=40_000, seed=11)
    assert set(mc["method"]) == {"mc"}
    for col, se_col in (("mean_abs_error", "stderr"), ("bias", "bias_stderr")):
        diff = np.abs(mc[col].to_numpy() - ex[col].to_numpy())
        se = mc[se_col].to_numpy()
        # Where no sample differed (se = 0) the true value can still be a rare event: one of
        # probability p goes unseen in n samples with probability (1 - p)^n, so allow p ~ 3/n.
        unseen = np.where(se == 0, 3 / 40_000, 0.0)
        assert np.all(diff <= 4 * se + unseen + 1e-12), (col, diff / np.maximum(se, 1e-300))


def test_reported_stderr_is_honest():
    xs = np.array([0.0, 0.002, 0.2])
    runs = [gl.gradient_error(["relu", "gelu"], PAPER, xs, method="mc", samples=4000, seed=s) for s in range(30)]
    values = np.stack([r["mean_abs_error"].to_numpy() for r in runs])
    reported = np.stack([r["stderr"].to_numpy() for r in runs]).mean(0)
    spread = values.std(0, ddof=1)
    keep = reported > 0
    ratio = spread[keep] / reported[keep]
    assert np.all((ratio > 0.6) & (ratio < 1.5)), ratio


def test_apply_gives_exactly_the_samples_the_engine_averages():
    chain = gl.chain(gl.Gaussian(sigma=0.02), gl.BitFlip(0.01, total_bits=10, frac_bits=8))
    xs = np.array([-0.3, 0.0, 0.1])
    mc = gl.gradient_error("gelu", chain, xs, method="mc", samples=3000, seed=9)
    act = gl.activation("gelu")
    samples = chain.apply(xs, seed=9, samples=3000)
    direct = np.abs(act.df(samples) - act.df(xs)[:, None]).mean(1)
    np.testing.assert_allclose(mc["mean_abs_error"].to_numpy(), direct, rtol=1e-12)


def test_stochastic_rounding_chain_uses_lattice_path_and_agrees_with_general_path():
    chain = gl.chain(gl.Gaussian(sigma=0.01), gl.Quantize(64, rounding="stochastic"))
    xs = np.array([-0.05, 0.0, 0.003])
    lattice = gl.gradient_error(["relu", "silu"], chain, xs, method="mc", samples=20_000, seed=1)
    act = gl.activation("relu")
    direct = np.abs(act.df(chain.apply(xs, seed=1, samples=20_000)) - act.df(xs)[:, None]).mean(1)
    np.testing.assert_allclose(lattice["mean_abs_error"].to_numpy()[:3], direct, rtol=1e-12)


def test_seeded_results_are_identical_with_one_or_two_threads():
    code = "\n".join(
        [
            "import numpy as np, gradlab as gl",
            "x = np.linspace(-1, 1, 9)",
            "df = gl.gradient_error(['relu', 'gelu'], gl.analog(0.5, 64), x, method='mc', samples=2000, seed=3)",
            "shot = gl.chain(gl.Gaussian(sigma=0.1), gl.Poisson(scale=3, precision=10))",
            "g = gl.gradient_error('gelu', shot, x[::2], method='mc', samples=500, seed=3)",
            "print(df['mean_abs_error'].to_numpy().tobytes().hex() + g['bias'].to_numpy().tobytes().hex())",
        ]
    )
    outs = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        outs.append(
            subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        )
    assert outs[0] == outs[1] and len(outs[0]) > 100


def test_exact_refuses_chains_it_cannot_do():
    with pytest.raises(gl.ExactUnsupported, match="use method='mc'"):
        gl.gradient_error("relu", gl.chain(gl.Poisson(scale=2, precision=8)), [0.1], method="exact")
    with pytest.raises(gl.ExactUnsupported, match="at most one noise"):
        gl.gradient_error("relu", gl.chain(gl.Gaussian(sigma=0.1), gl.Gaussian(sigma=0.1)), [0.1], method="exact")
    auto = gl.gradient_error("relu", gl.chain(gl.Poisson(scale=2, precision=8)), [0.1], method="auto", samples=100)
    assert set(auto["method"]) == {"mc"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(x=[]), "x must be a non-empty"),
        (dict(x=[0.0, float("nan")]), "x must hold finite numbers"),
        (dict(method="fast"), "method must be one of"),
        (dict(samples=1, method="mc"), "samples must be an integer >= 2"),
        (dict(seed=-1, method="mc"), "seed must be an integer >= 0"),
        (dict(activations=[]), "at least one activation"),
        (dict(chain="analog"), "chain must be a gradlab Chain"),
    ],
)
def test_gradient_error_refuses_bad_input(kwargs, message):
    args = dict(activations="relu", chain=PAPER, x=[0.0])
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        gl.gradient_error(args.pop("activations"), args.pop("chain"), args.pop("x"), **args)


def test_product_map_with_deterministic_chain_matches_numpy():
    chain = gl.chain(gl.Quantize(8))
    a = np.linspace(-1, 1, 17)
    w = np.linspace(-1, 1, 9)

    def q(v):
        return np.sign(v) * np.ceil(np.abs(v * 8) - 0.5) / 8

    m = gl.product_error_map("relu", chain, inputs=a, weights=w, repeats=2, seed=0)
    expected = np.abs((q(np.outer(q(a), q(w))) > 0).astype(float) - (np.outer(a, w) > 0))
    np.testing.assert_array_equal(m["error"].to_numpy().reshape(17, 9), expected)
    assert set(m["stderr"]) == {0.0}


def test_product_map_averages_realizations_with_stderr():
    a = np.linspace(-0.25, 0.25, 33)
    m = gl.product_error_map(["relu", "gelu"], PAPER, inputs=a, weights=a, repeats=8, seed=0)
    relu = m[m.activation == "relu"]["error"].mean()
    gelu = m[m.activation == "gelu"]["error"].mean()
    assert relu > 10 * gelu > 0
    assert (m["stderr"] >= 0).all() and set(m["repeats"]) == {8}
