import matplotlib.image as mpimg
import numpy as np
import pytest

import gradlab as gl
from gradlab.figures import FIGURES, make_figure


@pytest.mark.parametrize("name", list(FIGURES))
def test_each_figure_renders_from_its_data(name, tmp_path):
    fig, data = make_figure(name, fast=True)
    assert len(data) > 0
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    # Panel grids label their outer axes only: every row and column of panels has its labels.
    assert any(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes)
    assert all(ax.get_title() or ax.get_xlabel() or ax.get_ylabel() for ax in axes if ax.has_data())
    path = gl.save_figure(fig, tmp_path / f"{name}.png")
    pixels = mpimg.imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    assert pixels[..., :3].std() > 0.05  # not blank


def test_step_discontinuity_figure_data_is_one_minus_i():
    _, data = make_figure("step_discontinuity")
    np.testing.assert_allclose(data["gsd"], 1 - data["i"], atol=1e-15)


def test_save_is_atomic_and_checks_format(tmp_path):
    fig, _ = make_figure("effective_precision")
    with pytest.raises(ValueError, match="png, pdf or svg"):
        gl.save_figure(fig, tmp_path / "x.jpg")
    gl.save_figure(fig, tmp_path / "x.svg")
    assert [p.name for p in tmp_path.iterdir()] == ["x.svg"]  # no temporary file left behind
