import functools

import matplotlib.colors as mcolors
import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import QuadMesh
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
    mc = {c.get_label(): c for c in ax.containers}
    markers = [mc[f"{label} (Monte Carlo)"].lines[0].get_marker() for label in labels]
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


def test_gradient_error_bars_stay_on_the_log_axis():
    fig, data = fast_figure("gradient_error")
    (ax,) = panels(fig)
    floor = ax.get_ylim()[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert bars
    for c in bars:
        low, high = bar_ends(c)
        assert np.isfinite(low).all() and (low >= floor * (1 - 1e-12)).all() and (high >= low).all()
        assert (np.asarray(c.lines[0].get_ydata()) > 0).all()
    # ReLU's Monte Carlo mean is 0 far from the kink: no point (a log axis has no 0) is drawn there.
    mc = data[(data["engine"] == "mc") & (data["activation"] == "relu")]
    assert (mc["mean_abs_error"] == 0).any()
    relu = next(c for c in bars if c.get_label() == "relu (Monte Carlo)")
    assert len(relu.lines[0].get_xdata()) == (mc["mean_abs_error"] > 0).sum()


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


def bar_ends(container):
    """(low, high) of each error bar of an errorbar container, in data units."""
    segments = container.lines[2][0].get_segments()
    return np.array([s[0][1] for s in segments]), np.array([s[1][1] for s in segments])


def logit_t(values):
    """The 95% Student-t interval of the logits of ``values``, mapped back (independent of t_summary)."""
    z = np.log(values / (1 - values))
    half = student_t.ppf(0.975, values.size - 1) * z.std(ddof=1) / np.sqrt(values.size)
    return 1 / (1 + np.exp(-(z.mean() - half))), 1 / (1 + np.exp(-(z.mean() + half)))


def test_training_intervals_are_logit_t_intervals_inside_0_1():
    pytest.importorskip("torch")
    fig, runs = fast_figure("training")
    axes = panels(fig)
    checked = 0
    for (noise, depth, family), group in runs.groupby(["noise", "depth", "family"], sort=False):
        by_i = group.groupby("i", sort=False)["accuracy"]
        assert (by_i.size() == 2).all()  # the fast figure: two seeds, t = 12.706 with 1 degree of freedom
        expected = np.array([logit_t(a.to_numpy()) for _, a in by_i])
        ax = next(ax for ax in axes if ax.get_title() == f"{noise}, depth {depth}")
        container = next(c for c in ax.containers if c.get_label() == family)
        low, high = bar_ends(container)
        np.testing.assert_allclose(low, expected[:, 0], rtol=1e-9)
        np.testing.assert_allclose(high, expected[:, 1], rtol=1e-9)
        assert (low >= 0).all() and (high <= 1).all()
        means = np.asarray(container.lines[0].get_ydata(), float)
        np.testing.assert_allclose(means, by_i.mean().to_numpy(), rtol=1e-12)
        checked += 1
    assert checked == 8
    # Compared panels share one y-axis, which stops at 1.
    assert len({ax.get_ylim() for ax in axes}) == 1
    assert 0 <= axes[0].get_ylim()[0] and axes[0].get_ylim()[1] <= 1
    assert "Student's t" in fig.get_suptitle() and "logit" in fig.get_suptitle() and "[0, 1]" in fig.get_suptitle()


@pytest.mark.parametrize("name, level", [("noise_tolerance", "eval_noise"), ("bitflip", "ber")])
def test_accuracy_figures_keep_intervals_inside_0_1_on_a_log_axis_with_zero_apart(name, level):
    fig, runs = fast_figure(name)
    levels = sorted(runs[level].unique())
    assert levels[0] == 0 and len(levels) > 2
    for ax in panels(fig):
        assert ax.get_xscale() == "log"
        lo, hi = ax.get_ylim()
        assert 0 <= lo < hi <= 1
        for c in ax.containers:
            low, high = bar_ends(c)
            assert (low >= 0).all() and (high <= 1).all()
            x = c.lines[0].get_xdata()
            if c.get_label().startswith("_"):  # the point at 0, alone: no line joins it to the rest
                assert c.lines[0].get_linestyle() == "None" and len(x) == 1 and x[0] < min(levels[1:]) / 3
            else:  # the positive levels, joined, each where its value is on the log axis
                assert c.lines[0].get_linestyle() != "None"
                np.testing.assert_allclose(sorted(x), levels[1:], rtol=0.2)  # side by side: within 20%
    ax = panels(fig)[-1]
    texts = [t.get_text() for t in ax.get_xticklabels()]
    ticks = list(ax.get_xticks())
    assert texts[0] == "0" and texts[1:] == [f"{v:g}" for v in levels[1:]]
    assert 0 < ticks[0] < levels[1] / 10 ** 0.5  # set apart from the first positive level
    assert any(t.get_text() == "//" for t in ax.texts)  # the break mark between them


def test_gradient_error_puts_markers_on_monte_carlo_only():
    fig, data = fast_figure("gradient_error")
    (ax,) = panels(fig)
    exact = [line for line in ax.lines if line.get_label().endswith("(exact)")]
    assert len(exact) == data["activation"].nunique()
    assert all(line.get_marker() in ("None", None, "") for line in exact)
    mc = [c for c in ax.containers if c.get_label().endswith("(Monte Carlo)")]
    assert len(mc) == len(exact)
    for c in mc:
        assert c.lines[0].get_linestyle() == "None" and c.lines[0].get_marker() not in ("None", None, "")
    engine_texts = " ".join(t.get_text() for t in fig.legends[1].get_texts())
    assert "no markers" in engine_texts and "Monte Carlo: markers" in engine_texts


def line_colors(fig):
    """activation label -> the colours its lines (or error bars) are drawn in, over every panel of fig."""
    found = {}
    for ax in panels(fig):
        for line in ax.lines:
            label = line.get_label().split(" (")[0]
            if not label.startswith("_"):
                found.setdefault(label, set()).add(mcolors.to_hex(line.get_color()))
        for c in ax.containers:
            found.setdefault(c.get_label().split(" (")[0], set()).add(mcolors.to_hex(c.lines[0].get_color()))
    return found


def test_one_activation_has_one_colour_in_every_figure():
    from gradlab.plots import ACTIVATION_STYLES

    seen = {}
    for name in ("activations", "gradient_error", "error_ratio", "depth"):
        for label, colors in line_colors(fast_figure(name)[0]).items():
            seen.setdefault(label, set()).update(colors)
    assert {"relu", "gelu", "silu", "relu_gelu(i=0.5)", "relu_silu(i=0.5)"} <= set(seen)
    assert all(len(colors) == 1 for colors in seen.values()), seen
    colour = {label: next(iter(c)) for label, c in seen.items()}
    for base in ("relu", "gelu", "silu"):
        assert colour[base] == ACTIVATION_STYLES[base]["color"].lower()
    # The interpolants at i = 0.5 take their family's colour; the families' curves in figure 5 too.
    assert colour["relu_gelu(i=0.5)"] == ACTIVATION_STYLES["relu_gelu"]["color"].lower()
    assert colour["relu_silu(i=0.5)"] == ACTIVATION_STYLES["relu_silu"]["color"].lower()
    fam = line_colors(fast_figure("step_discontinuity")[0])
    assert set().union(*(c for k, c in fam.items() if k.startswith("relu_gelu"))) == {colour["relu_gelu(i=0.5)"]}
    # In the family figure the ends of the path are ReLU's and GELU's own colours.
    ends = line_colors(fast_figure("relu_gelu_family")[0])
    assert ends["relu_gelu(i=0)"] == {colour["relu"]} and ends["relu_gelu(i=1)"] == {colour["gelu"]}
    assert len({next(iter(c)) for c in ends.values()}) == 5


def test_the_style_rules_for_interpolants_variants_and_unknowns():
    from gradlab.plots import ACTIVATION_STYLES, UNKNOWN_STYLES, _styles, activation_style

    relu, gelu, mix = (ACTIVATION_STYLES[k]["color"] for k in ("relu", "gelu", "relu_gelu"))
    quarter = activation_style("relu_gelu(i=0.25)")
    # Halfway along the sRGB line from relu's colour to the family's.
    expected = (np.array(mcolors.to_rgb(relu)) + np.array(mcolors.to_rgb(mix))) / 2
    np.testing.assert_allclose(mcolors.to_rgb(quarter["color"]), expected, atol=1 / 255)
    assert quarter["marker"] == ACTIVATION_STYLES["relu_gelu"]["marker"]
    assert activation_style("relu_gelu")["color"].lower() == mix.lower()  # the bare family name is i = 0.5
    # A parameter variant keeps its built-in's hue, lighter for a larger parameter.
    import colorsys

    h0, l0, _ = colorsys.rgb_to_hls(*mcolors.to_rgb(gelu))
    h2, l2, _ = colorsys.rgb_to_hls(*mcolors.to_rgb(activation_style("gelu(s=2)")["color"]))
    _, l_half, _ = colorsys.rgb_to_hls(*mcolors.to_rgb(activation_style("gelu(s=0.5)")["color"]))
    assert h2 == pytest.approx(h0, abs=0.01) and l_half < l0 < l2
    # Another kink convention: the same colour, another dash.
    mid = activation_style("relu(kink=midpoint)")
    assert mid["color"].lower() == relu.lower() and mid["ls"] != ACTIVATION_STYLES["relu"]["ls"]
    # An expression: a reserve style fixed by its label, the same call after call.
    unknown = activation_style("x*tanh(x)")
    assert unknown in UNKNOWN_STYLES and activation_style("x*tanh(x)") == unknown
    # Within one figure no two labels share colour and dash.
    many = _styles(["relu", "x*tanh(x)", "x*sigmoid(2*x)", "x*tanh(x) + 1", "0.5*x", "abs(x)", "x**2", "relu"])
    assert len({(st["color"], str(st["ls"])) for st in many.values()}) == len(many) == 7


def test_training_figure_resumes_and_reports_progress(capsys):
    from gradlab.figures import training_figure
    from gradlab.sweeps.runner import cache_root

    before = set(cache_root().rglob("*.point.json")) if cache_root().exists() else set()
    training_figure(fast=True)
    first = capsys.readouterr().err
    kept = set(cache_root().rglob("*.point.json")) - before
    assert "points" in first and len(kept) in (0, 8)  # 2 precisions x 2 depths x 2 replicates, unless kept already
    training_figure(fast=True)  # every point now loads from the sweep cache
    second = capsys.readouterr().err
    assert "8/8 points" in second and "about" not in second.splitlines()[0]


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
