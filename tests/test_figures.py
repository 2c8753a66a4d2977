import functools

import matplotlib.colors as mcolors
import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.container import ErrorbarContainer
from scipy.stats import t as student_t

import gradlab as gl
from gradlab.figures import FIGURES, TORCH_FIGURES, make_figure


@pytest.mark.parametrize("name", list(FIGURES))
def test_each_figure_renders_from_its_data(name, tmp_path):
    if name in TORCH_FIGURES:
        pytest.importorskip("torch")
    fig, data = make_figure(name, fast=True)
    assert len(data) > 0
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    # Panel grids label their outer axes only: every row and column of panels has its labels.
    assert any(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes)
    assert all(ax.get_title() or ax.get_xlabel() or ax.get_ylabel() for ax in axes if ax.has_data())
    path = gl.save_figure(fig, tmp_path / f"{name}.png")
    plt.close(fig)
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


# --- The figures as a reviewer reads them ------------------------------------------------------


@functools.cache
def fast_figure(name):
    fig, data = make_figure(name, fast=True)
    fig.canvas.draw()  # legends and tick labels are placed at draw time
    return fig, data


def panels(fig):
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def half_lengths(container):
    """Half the length of each error bar of an errorbar container, in data units."""
    segments = container.lines[2][0].get_segments()
    return np.array([(s[1][1] - s[0][1]) / 2 for s in segments])


def test_gradient_error_legends_sit_beside_the_axes():
    fig, _ = fast_figure("gradient_error")
    (ax,) = panels(fig)
    assert ax.get_legend() is None
    assert len(fig.legends) == 2  # activations; engines (line, points, band)
    box = ax.get_window_extent()
    for legend in fig.legends:
        lb = legend.get_window_extent()
        assert lb.x0 >= box.x1 or lb.y1 <= box.y0, (lb, box)


def test_gradient_error_styles_every_activation_apart():
    fig, data = fast_figure("gradient_error")
    (ax,) = panels(fig)
    labels = list(dict.fromkeys(data["activation"]))
    lines = {line.get_label(): line for line in ax.lines}
    exact = [lines[f"{label} (exact)"] for label in labels]
    colors = [mcolors.to_hex(line.get_color()) for line in exact]
    styles = [str(line.get_linestyle()) for line in exact]
    markers = [lines[f"{label} (Monte Carlo)"].get_marker() for label in labels]
    assert len(set(colors)) == len(set(markers)) == len(labels)
    # The Okabe-Ito pairs that read as one colour are never used together.
    for near in ({"#d55e00", "#e69f00"}, {"#0072b2", "#56b4e9"}):
        assert not near <= set(colors), colors
    # The interpolant drawn after silu lies on top of it, not under it.
    by = dict(zip(labels, exact))
    assert by["relu_gelu(i=0.5)"].get_zorder() > by["silu"].get_zorder()
    assert styles[labels.index("relu_gelu(i=0.5)")] != styles[labels.index("silu")]
    # The legend shows each activation with its own colour.
    legend_colors = {t.get_text(): mcolors.to_hex(h.get_color())
                     for t, h in zip(fig.legends[0].get_texts(), fig.legends[0].legend_handles)}
    assert legend_colors == dict(zip(labels, colors))


def test_gradient_error_bands_stay_on_the_log_axis():
    fig, data = fast_figure("gradient_error")
    (ax,) = panels(fig)
    floor = ax.get_ylim()[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert bands
    for band in bands:
        for path in band.get_paths():
            y = path.vertices[:, 1]
            assert np.isfinite(y).all() and (y >= floor * (1 - 1e-12)).all()
    # ReLU's Monte Carlo mean is 0 far from the kink: no band is drawn there.
    mc = data[(data["engine"] == "mc") & (data["activation"] == "relu")]
    assert (mc["mean_abs_error"] == 0).any()


@pytest.mark.parametrize("name", ["product_maps", "relu_gelu_maps", "relu_silu_maps"])
def test_product_maps_paint_exact_zeros_apart(name):
    fig, data = fast_figure(name)
    meshes = [c for ax in panels(fig) for c in ax.collections if isinstance(c, QuadMesh)]
    assert meshes and (data["error"] == 0).any() and (data["error"] > 0).any()
    for mesh in meshes:
        cmap, norm = mesh.get_cmap(), mesh.norm
        zero = np.asarray(cmap.get_under())
        assert not np.allclose(zero, cmap(0.0)) and not np.allclose(zero, cmap(1.0))
        values = np.asarray(mesh.get_array())
        # Exactly the zero cells fall under the scale; every positive error is on it.
        assert (values < norm.vmin).sum() > 0
    first = data[data["activation"] == data["activation"].iloc[0]]
    values = np.asarray(meshes[0].get_array()).ravel()
    np.testing.assert_array_equal(values < meshes[0].norm.vmin, first["error"].to_numpy() == 0)
    bar = next(ax for ax in fig.axes if ax.get_label() == "<colorbar>")
    assert "exactly 0" in bar.get_ylabel()


@pytest.mark.parametrize("name", ["relu_gelu_maps", "relu_silu_maps"])
def test_family_maps_have_readable_panels(name):
    fig, _ = fast_figure(name)
    maps = [ax for ax in panels(fig) if ax.has_data()]
    assert len(maps) == 5
    width_in = fig.get_figwidth()
    assert all(ax.get_position().width * width_in >= 2.0 for ax in maps)  # inches per panel
    assert len({round(ax.get_position().x0, 3) for ax in maps}) <= 3  # at most 3 columns
    assert fig.get_figwidth() / fig.get_figheight() < 2  # not a strip


@pytest.mark.parametrize("name", ["relu_gelu_family", "relu_silu_family"])
def test_family_noise_panels_show_points_not_lines(name):
    fig, data = fast_figure(name)
    noisy = [ax for ax in panels(fig) if "noisy" in ax.get_title()]
    # The bottom row shares x with the top: find the noisy column by its x position.
    column = {round(ax.get_position().x0, 3) for ax in noisy}
    noisy = [ax for ax in panels(fig) if round(ax.get_position().x0, 3) in column]
    assert len(noisy) == 2
    for ax in noisy:
        assert ax.lines
        for line in ax.lines:
            assert line.get_linestyle() in ("None", "none", " ", "")
            assert line.get_marker() not in (None, "None", "none", "", " ")
    others = [ax for ax in panels(fig) if ax not in noisy]
    assert all(line.get_linestyle() == "-" for ax in others for line in ax.lines)
    # One draw per x, as the data say.
    part = data[data["panel"].str.startswith("noisy")]
    assert not part.duplicated(["activation", "x"]).any()


@pytest.mark.parametrize("name", ["gelu_scaling", "relu_gelu_family", "relu_silu_family"])
def test_clean_panels_are_labelled_f_of_x(name):
    fig, _ = fast_figure(name)
    axes = panels(fig)
    ncol = len({round(ax.get_position().x0, 3) for ax in axes})
    grid = np.array(axes).reshape(2, ncol)
    assert grid[0, 0].get_title() == "clean"
    assert (grid[0, 0].get_ylabel(), grid[1, 0].get_ylabel()) == ("f(x)", "f'(x)")
    for col in range(1, ncol):
        assert (grid[0, col].get_ylabel(), grid[1, col].get_ylabel()) == ("f(x~)", "f'(x~)")


def test_step_discontinuity_says_its_curves_coincide_and_shows_both():
    fig, data = fast_figure("step_discontinuity")
    (ax,) = panels(fig)
    gsd = [line for line in ax.lines if "|f'(0+)" in line.get_label()]
    numeric = [line for line in ax.lines if line.get_label().endswith("- f'(0)")]
    assert len(gsd) == len(numeric) == 2
    np.testing.assert_allclose(*[line.get_ydata() for line in gsd])  # they do coincide
    assert gsd[0].get_linestyle() != gsd[1].get_linestyle()
    assert gsd[1].get_zorder() > gsd[0].get_zorder()  # the second is drawn over the first, dashed
    assert numeric[0].get_marker() != numeric[1].get_marker()
    assert "coincide" in ax.get_legend().get_title().get_text()


def test_error_ratio_writes_fractions_and_promises_no_empty_bars():
    fig, data = fast_figure("error_ratio")
    left, right = panels(fig)
    ticks = [t.get_text() for t in left.get_xticklabels()]
    assert "1/64" in ticks and "1/1024" in ticks
    assert right.get_title() == "window w = 1/64"
    # The fast figure's ratios are exact: no error bars, and the legend says so.
    assert (data["method"] == "exact").all() and (data["ratio_stderr"] == 0).all()
    assert not any(isinstance(c, ErrorbarContainer) for ax in (left, right) for c in ax.containers)
    assert "exact" in left.get_legend().get_title().get_text()


def test_training_intervals_use_student_t_with_n_minus_1_df():
    pytest.importorskip("torch")
    assert student_t.ppf(0.975, 2) == pytest.approx(4.303, abs=5e-4)  # three seeds, as the issue says
    fig, runs = fast_figure("training")
    axes = panels(fig)
    checked = 0
    for (noise, depth, family), group in runs.groupby(["noise", "depth", "family"], sort=False):
        by_i = group.groupby("i", sort=False)["accuracy"]
        n = by_i.size().to_numpy()
        expected = student_t.ppf(0.975, n - 1) * by_i.std(ddof=1).to_numpy() / np.sqrt(n)
        assert (n == 2).all()  # the fast figure: two seeds, t = 12.706 with 1 degree of freedom
        assert student_t.ppf(0.975, n - 1) == pytest.approx(np.full(n.size, 12.706), abs=1e-3)
        ax = next(ax for ax in axes if ax.get_title() == f"{noise}, depth {depth}")
        container = next(c for c in ax.containers if c.get_label() == family)
        np.testing.assert_allclose(half_lengths(container), expected, rtol=1e-9, atol=1e-12)
        checked += 1
    assert checked == 8
    # Compared panels share one y-axis.
    assert len({ax.get_ylim() for ax in axes}) == 1
    assert "Student's t" in fig.get_suptitle() and "1.96" not in fig.get_suptitle()


def test_depth_title_names_width_and_samples_and_bars_use_t():
    fig, data = fast_figure("depth")
    title = fig.get_suptitle()
    assert "width 32" in title and "16 random networks" in title
    assert (data["width"] == 32).all() and (data["samples"] == 16).all()
    left, _ = panels(fig)
    t15 = student_t.ppf(0.975, 15)
    for label, part in data.groupby("activation", sort=False):
        container = next(c for c in left.containers if c.get_label() == label)
        np.testing.assert_allclose(half_lengths(container), t15 * part["input_rel_error_stderr"], rtol=1e-9)
