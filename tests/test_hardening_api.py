"""The second hostile probe's public-API reproducers (issue 24, sections 3 and 4; issue 25, section 3): each
refused with the parameter, the value and what is allowed, before any allocation or work; long chains supported."""
import subprocess
import sys
import time

import numpy as np
import pytest

import gradlab as gl

CHAIN = gl.analog(0.5, 256)


@pytest.mark.parametrize("call, message", [
    (lambda: gl.Gaussian(sigma=10**400), "Gaussian: sigma must be a finite real number (at most about 1.8e308), "
     "got an integer of about 10**400"),
    (lambda: gl.analog(leakage=10**400), "Gaussian: leakage must be a finite real number (at most about 1.8e308), "
     "got an integer of about 10**400"),
    (lambda: gl.set_budget(memory=10**400), "memory must be a finite real number (at most about 1.8e308), "
     "got an integer of about 10**400"),
    (lambda: gl.Gaussian(sigma=5e-324), "Gaussian: sigma must be 0 or >= 1e-300, got 5e-324"),
    (lambda: gl.Laplace(scale=5e-324), "Laplace: scale must be 0 or >= 1e-300, got 5e-324"),  # exact: OverflowError
    (lambda: gl.error_near_zero("relu", CHAIN, width=10**400), "width must be a finite real number (at most about "
     "1.8e308), got an integer of about 10**400"),  # the 401 digits were printed
])
def test_huge_and_subnormal_numbers_get_the_parameters_own_message(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


@pytest.mark.parametrize("call, message", [
    (lambda: gl.train_modes("relu", train=None), "train must be one of 'clean', 'qat', 'noisy' or a list of them, "
     "got None"),
    (lambda: gl.noise_tolerance(activations=gl.activation("relu")), "activations must be names or expressions"),
    (lambda: gl.chain(None), "chain takes stages (Gaussian, Clamp, ...) or one list of them, got None"),
    (lambda: gl.gradient_error({"relu": 1}, CHAIN, [0.0]), "activations must be a name, an Activation or a list of "
     "them, not a dict"),
    (lambda: gl.gradient_error("relu", CHAIN, ["0.1"]), "x must be a number or a 1-D sequence of numbers, got "
     "strings ['0.1']"),
    (lambda: gl.depth_error("relu", CHAIN, depth=[True]), "depth must be an integer, got True"),
    (lambda: CHAIN.apply(None), "x must be a number or an array of real numbers, got None"),
    (lambda: gl.activation(5), "activation must be a built-in name, an expression string, an Activation or a "
     "PyTorch callable, got 5"),
    (lambda: gl.BitFlip(total_bits=-5), "BitFlip: total_bits must be an integer >= 2, got -5"),
])
def test_none_scalars_strings_and_booleans_are_refused_by_name(call, message):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    assert str(info.value).startswith(message), str(info.value)


def test_the_x_grid_and_chain_apply_count_against_the_memory_budget_before_allocating():
    old = gl.set_budget(memory=1 << 30)
    try:
        with pytest.raises(ValueError) as info:
            CHAIN.apply(np.broadcast_to(0.0, (10**10,)))  # a view: no memory until apply allocated 74.5 GiB
        assert str(info.value).startswith("Chain.apply to 10000000000 values x 1 sample(s) needs about 149.0 GiB "
                                          "of memory, over the budget of 1.0 GiB")
    finally:
        gl.set_budget(memory=old.memory)
    for args in (["error", "relu", "--x", "0:1:1000000000"], ["audit", "relu", "--derivative", "py:numpy:sign",
                                                               "--x", "0:1:1000000000"]):
        run = subprocess.run([sys.executable, "-m", "gradlab.cli", *args], capture_output=True, text=True,
                             timeout=120, env={**__import__("os").environ, "GRADLAB_MEMORY_BUDGET": "1G"})
        assert run.returncode == 2 and "Traceback" not in run.stderr
        assert run.stderr.endswith("--x with N = 1000000000 points needs about 372.5 GiB of memory, over the budget "
                                   "of 1.0 GiB (raise it with gl.set_budget(memory=...) or $GRADLAB_MEMORY_BUDGET, "
                                   "or ask for less)\n"), run.stderr


def test_integers_beyond_float64_estimates_are_refused_by_name():
    # epochs=10**400 never returned; samples, width, batch, repeats = 10**400 were OverflowErrors in the estimates.
    for call, name in ((lambda v: gl.depth_error("relu", CHAIN, depth=[1], samples=v), "samples"),
                       (lambda v: gl.depth_error("relu", CHAIN, depth=[v]), "depth"),
                       (lambda v: gl.gradient_error("relu", CHAIN, [0.1], samples=v), "samples"),
                       (lambda v: gl.product_error_stats("relu", CHAIN, [0.1], [0.2], repeats=v), "repeats"),
                       (lambda v: gl.train_noisy("relu", None, epochs=v), "epochs")):
        with pytest.raises(ValueError) as info:
            call(10**400)
        assert str(info.value) == f"{name} must be an integer below 1e300 in magnitude, got an integer of about 10**400"
    for spec, message in (({"chain": {"leakage": 10**400}}, "leakage must be a finite number (at most about 1.8e308)"),
                          ({"x": 10**400}, "x must be a finite number (at most about 1.8e308)"),
                          ({"chain": {"clamp": [10**400, 1]}},
                           "clamp must be a pair of finite numbers [lo, hi] or false")):
        with pytest.raises(ValueError) as info:  # OverflowError from the spec's reader (found by fuzz_surfaces.py)
            gl.sweep({"query": "gradient_error", "activations": "relu", "x": [0.0], "chain": {}, **spec}, cache=False,
                     progress=False)
        assert str(info.value).startswith(f"sweep spec: {message}, got an integer of about 10**400"), str(info.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch": 10**8}, "depth=2, hidden=64, batch=100000000 needs about 286.1 GiB of memory"),
    ({"epochs": 10**100}, "epochs=an integer of about 10**100 at depth=2, hidden=64 asks for more than 1.8e+308 "
     "multiply-adds"),  # was 101 digits, and an estimate capped at 10**30 epochs
    ({"hidden": 20000, "batch": 2000}, "depth=2, hidden=20000, batch=2000 needs about 13.8 GiB"),  # 10.7 GB over 75 s
    ({"epochs": 10**9}, "epochs=1000000000 at depth=2, hidden=64 asks for about 4.76e+16 multiply-adds"),  # forever
])
def test_train_noisy_checks_its_memory_and_work_before_training(monkeypatch, kwargs, message):
    pytest.importorskip("torch")
    from gradlab.nn import noisy

    monkeypatch.setattr(noisy, "train_network", lambda *a, **k: pytest.fail("trained before the checks"))
    old = gl.set_budget(memory=4 << 30, samples=1e11)
    try:
        with pytest.raises(ValueError) as info:
            gl.train_noisy("relu", None, **kwargs)
    finally:
        gl.set_budget(memory=old.memory, samples=old.samples)
    assert str(info.value).startswith(message)
    assert "over the budget of" in str(info.value)


def test_a_long_chain_runs_in_monte_carlo_and_agrees_with_the_exact_engine():
    # 6 x (noise, clamp) then a quantizer: 13 stages (10 or more crashed Numba: "closure with *args").  At these
    # inputs the clamps never bind, so x~ is the quantized sum of six N(0, 0.01^2): one Gaussian of sigma 0.01 sqrt 6.
    long = [gl.Gaussian(sigma=0.01), gl.Clamp(-1, 1)] * 6 + [gl.Quantize(256)]
    merged = [gl.Gaussian(sigma=0.01 * np.sqrt(6)), gl.Clamp(-1, 1), gl.Quantize(256)]
    mc = gl.gradient_error(["relu", "gelu"], long, [0.0, 0.3], method="mc", samples=20000, seed=0)
    exact = gl.gradient_error(["relu", "gelu"], merged, [0.0, 0.3], method="exact")
    ok = mc["stderr"] > 0
    z = (mc["mean_abs_error"] - exact["mean_abs_error"])[ok] / mc["stderr"][ok]
    assert np.all(np.abs(z) < 4), z.tolist()
    # Without a quantizer (the fused f' path) as well: 12 noise stages are one of sigma 0.01 sqrt 12.
    noisy = gl.gradient_error("relu", [gl.Gaussian(sigma=0.01)] * 12, [0.01], method="mc", samples=40000, seed=1)
    one = gl.gradient_error("relu", [gl.Gaussian(sigma=0.01 * np.sqrt(12))], [0.01], method="exact")
    assert abs(noisy["mean_abs_error"][0] - one["mean_abs_error"][0]) < 4 * noisy["stderr"][0]
    with pytest.raises(ValueError, match="a chain holds at most 28 stages in the compiled kernels, got 29"):
        gl.gradient_error("relu", [gl.Clamp(-1, 1)] * 29, [0.0], method="mc", samples=10)


def test_environment_settings_are_named_and_checked():
    for value, message in [("abc", "GRADLAB_SAMPLE_BUDGET must be a number of samples such as 1e11, got 'abc'"),
                           ("0", "GRADLAB_SAMPLE_BUDGET must be a finite number >= 1, got '0'"),
                           ("-1", "GRADLAB_SAMPLE_BUDGET must be a finite number >= 1, got '-1'"),
                           ("nan", "GRADLAB_SAMPLE_BUDGET must be a finite number >= 1, got 'nan'"),
                           ("inf", "GRADLAB_SAMPLE_BUDGET must be a finite number >= 1, got 'inf'")]:
        import os

        from gradlab import _budget

        os.environ["GRADLAB_SAMPLE_BUDGET"] = value
        try:
            with pytest.raises(ValueError) as info:
                _budget._default()
        finally:
            del os.environ["GRADLAB_SAMPLE_BUDGET"]
        assert str(info.value) == message


def test_the_cache_directory_must_be_absolute(monkeypatch, tmp_path):
    from gradlab._io import cache_home

    monkeypatch.setenv("GRADLAB_CACHE_DIR", "")
    assert cache_home() == __import__("pathlib").Path.home() / ".cache" / "gradlab"
    monkeypatch.setenv("GRADLAB_CACHE_DIR", "relative/cache")
    with pytest.raises(ValueError, match=r"^GRADLAB_CACHE_DIR must be an absolute path, got 'relative/cache'"):
        cache_home()
    monkeypatch.setenv("GRADLAB_CACHE_DIR", str(tmp_path))
    assert cache_home() == tmp_path


# --- round two, continued: f' that overflows, work estimated before it starts ------------------------------------
EXP = "exp(800*x)"  # f'(x) = 800 exp(800 x) overflows float64 from x = 0.879


@pytest.mark.parametrize("method", ["exact", "mc"])
def test_a_derivative_that_overflows_is_refused_by_name_never_a_silent_nan(method):
    # Both engines gave NaN means at x = 1 (inf - inf) and inf at x = 0.5 with no word.
    with pytest.raises(ValueError) as info:
        gl.gradient_error(EXP, CHAIN, [0.2, 1.0], method=method)
    assert str(info.value).startswith("f'(x) of exp(800*x) is inf at x = 1.0 (1 of 2 inputs): not a finite number")
    # f'(x) is finite at 0.5, but E|f'(x~)| = 800 E exp(800 x~) is about e^3600 under this noise: beyond float64.
    with pytest.raises(ValueError) as info:
        gl.gradient_error(EXP, gl.Gaussian(sigma=0.1), [0.5], method=method)
    assert str(info.value).startswith("mean_abs_error of exp(800*x) at x = 0.5 under Gaussian(sigma=0.1) is inf: "
                                      "f'(x~) - f'(x), or its square, is beyond float64's range")


def test_large_but_finite_errors_of_such_a_derivative_agree_between_the_engines():
    exact = gl.gradient_error(EXP, CHAIN, [0.2, 0.3], method="exact")
    mc = gl.gradient_error(EXP, CHAIN, [0.2, 0.3], method="mc", samples=20000, seed=0)
    assert exact["mean_abs_error"].iloc[1] == pytest.approx(2.8565e108, rel=1e-4)
    z = (mc["mean_abs_error"] - exact["mean_abs_error"]) / mc["stderr"]
    assert np.all(np.isfinite(z)) and np.all(np.abs(z) < 4), z.tolist()


@pytest.mark.parametrize("call, message", [
    (lambda: gl.step_discontinuity(i=np.linspace(0, 1, 10**5)),  # about 50 minutes before
     "step_discontinuity at 100000 values of i would take about 83.3 min, over the work budget of about 21.7 min"),
    (lambda: gl.effective_precision(np.linspace(1, 2, 10**5)),
     "effective_precision at 100000 values of s would take about 83.3 min, over the work budget"),
    (lambda: gl.gradient_error(["relu", "gelu"], gl.chain(gl.Laplace(scale=0.1), gl.Clamp()), np.linspace(-1, 1, 10**6),
                               method="exact"),  # 21-26 minutes before
     "the exact engine at 1000000 inputs x 2 activation(s) under Laplace(scale=0.1) -> Clamp(lo=-1.0, hi=1.0) would "
     "take about 26.7 min, over the work budget of about 21.7 min (the sample budget of 1e+11 at 13 ns a sample"),
])
def test_work_without_samples_is_estimated_and_refused_before_it_starts(call, message):
    old = gl.set_budget(samples=1e11)
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError) as info:
            call()
    finally:
        gl.set_budget(samples=old.samples)
    assert time.perf_counter() - start < 1
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize("value", ["0", "-1", "abc", ""])
def test_a_bad_numba_thread_count_is_named(monkeypatch, value):
    from gradlab.kernels import jit

    monkeypatch.setenv("NUMBA_NUM_THREADS", value)
    with pytest.raises(ValueError) as info:
        jit._check_thread_setting()
    assert str(info.value) == ("NUMBA_NUM_THREADS must be a whole number of threads >= 1 (or unset: one per core), "
                               f"got {value!r}")
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    jit._check_thread_setting()


def test_numba_thread_count_zero_on_the_command_line_is_one_line_not_a_traceback():
    import os

    run = subprocess.run([sys.executable, "-m", "gradlab.cli", "error", "relu", "--x", "0:1:2", "--samples", "100"],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "NUMBA_NUM_THREADS": "0"})
    assert run.returncode == 2 and run.stderr == ("gradlab error: NUMBA_NUM_THREADS must be a whole number of threads "
                                                  ">= 1 (or unset: one per core), got '0'\n")


def test_a_progress_that_is_not_a_switch_or_a_callable_is_refused_before_any_work(tmp_path):
    pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"^progress must be True, False or a callable progress\(done, total\), "
                                        "got 'yes'$"):
        gl.noise_tolerance(progress="yes", cache=False)  # ran the 10 points (38 s) with a bar
    with pytest.raises(TypeError, match="got 'yes'"):
        gl.sweep({"query": "gradient_error", "activations": "relu", "x": [0.0], "chain": {}}, cache=tmp_path,
                 progress="yes")
    assert list(tmp_path.iterdir()) == []


def test_networks_with_a_zero_clean_gradient_are_counted_in_a_warning():
    # width=1: at depth 16 every ReLU network is dead; the NaN columns came without a word.
    with pytest.warns(RuntimeWarning) as caught:
        df = gl.depth_error("relu", CHAIN, depth=[1, 16], width=1, samples=8, batch=2)
    [warning] = caught
    message = str(warning.message)
    assert "the clean input gradient is 0" in message and "relu at depth=16: gradient 0 in 8 of 8" in message
    assert np.isnan(df["input_rel_error"].iloc[1]) and np.isfinite(df["input_rel_error"].iloc[0])
    with pytest.warns(RuntimeWarning) as caught:  # and f' overflowing: NaN with numpy's "invalid value" only
        df = gl.depth_error(EXP, CHAIN, depth=[2], width=4, samples=4, batch=2)
    [warning] = caught
    assert "exp(800*x) at depth=2: not finite in 4 of 4" in str(warning.message)
    assert np.isnan(df["input_rel_error"].iloc[0])


def test_a_parameter_repeated_on_the_command_line_is_refused(capsys):
    from gradlab.cli import main

    # `gradlab show relu_gelu i=0.2 i=0.9` silently took the last value.
    assert main(["show", "relu_gelu", "i=0.2", "i=0.9"]) == 2
    assert capsys.readouterr().err == ("gradlab show: activation 'relu_gelu(i=0.2, i=0.9)': 'i' is given twice in "
                                       "relu_gelu(...)\n")


def test_the_exact_engine_at_the_smallest_noise_scale_gives_the_closed_form():
    # A subnormal sigma was an OverflowError in the exact engine; it is refused (above), and the smallest scale
    # allowed, 1e-300, is exact: ReLU's error at x = 1e-300 is P(x~ < 0), Phi(-1) under Gaussian noise of sigma
    # 1e-300 and exp(-1) / 2 under Laplace noise of that scale.
    from scipy.stats import norm

    for stage, expected in ((gl.Gaussian(sigma=1e-300), norm.cdf(-1.0)), (gl.Laplace(scale=1e-300), np.exp(-1) / 2)):
        df = gl.gradient_error("relu", stage, [1e-300, 0.3], method="exact")
        assert df["mean_abs_error"].tolist() == [pytest.approx(expected, rel=1e-9), 0.0]


def test_a_grid_whose_span_overflows_is_refused_by_its_own_name(capsys):
    # Found by fuzz_api.py: numpy's overflow warnings, then "x must hold finite numbers, got nan" for a width or --x.
    from gradlab.cli import main

    with pytest.raises(ValueError, match=r"^width must be <= 1e300, got 1e\+308$"):
        gl.error_near_zero("relu", CHAIN, width=1e308, points=5)
    for text in ("-1e308:1e308:3", "nan:1:3", "0:inf:3"):
        assert main(["error", "relu", "--x", text]) == 2
        assert capsys.readouterr().err == ("gradlab error: --x: START and STOP must be finite numbers whose difference "
                                           f"float64 can hold, got {text!r}\n")
