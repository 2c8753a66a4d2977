"""The tests write into a cache of their own, never into the user's $GRADLAB_CACHE_DIR."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import gradlab as gl
from gradlab._io import cache_home
from gradlab.sweeps.runner import cache_root

ROOT = Path(__file__).resolve().parents[1]


def test_a_sweep_and_a_kernel_land_in_the_test_cache():
    home = cache_home()
    assert Path(tempfile.gettempdir()) in home.resolve().parents or home.is_relative_to(tempfile.gettempdir())
    spec = {"query": "gradient_error", "activations": ["relu", "x*tanh(x) + 0.125*x"], "seed": 0,
            "method": "mc", "samples": 200, "x": [0.0, 0.5], "chain": {"kind": "analog", "leakage": 0.5,
                                                                   "precision": [16, 32]}}
    frame = gl.sweep(spec, progress=False)
    assert len(frame) == 2 * 2 * 2
    assert np.isfinite(frame["mean_abs_error"]).all()
    assert any(cache_root().rglob("*.point.json"))  # the points were kept, in the test cache
    assert any((home / "kernels").rglob("*.py"))  # so was the expression's generated kernel


def test_the_users_cache_is_left_untouched(tmp_path):
    user = tmp_path / "user-cache"
    user.mkdir()
    (user / "mine.txt").write_text("the user's own file")
    before = sorted(p.relative_to(user) for p in user.rglob("*"))
    env = {**os.environ, "GRADLAB_CACHE_DIR": str(user)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_own_cache.py::test_a_sweep_and_a_kernel_land_in_the_test_cache"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr  # 0: collected, ran and passed (5: none collected)
    assert sorted(p.relative_to(user) for p in user.rglob("*")) == before  # nothing added, nothing removed
    assert (user / "mine.txt").read_text() == "the user's own file"
