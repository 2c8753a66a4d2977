"""A sweep refuses before any work, for the whole grid: every point's arguments and budget, the grid's
size, and the spec file itself (its size, its depth, what kind of file it is)."""
import os
import subprocess
import sys
import time

import pytest

import gradlab as gl

from .test_sweep import SPEC

DEPTH = {"query": "depth_error", "activations": "relu", "depth": [1], "samples": 2, "chain": {}}
NEAR = {"query": "error_near_zero", "activations": "relu", "method": "exact", "chain": {}}
TRAIN = {"query": "train_noisy", "activations": "relu", "hidden": 4, "chain": {}}


@pytest.fixture(autouse=True)
def default_samples_budget():
    old = gl.set_budget(samples=1e11)
    yield
    gl.set_budget(samples=old.samples)


@pytest.mark.parametrize("spec, message", [
    ({**SPEC, "samples": [1000, 1]},
     "sweep spec: gradient_error at the point {'leakage': 0.1, 'precision': 16.0, 'samples': 1}: "
     "samples must be an integer >= 2, got 1"),
    ({**DEPTH, "width": [4, 0]}, "sweep spec: depth_error at the point {'width': 0}: width must be an integer >= 1, "
     "got 0"),
    ({**NEAR, "points": [11, 4]}, "sweep spec: error_near_zero at the point {'points': 4}: points must be odd so that "
     "x = 0 is included, got 4"),
    ({**TRAIN, "epochs": [1, 0]}, "sweep spec: train_noisy at the point {'epochs': 0}: epochs must be an integer >= 1, "
     "got 0"),
    ({**SPEC, "samples": [1000, 10**12]},
     "sweep spec: gradient_error at the point {'leakage': 0.1, 'precision': 16.0, 'samples': 1000000000000}: "
     "samples=1000000000000 at 5 inputs asks for 5e+12 random samples in all, over the budget of 1e+11"),
    ({**TRAIN, "epochs": [1, 10**400]}, "sweep spec: train_noisy at the point {'epochs': 1000000"),
])
def test_a_bad_value_at_a_later_point_is_refused_before_the_first_point_runs(tmp_path, spec, message):
    calls = []
    with pytest.raises(ValueError) as info:
        gl.sweep(spec, cache=tmp_path, progress=lambda *a: calls.append(a))
    assert str(info.value).startswith(message), str(info.value)
    assert calls == [] and list(tmp_path.iterdir()) == []  # no point ran, nothing was stored


@pytest.mark.parametrize("change, message", [
    ({"replicates": 10**9}, "sweep spec: a grid of 4e+09 points (axes 2 x 2 x 1000000000 with replicates) needs about"),
    ({"chain": {"leakage": [0.1, 0.2, 0.3] * 3000, "precision": list(range(1, 10_001))}},
     "sweep spec: a grid of 9e+07 points (axes 9000 x 10000 x 1 with replicates) needs about"),
    ({"x": {"start": 0, "stop": 1, "num": 10**9}}, "sweep spec: x.num = 1000000000 needs about 372.5 GiB of memory"),
])
def test_a_grid_too_large_for_the_budget_is_refused_at_once(change, message):
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        gl.sweep({**SPEC, **change}, cache=False, progress=False)
    assert time.perf_counter() - start < 5  # the 9e7-point grid used to take 30 s before anything
    assert str(info.value).startswith(message), str(info.value)
    assert "over the budget of" in str(info.value)


def test_a_spec_nested_a_thousand_deep_is_refused(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text('query = "gradient_error"\nx = ' + "[" * 1000 + "0" + "]" * 1000 + "\n")
    with pytest.raises(ValueError) as info:
        gl.sweep(path, cache=False, progress=False)
    assert str(info.value) == (f"sweep spec {str(path)!r}: tables and lists are nested too deeply; "
                               "a spec needs at most 3")
    nested: dict = {}
    for _ in range(20):
        nested = {"a": nested}
    with pytest.raises(ValueError, match=r"^sweep spec: tables and lists are nested more than 8 deep"):
        gl.sweep({**SPEC, "x": [nested]}, cache=False, progress=False)


def test_only_regular_files_of_bounded_size_are_read(tmp_path):
    with pytest.raises(ValueError, match=r"^sweep spec '/dev/zero' is not a regular file; give the path of a TOML"):
        gl.sweep("/dev/zero", cache=False, progress=False)
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)  # nobody writes: reading it used to wait forever
    with pytest.raises(ValueError, match="is not a regular file"):
        gl.sweep(fifo, cache=False, progress=False)
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    with pytest.raises(ValueError, match="is larger than 1024 KiB; a spec is a few lines"):
        gl.sweep(big, cache=False, progress=False)


def test_keys_and_paths_of_the_wrong_type_are_named():
    with pytest.raises(ValueError) as info:
        gl.sweep({**SPEC, "query": ["gradient_error"]}, cache=False, progress=False)
    assert str(info.value).startswith("sweep spec: query must be one of 'gradient_error', 'error_near_zero'")
    assert str(info.value).endswith("got ['gradient_error']")
    with pytest.raises(ValueError) as info:
        gl.sweep("spec\0.toml", cache=False, progress=False)
    assert str(info.value) == "sweep spec path must be a text path without null bytes, got 'spec\\x00.toml'"


def test_the_command_line_refuses_in_one_line():
    run = subprocess.run([sys.executable, "-m", "gradlab.cli", "sweep", "/dev/zero", "--out", "/tmp/never.csv"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr == ("gradlab sweep: sweep spec '/dev/zero' is not a regular file; give the path of a TOML "
                          "file\n")
