"""Sweeps: the same bytes here, on Dask and resumed; a cache keyed by the spec; bad specs refused up front.

Each point is checked against the query called directly with the seed the sweep documents,
(spec seed, *point index): the runner adds axes and order, never numbers of its own.
"""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import gradlab as gl
from gradlab.perturbations.chain import seed_of
from gradlab.sweeps import load_spec

#: The issue's spec, small: 2 x 2 points, 3 activations, 5 inputs.
SPEC = {
    "query": "gradient_error",
    "activations": ["relu", "gelu", "relu_gelu(i=0.5)"],
    "method": "mc",
    "samples": 2000,
    "seed": 0,
    "x": {"start": -0.05, "stop": 0.05, "num": 5},
    "chain": {"kind": "analog", "leakage": [0.1, 0.5], "precision": [16, 256]},
}

TOML = """\
query = "gradient_error"
activations = ["relu", "gelu", "relu_gelu(i=0.5)"]
method = "mc"
samples = 2000
seed = 0
x = { start = -0.05, stop = 0.05, num = 5 }
[chain]
kind = "analog"
leakage = [0.1, 0.5]
precision = [16, 256]
"""


@pytest.fixture(scope="module")
def local():
    return gl.sweep(SPEC, cache=False, progress=False)


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def test_one_row_per_point_activation_and_x_with_the_axes_first(local):
    assert list(local.columns[:3]) == ["leakage", "precision", "activation"]
    assert len(local) == 2 * 2 * 3 * 5
    counts = local.groupby(["leakage", "precision", "activation", "x"]).size()
    assert len(counts) == 60 and (counts == 1).all()
    assert local["activation"].unique().tolist() == ["relu", "gelu", "relu_gelu(i=0.5)"]
    assert local["samples"].eq(2000).all() and local["method"].eq("mc").all()


def test_each_point_is_the_query_called_with_its_seed_tuple(local):
    acts = ["relu", "gelu", gl.activation("relu_gelu", i=0.5)]
    x = np.linspace(-0.05, 0.05, 5)
    for (i, leakage), (j, precision) in [((0, 0.1), (0, 16)), ((1, 0.5), (1, 256)), ((1, 0.5), (0, 16))]:
        direct = gl.gradient_error(acts, gl.analog(leakage, precision), x, method="mc", samples=2000, seed=(0, i, j))
        point = local[(local["leakage"] == leakage) & (local["precision"] == precision)]
        got = point.drop(columns=["leakage", "precision"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, direct[got.columns], check_exact=True)


def test_a_toml_file_and_its_dict_are_one_spec(tmp_path, local):
    path = tmp_path / "sweep.toml"
    path.write_text(TOML)
    assert load_spec(path).hash == load_spec(SPEC).hash
    reordered = {**dict(reversed(SPEC.items())), "chain": {"precision": [16.0, 256.0], "leakage": [0.1, 0.5]}}
    assert load_spec(reordered).hash == load_spec(SPEC).hash  # key order and 16 vs 16.0 change nothing


def test_a_toml_file_with_a_byte_order_mark_is_the_same_spec(tmp_path):
    # Some editors write one; it was refused as "Invalid statement".
    path = tmp_path / "sweep.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TOML.encode())
    assert load_spec(path).hash == load_spec(SPEC).hash
    path.write_bytes(b"\xff\xfe" + TOML.encode("utf-16-le"))
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        load_spec(path)


def test_the_readme_example_is_the_issue_spec(tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    (toml,) = re.findall(r"```toml\n(.*?)```", readme, re.S)
    path = tmp_path / "sweep.toml"
    path.write_text(toml)
    spec = load_spec(path)
    assert spec.points == 4 and [a.name for a in spec.axes] == ["leakage", "precision"]
    assert spec.hash == load_spec({**SPEC, "samples": 20000, "x": {"start": -0.05, "stop": 0.05, "num": 11}}).hash


class _Stop(Exception):
    pass


def test_an_interrupted_sweep_resumes_to_the_same_bytes(tmp_path, local):
    def stop_after_two(done, total):
        if done == 2:
            raise _Stop

    with pytest.raises(_Stop):
        gl.sweep(SPEC, cache=tmp_path, progress=stop_after_two)
    points = list(tmp_path.glob("*/*.point.json"))
    assert len(points) == 2
    seen = []
    resumed = gl.sweep(SPEC, cache=tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (2, 4) and seen[-1] == (4, 4) and len(seen) == 3  # two points loaded, two computed
    assert resumed.equals(local) and _csv(resumed) == _csv(local)
    # A lost point (a cache entry deleted) is computed again, to the same bytes.
    points[0].unlink()
    again = gl.sweep(SPEC, cache=tmp_path, progress=False)
    assert _csv(again) == _csv(local)


def test_a_changed_spec_never_reuses_stale_points(tmp_path, local):
    gl.sweep(SPEC, cache=tmp_path, progress=False)
    changed = {**SPEC, "samples": 4000}
    seen = []
    df = gl.sweep(changed, cache=tmp_path, progress=lambda done, total: seen.append(done))
    assert seen[0] == 0  # nothing reused
    assert len(list(tmp_path.iterdir())) == 2  # one directory per spec hash
    assert df["samples"].eq(4000).all() and not df["mean_abs_error"].equals(local["mean_abs_error"])


def test_the_same_bytes_on_a_two_worker_local_cluster(tmp_path, local):
    pytest.importorskip("distributed")
    # Batches of 3 points and 1 on two worker processes; every point is in the cache afterwards.
    on_dask = gl.sweep(SPEC, client=2, cache=tmp_path, progress=False, batch=3)
    assert on_dask.equals(local) and _csv(on_dask) == _csv(local)
    assert len(list(tmp_path.glob("*/*.point.json"))) == 4


def test_a_worker_stores_each_point_as_it_finishes(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from gradlab.sweeps import runner

    spec = load_spec(SPEC)
    real = runner.run_point

    def dies_at_the_third(s, index):
        if index == (1, 0):
            raise MemoryError("the worker died")
        return real(s, index)

    monkeypatch.setattr(runner, "run_point", dies_at_the_third)
    with pytest.raises(MemoryError):
        runner._run_batch(spec, [(0, 0), (0, 1), (1, 0), (1, 1)], str(tmp_path), {})
    assert len(list(tmp_path.glob("*.point.json"))) == 2  # the two finished before it are kept


def _point(df, **axes):
    mask = np.logical_and.reduce([df[k] == v for k, v in axes.items()])
    return df[mask].drop(columns=list(axes)).reset_index(drop=True)


def test_a_query_column_that_says_otherwise_than_its_axis_is_kept(monkeypatch):
    # The companion ConvNet's rows say depth 6 under a depth axis of 2: the row is about a 6-layer net.
    real = gl.error_near_zero

    def fixed_samples(*args, **kwargs):
        frame = real(*args, **kwargs)
        return frame.assign(samples=1000 if kwargs["samples"] == 4000 else kwargs["samples"])

    monkeypatch.setattr(gl, "error_near_zero", fixed_samples)
    df = gl.sweep({"query": "error_near_zero", "activations": ["relu"], "width": [1 / 64], "points": 5,
                   "samples": [2000, 4000], "chain": {"leakage": 0.5}}, cache=False, progress=False)
    assert list(df.columns).count("samples") == 1 and df.columns[0] == "samples"
    assert df["samples"].tolist() == [2000, 1000]  # the axis value where it agrees, the query's where not


def test_every_query_can_be_swept():
    chain = {"leakage": [0.1, 0.5]}
    near = gl.sweep({"query": "error_near_zero", "activations": ["relu"], "width": [1 / 64, 1 / 4], "points": 5,
                     "samples": [2000, 4000], "chain": chain}, cache=False, progress=False)
    assert list(near.columns[:2]) == ["leakage", "samples"] and len(near) == 2 * 2 * 2
    direct = gl.error_near_zero("relu", gl.analog(0.5), width=[1 / 64, 1 / 4], points=5, samples=4000, seed=(0, 1, 1))
    pd.testing.assert_frame_equal(_point(near, leakage=0.5, samples=4000), direct, check_exact=True)

    stats = gl.sweep({"query": "product_error_stats", "activations": ["relu", "gelu"], "repeats": 2, "seed": 3,
                      "inputs": {"start": -1, "stop": 1, "num": 9}, "weights": [-0.25, 0.0, 0.25],
                      "chain": {"clamp": [[-1, 1], False]}}, cache=False, progress=False)
    assert stats["clamp"].unique().tolist() == ["(-1.0, 1.0)", "none"] and len(stats) == 2 * 2 * 2
    direct = gl.product_error_stats(["relu", "gelu"], gl.analog(clamp=None), np.linspace(-1, 1, 9),
                                    [-0.25, 0.0, 0.25], repeats=2, seed=(3, 1))
    pd.testing.assert_frame_equal(_point(stats, clamp="none"), direct, check_exact=True)

    deep = gl.sweep({"query": "depth_error", "activations": ["relu", "gelu"], "depth": [1, 2], "width": [4, 8],
                     "samples": 4}, cache=False, progress=False)
    assert list(deep.columns[:2]) == ["width", "activation"] and len(deep) == 2 * 2 * 2
    seed = int(seed_of((0, 1))) >> 1  # integer seeds: the tuple's hash
    direct = gl.depth_error(["relu", "gelu"], gl.analog(), depth=[1, 2], width=8, samples=4, seed=seed)
    pd.testing.assert_frame_equal(_point(deep, width=8), direct.drop(columns="width"), check_exact=True)


def test_train_noisy_runs_each_activation_of_a_point():
    pytest.importorskip("torch")  # the torch lab's query
    pytest.importorskip("sklearn")
    spec = {"query": "train_noisy", "activations": ["relu_gelu(i=0)", "relu_gelu(i=1)"], "epochs": 1, "hidden": 8,
            "chain": {"clamp": False, "precision": [4, 16]}}
    df = gl.sweep(spec, cache=False, progress=False)
    assert list(df.columns[:1]) == ["precision"] and len(df) == 2 * 2  # one epoch per activation and point
    seed = int(seed_of((0, 1))) >> 1
    direct = gl.train_noisy(gl.activation("relu_gelu", i=1), gl.analog(precision=16.0, clamp=None), hidden=8,
                            epochs=1, seed=seed)
    got = _point(df, precision=16.0)
    pd.testing.assert_frame_equal(got.iloc[[1]].reset_index(drop=True), direct[got.columns], check_exact=True)


def test_replicates_are_an_axis_of_independent_seeds():
    spec = {**SPEC, "replicates": 3, "x": [0.0], "activations": ["relu"],
            "chain": {"leakage": [0.1, 0.5], "precision": 256}}
    df = gl.sweep(spec, cache=False, progress=False)
    assert df["replicate"].tolist() == [0, 1, 2] * 2 and list(df.columns[:2]) == ["leakage", "replicate"]
    for r in range(3):  # replicate r of leakage point l draws seed (seed, l, r)
        direct = gl.gradient_error(["relu"], gl.analog(0.1, 256.0), [0.0], method="mc", samples=SPEC["samples"],
                                   seed=(SPEC["seed"], 0, r))
        assert df[(df.leakage == 0.1) & (df.replicate == r)]["mean_abs_error"].iloc[0] == direct["mean_abs_error"][0]
    assert df[df.leakage == 0.1]["mean_abs_error"].nunique() == 3
    with pytest.raises(ValueError, match="replicates must be an integer >= 1"):
        gl.sweep({**spec, "replicates": 0}, cache=False, progress=False)


@pytest.mark.parametrize("change, words", [
    ({"query": "gradient_eror"}, ["query must be one of", "'gradient_error'", "did you mean"]),
    ({"samplez": 10}, ["unknown key 'samplez'", "did you mean 'samples'", "allowed: query, activations"]),
    ({"samples": []}, ["samples is an empty list", "at least one value"]),
    ({"samples": "2000"}, ["samples must be an integer", "got '2000'"]),
    ({"samples": [2000, 2.5]}, ["samples must be an integer", "got 2.5"]),
    ({"x": {"start": 0, "stop": 1}}, ["x needs start, stop and num", "missing num"]),
    ({"x": []}, ["x is an empty list"]),
    ({"activations": []}, ["activations is an empty list"]),
    ({"activations": ["rleu"]}, ["activations:", "rleu"]),
    ({"method": "mcc"}, ["method must be one of", "'mc'"]),
    ({"seed": -1}, ["seed must be an integer >= 0"]),
    ({"chain": {"kind": "digital"}}, ["chain.kind must be one of 'analog'"]),
    ({"chain": {"leakage": [0.5, 2.0]}}, ["[chain] {'leakage': 2.0}", "leakage must lie in (0, 1)"]),
    ({"chain": {"sigma": 0.1}}, ["unknown key 'sigma' in [chain]", "allowed: kind, leakage, precision"]),
    ({"chain": {"clamp": [[-1, 1], "x"]}}, ["clamp must be a pair [lo, hi] or false"]),
])
def test_bad_specs_are_refused_before_any_work(tmp_path, change, words):
    spec = {**SPEC, **change}
    calls = []
    with pytest.raises(ValueError) as info:
        gl.sweep(spec, cache=tmp_path, progress=lambda *a: calls.append(a))
    message = str(info.value)
    assert message.startswith("sweep spec: ")
    for word in words:
        assert word in message, message
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_missing_keys_and_bad_arguments_are_named():
    no_x = {k: v for k, v in SPEC.items() if k != "x"}
    with pytest.raises(ValueError, match="the key 'x' is missing; query 'gradient_error' needs it"):
        gl.sweep(no_x, progress=False)
    with pytest.raises(ValueError, match="client must be None, a dask Client"):
        gl.sweep(SPEC, client=0, progress=False)
    with pytest.raises(ValueError, match="does not exist"):
        gl.sweep("no/such/sweep.toml", progress=False)


def test_command_line_writes_the_same_table(tmp_path, local):
    spec = tmp_path / "sweep.toml"
    spec.write_text(TOML)
    out = tmp_path / "results.csv"
    run = subprocess.run([sys.executable, "-m", "gradlab.cli", "sweep", str(spec), "--out", str(out), "--no-cache"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "wrote 60 rows" in run.stdout and "4/4 points" in run.stderr
    assert out.read_bytes() == _csv(local)
    spec.write_text(TOML.replace("samples = 2000", "samples = [2000, []]"))
    run = subprocess.run([sys.executable, "-m", "gradlab.cli", "sweep", str(spec), "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0
    assert "gradlab sweep: sweep spec: samples must be an integer" in run.stderr
