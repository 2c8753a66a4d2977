"""A damaged kernel cache heals; listing and clearing the cache."""
import json
import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from contextlib import contextmanager

import pytest

from gradlab.kernels.cache import KernelCacheWarning, cache_info, clear_cache, heal, write_source

INDEX = "m.f-3.py311.nbi"
DATA = "m.f-3.py311.1.nbc"


class Payload:
    """Stands for the Numba objects a data file pickles."""

    def __init__(self, code):
        self.code = code


def entry(tmp_path, index=None, data=None):
    """A module m.py with a Numba-shaped cache: an index (two pickles) and a data file (one)."""
    pycache = tmp_path / "__pycache__"
    pycache.mkdir(exist_ok=True)
    (tmp_path / "m.py").write_text("x = 1\n")
    good_index = pickle.dumps("0.68.1") + pickle.dumps(((1.0, 6), {("sig", "cpu"): DATA}))
    good_data = pickle.dumps((Payload(b"\x7fELF" + bytes(range(256)) * 40), ("float64",)))
    (pycache / INDEX).write_bytes(good_index if index is None else index(good_index))
    (pycache / DATA).write_bytes(good_data if data is None else data(good_data))
    return pycache


def test_a_sound_entry_is_kept_and_read_without_importing_what_it_names(tmp_path, monkeypatch):
    pycache = entry(tmp_path)
    # Real data files name the generated module they belong to; reading must not import it.
    monkeypatch.setattr(Payload, "__module__", "gradlab._generated.k_not_importable")
    with no_warning():
        assert heal(tmp_path, "m") == []
    assert sorted(p.name for p in pycache.iterdir()) == [DATA, INDEX]


@contextmanager
def no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", KernelCacheWarning)
        yield


@pytest.mark.parametrize(
    "damage",
    [
        {"index": lambda b: b[: len(b) // 2]},  # truncated: a full disk, a killed process
        {"index": lambda b: b""},  # empty
        {"index": lambda b: b[:-1]},
        {"index": lambda b: b + b"trailing"},
        {"data": lambda b: b[: len(b) - 100]},
        {"data": lambda b: b""},
        {"data": lambda b: os.urandom(len(b))},  # overwritten
        {"data": lambda b: b"\x80\x05" + os.urandom(200)},
    ],
    ids=["index-half", "index-empty", "index-no-stop", "index-trailing", "data-truncated", "data-empty",
         "data-garbage", "data-garbage-with-header"],
)
def test_a_damaged_entry_is_discarded_with_one_warning(tmp_path, damage):
    pycache = entry(tmp_path, **damage)
    with pytest.warns(KernelCacheWarning, match="damaged kernel cache entry m") as record:
        damaged = heal(tmp_path, "m")
    assert len(record) == 1 and len(str(record[0].message).splitlines()) == 1
    assert [p.name for p in damaged] == [INDEX if "index" in damage else DATA]
    assert list(pycache.iterdir()) == []  # index and data go together


def test_write_source_rewrites_a_damaged_module_and_its_stale_machine_code(tmp_path):
    pycache = entry(tmp_path)
    path = tmp_path / "m.py"
    path.write_bytes(b"\xff\xfe\x00garbage")  # not even UTF-8: read_text() raised UnicodeDecodeError
    with pytest.warns(KernelCacheWarning, match="m.py .*rewritten"):
        write_source(path, "x = 2\n")
    assert path.read_text() == "x = 2\n" and list(pycache.iterdir()) == []
    with no_warning():
        write_source(path, "x = 2\n")  # sound: untouched
        write_source(tmp_path / "new.py", "y = 1\n")  # missing: written, no warning


def test_cache_info_and_clear_touch_only_gradlab_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADLAB_CACHE_DIR", str(tmp_path))
    kernels = tmp_path / "kernels"
    assert cache_info().entries == 0 and not kernels.exists()
    (kernels / "__pycache__").mkdir(parents=True)
    for name, size in [("gradlab_kernel_a.py", 100), ("gradlab_kernel_b.py", 50),
                       ("__pycache__/gradlab_kernel_a.f1-8.py311.nbi", 10),
                       ("__pycache__/gradlab_kernel_a.f1-8.py311.1.nbc", 1000), (".tmp-x.py", 5),
                       ("notes.txt", 7), ("__pycache__/other.f-1.py311.nbi", 3)]:
        (kernels / name).write_bytes(b"x" * size)
    info = cache_info()
    assert (info.path, info.entries, info.files, info.size) == (kernels, 2, 5, 1165)
    assert str(info) == "2 entries, 5 files, 1.1 KiB"
    assert clear_cache() == info
    assert sorted(str(p.relative_to(kernels)) for p in kernels.rglob("*") if p.is_file()) == [
        "__pycache__/other.f-1.py311.nbi", "notes.txt",
    ]
    assert cache_info().files == 0


SCRIPT = textwrap.dedent(
    """
    import json, warnings
    import numpy as np
    import gradlab as gl
    warnings.simplefilter("always")
    xs = np.array([-1.5, -0.25, 0.0, 0.3, 2.0])
    out = {}
    for text in EXPRESSIONS:
        act = gl.activation(text)
        out[text] = [act.f(xs).tolist(), act.df(xs).tolist()]
    print(json.dumps(out))
    """
)
EXPRESSIONS = ["x*tanh(x) + 1/8", "x*sigmoid(x) + 1/8", "where(x > 0.25, x, x/8)", "x*erf(x) + 1/8"]


def _run(cache):
    env = {**os.environ, "GRADLAB_CACHE_DIR": str(cache)}
    code = f"EXPRESSIONS = {EXPRESSIONS!r}\n" + SCRIPT
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def _files(cache, expression, suffix):
    """The cache files of the activation ``expression``: its generated module names it in its docstring."""
    kernels = cache / "kernels"
    [module] = [p for p in kernels.glob("gradlab_kernel_*.py") if f"Activation({expression!r}" in p.read_text()]
    return [module] if suffix == ".py" else sorted((kernels / "__pycache__").glob(f"{module.stem}.*{suffix}"))


def test_later_runs_survive_a_damaged_cache_with_the_same_numbers(tmp_path):
    first = _run(tmp_path)
    assert first.returncode == 0, first.stderr
    expected = json.loads(first.stdout)
    # The damage a full disk or a killed process leaves, one kind per entry (every file of it, so that
    # the files this run loads are among them).
    for index in _files(tmp_path, EXPRESSIONS[0], ".nbi"):
        index.write_bytes(index.read_bytes()[:40])
    for data in _files(tmp_path, EXPRESSIONS[1], ".nbc"):
        data.write_bytes(b"")
    for data in _files(tmp_path, EXPRESSIONS[2], ".nbc"):
        data.write_bytes(os.urandom(data.stat().st_size))
    for module in _files(tmp_path, EXPRESSIONS[3], ".py"):
        module.write_bytes(b"\xff\xfe" + os.urandom(300))

    second = _run(tmp_path)  # before: UnpicklingError, EOFError, UnicodeDecodeError tracebacks
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == expected
    assert "Traceback" not in second.stderr
    assert second.stderr.count("KernelCacheWarning: gradlab: damaged kernel cache entry") == 4

    third = _run(tmp_path)  # rebuilt: quiet again
    assert third.returncode == 0 and json.loads(third.stdout) == expected
    assert "KernelCacheWarning" not in third.stderr
