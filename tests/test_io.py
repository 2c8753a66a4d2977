"""Atomic output: published files get ordinary modes; figures are sharp enough to print."""
import os

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from PIL import Image

import gradlab as gl


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_files_get_the_umask_mode_not_the_private_temporary_one(tmp_path, umask_022):
    table = gl.save_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    fig = plt.figure()
    png = gl.save_figure(fig, tmp_path / "f.png")
    plt.close(fig)
    assert oct(table.stat().st_mode & 0o777) == oct(0o644)
    assert oct(png.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_existing_file_keeps_its_mode(tmp_path, umask_022):
    path = tmp_path / "t.csv"
    path.write_text("old")
    path.chmod(0o640)
    gl.save_table(pd.DataFrame({"a": [1]}), path)
    assert oct(path.stat().st_mode & 0o777) == oct(0o640) and path.read_text().startswith("a")


def test_png_figures_are_written_at_print_resolution(tmp_path):
    fig = plt.figure(figsize=(2, 1))
    path = gl.save_figure(fig, tmp_path / "f.png")
    plt.close(fig)
    dpi = Image.open(path).info["dpi"]
    assert dpi[0] == pytest.approx(200, abs=0.01)
    assert Image.open(path).size[0] >= 2 * 150 * 0.9  # bbox_inches='tight' may trim a little


def test_one_cache_directory_rule_for_kernels_and_sweeps(tmp_path, monkeypatch):
    from pathlib import Path

    from gradlab._io import cache_home
    from gradlab.kernels.cache import cache_dir
    from gradlab.sweeps.runner import cache_root

    monkeypatch.setenv("GRADLAB_CACHE_DIR", str(tmp_path))
    assert cache_home() == tmp_path
    assert cache_dir() == tmp_path / "kernels" and cache_root() == tmp_path / "sweeps"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset in (lambda: monkeypatch.delenv("GRADLAB_CACHE_DIR"), lambda: monkeypatch.setenv("GRADLAB_CACHE_DIR", "")):
        unset()
        assert cache_home() == Path(tmp_path / "home" / ".cache" / "gradlab")
        assert cache_root() == tmp_path / "home" / ".cache" / "gradlab" / "sweeps"


@pytest.mark.parametrize("points_to", ["/dev/full", "elsewhere.csv"])
def test_an_output_that_is_a_symbolic_link_is_refused_not_replaced(tmp_path, points_to):
    # `--out` a link to /dev/full was replaced by a regular file, with exit 0.
    from gradlab._io import save_table
    from gradlab.cli import main

    link = tmp_path / "out.csv"
    link.symlink_to(points_to if points_to.startswith("/") else tmp_path / points_to)
    frame = pd.DataFrame({"x": [0.0]})
    with pytest.raises(ValueError, match="is a symbolic link .* give the path of a regular file"):
        save_table(frame, link)
    target = os.readlink(link)
    assert main(["error", "relu", "--x", "0:1:3", "--out", str(link)]) == 2
    assert link.is_symlink() and os.readlink(link) == target  # the link is left as it was
