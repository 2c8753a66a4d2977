"""The sweep cache cannot lie or run code: every stored point is verified on load, and a cache that
cannot be written costs the sweep its resumability, not its result.

The tests find point files by listing the spec's directory (whatever their format), and learn which
file holds which point from an interrupted sweep: the first file is point (0, 0), the second (0, 1).
"""
import os
import pickle
import warnings

import pytest

import gradlab as gl
from gradlab.sweeps.store import SweepCacheWarning

from .test_sweep import SPEC, _csv


class _Stop(Exception):
    pass


def _stop_at(n):
    def progress(done, total):
        if done == n:
            raise _Stop
    return progress


def _points(cache) -> list:
    [spec_dir] = [p for p in cache.iterdir() if p.is_dir()]
    return sorted((p for p in spec_dir.iterdir() if p.name != "spec.json"), key=os.path.getmtime)


@pytest.fixture(scope="module")
def local():
    return gl.sweep(SPEC, cache=False, progress=False)


@pytest.fixture
def first_two(tmp_path):
    """A cache holding points (0, 0) and (0, 1) of SPEC: their files, in that order."""
    with pytest.raises(_Stop):
        gl.sweep(SPEC, cache=tmp_path, progress=_stop_at(1))
    [first] = _points(tmp_path)
    with pytest.raises(_Stop):
        gl.sweep(SPEC, cache=tmp_path, progress=_stop_at(2))
    second = [p for p in _points(tmp_path) if p != first]
    assert len(second) == 1
    return tmp_path, first, second[0]


def _resume(cache):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = gl.sweep(SPEC, cache=cache, progress=False)
    return df, [w for w in caught if issubclass(w.category, UserWarning)]


def test_another_points_table_planted_in_a_point_file_is_recomputed(first_two, local):
    cache, first, second = first_two
    first.write_bytes(second.read_bytes())  # point (0, 1)'s table where (0, 0)'s belongs
    df, caught = _resume(cache)
    assert _csv(df) == _csv(local)  # the old pickle cache returned (0, 1)'s numbers for (0, 0), exit 0
    [warning] = caught
    assert warning.category is SweepCacheWarning
    assert "1 stored point(s)" in str(warning.message) and "its index is [0, 1], this point's is [0, 0]" in str(
        warning.message)
    again, caught = _resume(cache)  # the recomputed point was stored afresh: no warning the next time
    assert _csv(again) == _csv(local) and caught == []


class _Payload:
    """A pickle that runs code when loaded: it creates a directory."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.mark.parametrize("planted", ["code", "an int", "truncated", "empty"])
def test_a_planted_or_damaged_file_is_never_executed_and_is_recomputed(first_two, local, tmp_path_factory, planted):
    cache, first, second = first_two
    marker = tmp_path_factory.mktemp("marker") / "ran"
    data = {
        "code": pickle.dumps(_Payload(marker)),
        "an int": pickle.dumps(5),  # the old cache ended the sweep: "cannot concatenate object of type int"
        "truncated": first.read_bytes()[: len(first.read_bytes()) // 2],
        "empty": b"",
    }[planted]
    first.write_bytes(data)
    second.write_bytes(data)
    df, caught = _resume(cache)
    assert not marker.exists()
    assert _csv(df) == _csv(local)
    [warning] = caught
    assert "2 stored point(s)" in str(warning.message) and "computing them again" in str(warning.message)
    again, caught = _resume(cache)  # recomputed points are stored afresh: they were recomputed at every resume
    assert _csv(again) == _csv(local) and caught == []


def test_a_fifo_in_place_of_a_point_file_is_not_read(first_two, local):
    cache, first, _ = first_two
    first.unlink()
    os.mkfifo(first)  # reading it would wait forever for a writer
    df, [warning] = _resume(cache)
    assert _csv(df) == _csv(local) and "not a regular file" in str(warning.message)


def test_a_cache_that_cannot_be_written_keeps_its_points_and_the_sweep_goes_on(first_two, local, monkeypatch):
    import errno

    import gradlab._io

    cache, first, second = first_two
    stored = {p: p.read_bytes() for p in (first, second)}

    def read_only(target):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(gradlab._io, "_temporary", read_only)
    df, caught = _resume(cache)
    assert _csv(df) == _csv(local)
    [warning] = caught  # once, not once per point
    assert str(warning.message).startswith(f"sweep cache: cannot store points in {first.parent} "
                                           "(Read-only file system); going on without storing them")
    assert "--no-cache" in str(warning.message)
    assert {p: p.read_bytes() for p in _points(cache)} == stored  # the two stored points kept, nothing new


def test_the_command_line_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    import errno

    from gradlab.cli import main
    from gradlab.sweeps import store

    spec = tmp_path / "sweep.toml"
    spec.write_text('query = "gradient_error"\nactivations = "relu"\nx = [0.0, 0.5]\nmethod = "exact"\n')
    monkeypatch.setenv("GRADLAB_CACHE_DIR", str(tmp_path / "cache"))

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "write_atomically", full)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err.splitlines()
    warning = [line for line in err if "sweep cache" in line]
    assert len(warning) == 1 and warning[0].startswith("gradlab sweep: warning: sweep cache: cannot store points in ")
    assert "(No space left on device)" in warning[0] and "--no-cache" in warning[0]
    assert (tmp_path / "out.csv").read_text().count("\n") == 3  # header and two rows


def test_a_change_of_gradlab_code_never_reuses_points(tmp_path, monkeypatch):
    from gradlab.sweeps import spec as spec_module

    spec = {"query": "gradient_error", "activations": ["relu"], "x": [0.0], "method": "exact",
            "chain": {"kind": "analog", "precision": [16, 32]}}
    before = spec_module.load_spec(spec).hash
    gl.sweep(spec, cache=tmp_path, progress=False)
    # The same code: the same key; edited code (another fingerprint): another key, nothing reused.
    assert spec_module.load_spec(spec).hash == before
    monkeypatch.setattr(spec_module, "source_fingerprint", lambda: "edited")
    assert spec_module.load_spec(spec).hash != before
    seen = []
    gl.sweep(spec, cache=tmp_path, progress=lambda done, total: seen.append(done))
    assert seen[0] == 0  # every point computed again
