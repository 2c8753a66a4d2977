import numpy as np
import pytest

import gradlab as gl


def test_leakage_parameterizations_match_spec_values():
    assert gl.Gaussian(leakage=0.5, precision=256).sigma == pytest.approx(0.0028957, rel=1e-4)
    assert gl.Gaussian(leakage=0.5, precision=15).sigma == pytest.approx(0.0494201, rel=1e-6)
    assert gl.Laplace(leakage=0.5, precision=15).scale == pytest.approx(0.0480898, rel=1e-6)
    assert gl.Uniform(leakage=0.5, precision=15).width / 2 == pytest.approx(0.0666667, rel=1e-6)
    assert gl.Poisson(leakage=0.5, precision=15).scale == pytest.approx(27.341, abs=1e-3)


def test_gaussian_leakage_is_the_probability_of_leaving_the_bin():
    g = gl.Gaussian(leakage=0.3, precision=8)
    half_bin = 1 / 16
    assert 2 * g.sf(np.array(half_bin)) == pytest.approx(0.3, rel=1e-12)


@pytest.mark.parametrize("precision", [4, 15, 256])
def test_quantize_half_toward_zero_is_the_papers_rule(precision):
    v = np.concatenate([np.linspace(-1.2, 1.2, 2001), (np.arange(-20, 21) + 0.5) / precision])
    expected = np.sign(v) * np.ceil(np.abs(v * precision) - 0.5) / precision
    got = gl.chain(gl.Quantize(precision)).apply(v)
    np.testing.assert_array_equal(got, expected)


def test_quantize_half_even_matches_numpy_round():
    v = np.concatenate([np.linspace(-2, 2, 4001), (np.arange(-9, 10) + 0.5) / 4])
    got = gl.chain(gl.Quantize(4, rounding="half_even")).apply(v)
    np.testing.assert_array_equal(got, np.round(v * 4) / 4)


def test_stochastic_rounding_is_unbiased_and_stays_on_neighbours():
    v = np.array([-0.83, -0.1, 0.0, 0.26, 0.7])
    draws = gl.chain(gl.Quantize(8, rounding="stochastic")).apply(v, seed=3, samples=200_000)
    assert set(np.unique(np.rint(draws * 8))) <= {-7, -6, -1, 0, 2, 3, 5, 6}
    se = draws.std(axis=1) / np.sqrt(draws.shape[1])
    assert np.all(np.abs(draws.mean(axis=1) - v) < 4 * se + 1e-15)


def _bits(codes, total):
    return ((codes[..., None] >> np.arange(total)) & 1).astype(np.int8)


def test_fixed_point_bitflip_rate_matches_ber():
    ber, total, frac = 0.01, 12, 10
    v = np.linspace(-1.5, 1.5, 301)
    out = gl.chain(gl.BitFlip(ber, total_bits=total, frac_bits=frac)).apply(v, seed=1, samples=2000)
    clean = np.clip(np.floor(v * 2**frac + 0.5), -(2 ** (total - 1)), 2 ** (total - 1) - 1).astype(np.int64)
    noisy = np.rint(out * 2**frac).astype(np.int64)
    mask = (1 << total) - 1
    flips = _bits((clean[:, None] & mask) ^ (noisy & mask), total)
    n = flips.size
    assert abs(flips.mean() - ber) < 4 * np.sqrt(ber * (1 - ber) / n)


def test_float32_bitflip_rate_matches_ber_even_for_few_values():
    ber = 0.02
    v = np.array([0.3, -0.7])
    out = gl.chain(gl.BitFlip(ber, format="float32")).apply(v, seed=2, samples=20000)
    clean = v.astype(np.float32).view(np.uint32).astype(np.int64)
    noisy = out.astype(np.float32).view(np.uint32).astype(np.int64)
    flips = _bits(clean[:, None] ^ noisy, 32)
    assert abs(flips.mean() - ber) < 4 * np.sqrt(ber * (1 - ber) / flips.size)


def test_poisson_shot_noise_has_poisson_moments():
    k = gl.Poisson(scale=2, precision=10).rate
    out = gl.chain(gl.Poisson(scale=2, precision=10)).apply(np.array([0.6, -0.25]), seed=4, samples=100_000)
    counts = np.abs(out) * k
    np.testing.assert_allclose(counts.mean(1), [0.6 * k, 0.25 * k], rtol=0.01)
    np.testing.assert_allclose(counts.var(1), [0.6 * k, 0.25 * k], rtol=0.03)


def test_noise_moments():
    x = np.zeros(1)
    g = gl.chain(gl.Gaussian(sigma=0.1)).apply(x, seed=5, samples=400_000)[0]
    lap = gl.chain(gl.Laplace(scale=0.1)).apply(x, seed=5, samples=400_000)[0]
    uni = gl.chain(gl.Uniform(width=0.2)).apply(x, seed=5, samples=400_000)[0]
    assert g.std() == pytest.approx(0.1, rel=0.01)
    assert np.abs(lap).mean() == pytest.approx(0.1, rel=0.01)
    assert uni.min() >= -0.1 and uni.max() <= 0.1 and uni.var() == pytest.approx(0.04 / 12, rel=0.01)


def test_same_seed_same_values_other_seed_other_values():
    ch = gl.analog(0.5, 64)
    x = np.linspace(-1, 1, 11)
    a = ch.apply(x, seed=7, samples=50)
    np.testing.assert_array_equal(a, ch.apply(x, seed=7, samples=50))
    assert not np.array_equal(a, ch.apply(x, seed=8, samples=50))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: gl.Gaussian(sigma=-1), r"Gaussian: sigma must be >= 0, got -1"),
        (lambda: gl.Gaussian(leakage=1.5, precision=8), r"Gaussian: leakage must lie in \(0, 1\), got 1.5"),
        (lambda: gl.Gaussian(leakage=0.5), "give sigma, or both leakage and precision"),
        (lambda: gl.Gaussian(sigma=0.1, leakage=0.5, precision=4), "not both"),
        (lambda: gl.Quantize(0), r"Quantize: precision must be > 0, got 0"),
        (lambda: gl.Quantize(8, rounding="nearest"), "rounding must be one of"),
        (lambda: gl.Clamp(1, -1), "lo must be < hi"),
        (lambda: gl.BitFlip(2.0), r"ber must lie in \[0, 1\]"),
        (lambda: gl.BitFlip(0.1, total_bits=8, frac_bits=8), "frac_bits must be < total_bits"),
        (lambda: gl.Poisson(scale=0.01, precision=4), "scale \\* precision must be >= 1"),
        (lambda: gl.Gaussian(sigma=float("nan")), "finite"),
        (lambda: gl.chain(gl.Gaussian(sigma=0.1), "clamp"), "chain stages must be gradlab stages"),
    ],
)
def test_invalid_parameters_are_refused_clearly(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


def test_repr_shows_what_was_given():
    assert repr(gl.Quantize(64)) == "Quantize(precision=64, rounding='half_toward_zero')"
    assert "->" in repr(gl.analog())
