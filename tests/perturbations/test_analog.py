"""gl.analog builds the analog chain for the API, the command line and the explorer alike."""
import itertools
import subprocess
import sys

import numpy as np
import pytest

import gradlab as gl
from gradlab.cli import build_parser
from gradlab.explore import model

STAGE = {"gaussian": (gl.Gaussian, "sigma"), "uniform": (gl.Uniform, "width"), "laplace": (gl.Laplace, "scale")}


def by_hand(noise, leakage, scale, precision, rounding, clamp, compat="gradlab"):
    """The chain assembled stage by stage, as the command line and the explorer used to."""
    stages = []
    if noise != "none":
        kind, name = STAGE[noise]
        stages.append(kind(**{name: scale}) if scale is not None else kind(leakage=leakage, precision=precision))
    if clamp:
        stages.append(gl.Clamp(-1.0, 1.0))
    stages.append(gl.Quantize(precision, rounding=rounding, compat=compat))
    return gl.chain(stages)


CASES = list(itertools.product(("gaussian", "uniform", "laplace", "none"), (None, 0.02), (16, 256),
                               ("half_toward_zero", "stochastic"), (True, False)))


@pytest.mark.parametrize(("noise", "scale", "precision", "rounding", "clamp"), CASES)
def test_analog_and_make_chain_are_the_hand_built_chain(noise, scale, precision, rounding, clamp):
    want = by_hand(noise, 0.3, scale, precision, rounding, clamp)
    got = gl.analog(0.3, precision, noise=noise, scale=scale, clamp=clamp, rounding=rounding)
    assert got == want
    assert model.make_chain(noise, 0.3, scale, precision, rounding, clamp) == want


def test_seeded_draws_are_identical():
    x = np.linspace(-1.2, 1.2, 41)
    want = by_hand("laplace", 0.3, None, 16, "stochastic", True).apply(x, seed=7, samples=64)
    got = model.make_chain("laplace", 0.3, None, 16, "stochastic", True).apply(x, seed=7, samples=64)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("argv", "noise", "clamp", "rounding"), [
    ([], "gaussian", True, "half_toward_zero"),
    (["--noise", "uniform", "--no-clamp", "--rounding", "half_even"], "uniform", False, "half_even"),
    (["--noise", "none"], "none", True, "half_toward_zero"),
])
def test_the_command_lines_chain_is_analogs(argv, noise, clamp, rounding, capsys):
    args = build_parser().parse_args(["error", "relu", "--x=0:0:1", "--method", "exact", "--leakage", "0.3",
                                      "--precision", "16", *argv])
    args.run(args)
    printed = capsys.readouterr().out.splitlines()[0]
    assert printed == f"chain: {by_hand(noise, 0.3, None, 16.0, rounding, clamp)!r}"  # --precision is a float


def test_command_line_noise_choice_gives_the_closed_form():
    # ReLU at x = 0 (autograd f'(0) = 0): wrong exactly when the noise lifts x~ to a level > 0,
    # P(n > 1/(2P)) = leakage / 2 for any symmetric noise = 0.15.
    out = subprocess.run([sys.executable, "-m", "gradlab.cli", "error", "relu", "--x=0:0:1", "--method", "exact",
                          "--noise", "laplace", "--leakage", "0.3"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Laplace(scale=" in out.stdout and " 0.15 " in out.stdout.replace("0.150000", "0.15")


def test_bad_noise_and_clamp_are_refused_naming_them():
    with pytest.raises(ValueError, match="noise must be one of 'gaussian', 'uniform', 'laplace', 'none', got 'pink'"):
        gl.analog(noise="pink")
    with pytest.raises(ValueError, match=r"clamp must be a pair \(lo, hi\) or None / False .*got 'on'"):
        gl.analog(clamp="on")
    with pytest.raises(ValueError, match="Laplace: scale must be >= 0, got -0.1"):
        gl.analog(noise="laplace", scale=-0.1)
