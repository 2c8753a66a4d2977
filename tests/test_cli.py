import subprocess
import sys

import pandas as pd


def run(*args):
    return subprocess.run([sys.executable, "-m", "gradlab.cli", *args], capture_output=True, text=True)


def test_list_and_show():
    out = run("list")
    assert out.returncode == 0 and "relu_gelu" in out.stdout
    out = run("show", "relu_gelu", "i=0.25")
    assert out.returncode == 0
    assert "= 3/4 = 0.75" in out.stdout and "smoothness: C0" in out.stdout


def test_error_prints_exact_table_and_writes_csv(tmp_path):
    out = run("error", "relu", "gelu", "--x=-0.01:0.01:3", "--method", "exact")
    assert out.returncode == 0
    assert "0.250000" in out.stdout
    target = tmp_path / "e.csv"
    out = run("error", "relu", "--x=0:0:1", "--method", "mc", "--samples", "2000", "--out", str(target))
    assert out.returncode == 0, out.stderr
    df = pd.read_csv(target)
    assert df["mean_abs_error"].iloc[0] > 0.2 and df["samples"].iloc[0] == 2000


def test_wrong_input_gives_one_line_and_nonzero_exit():
    for args, message in [
        (("show", "rleu"), "did you mean 'relu'"),
        (("error", "relu", "--leakage", "2"), "leakage must lie in (0, 1)"),
        (("error", "relu", "--x=1:2:x"), "START:STOP:N"),
        (("error", "relu", "--out", "x.txt", "--method", "exact"), ".csv or .parquet"),
        (("figures", "--only", "nope"), "unknown figure"),
        (("show", "__import__('os')"), "not allowed"),
    ]:
        out = run(*args)
        assert out.returncode == 2, args
        assert message in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1


def test_figures_command_writes_requested_format(tmp_path):
    out = run("figures", "--only", "effective_precision", "step_discontinuity", "--format", "svg",
              "--out", str(tmp_path), "--data")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "effective_precision.csv", "effective_precision.svg", "step_discontinuity.csv", "step_discontinuity.svg",
    ]


def test_help_everywhere():
    for args in (("--help",), ("error", "--help"), ("figures", "--help"), ("show", "--help")):
        assert run(*args).returncode == 0


def test_version_figure_list_and_help_texts_with_defaults():
    import gradlab

    assert run("--version").stdout.strip() == f"gradlab {gradlab.__version__}"
    from gradlab.figures import ALL_FIGURES, FIGURES, PAPER_FIGURES

    listed = run("figures", "--list").stdout
    assert [line.split()[0] for line in listed.splitlines() if not line.startswith(" ")] == [
        *FIGURES, *PAPER_FIGURES
    ] == list(ALL_FIGURES)
    error_help = " ".join(run("error", "--help").stdout.split())
    for text in ("(default: half_toward_zero)", "Monte Carlo seed", "(default: 0)", "(default: auto)",
                 "(default: -1:1:21)", "(default: 256)", "rounding rule"):
        assert text in error_help, text
    figures_help = " ".join(run("figures", "--help").stdout.split())
    assert "product_maps" in figures_help and "training" in figures_help and "(default: png)" in figures_help


def test_negative_range_start_works_as_typed():
    out = run("error", "relu", "gelu", "--x", "-0.1:0.1:3", "--method", "exact")
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[2:]]
    assert [r[:2] for r in rows] == [[a, x] for a in ("relu", "gelu") for x in ("-0.1", "0.0", "0.1")]
    assert float(rows[1][2]) == 0.25


def test_list_fits_one_hundred_columns_with_separated_columns():
    lines = run("list").stdout.splitlines()
    assert max(map(len, lines)) <= 100
    names = [line.split()[0] for line in lines if not line.startswith(" ")]
    assert "smooth_bounded_relu" in names and "relu_gelu" in names
    assert all(len(line) > 21 and line[19:21] == "  " for line in lines if line.startswith("smooth_bounded_relu"))


def test_messages_are_not_doubled_counted_in_words_and_show_plain_numbers(tmp_path):
    out = run("error", "relu", "--x")  # an argparse error
    assert "error: error:" not in out.stderr and "gradlab error: argument --x" in out.stderr
    out = run("error", "relu", "--leakage", "nan")
    assert out.returncode == 2 and "got nan" in out.stderr and "np.float64" not in out.stderr
    out = run("figures", "--only", "step_discontinuity", "--out", str(tmp_path))
    assert "1 figure written" in out.stderr


def test_unusable_output_is_refused_before_any_work_naming_the_users_path(tmp_path):
    import time

    blocker = tmp_path / "file"
    blocker.write_text("")
    start = time.perf_counter()
    out = run("figures", "--only", "training", "--out", str(blocker / "sub"))
    elapsed = time.perf_counter() - start
    assert out.returncode == 2 and elapsed < 2.0, (elapsed, out.stderr)  # the training figure alone takes > 60 s
    sub = str(blocker / "sub")
    assert out.stderr.strip() == f"gradlab figures: cannot create output directory {sub!r}: Not a directory"
    out = run("figures", "--only", "training", "--out", str(blocker))
    assert out.stderr.strip() == (
        f"gradlab figures: output directory {str(blocker)!r} is an existing file; give a directory"
    )


def test_fast_figures_never_replace_the_committed_ones(tmp_path):
    committed = tmp_path / "figures" / "step_discontinuity.png"
    committed.parent.mkdir()
    committed.write_bytes(b"committed")
    out = subprocess.run([sys.executable, "-m", "gradlab.cli", "figures", "--fast", "--only", "step_discontinuity"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert committed.read_bytes() == b"committed"
    assert (tmp_path / "figures" / "fast" / "step_discontinuity.png").stat().st_size > 1000


def test_analysis_scripts_answer_help_and_take_the_figure_options(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    script = root / "analyses" / "step_discontinuity.py"
    committed = root / "figures" / "step_discontinuity.png"
    before = committed.stat().st_mtime_ns
    out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--out DIR" in out.stdout and "--fast" in out.stdout
    assert committed.stat().st_mtime_ns == before  # --help drew nothing
    out = subprocess.run([sys.executable, str(script), "--out", str(tmp_path), "--format", "svg", "--data"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_discontinuity.csv", "step_discontinuity.svg"]
    assert sorted(p.stem for p in (root / "analyses").glob("*.py")) == sorted(
        __import__("gradlab.figures", fromlist=["ALL_FIGURES"]).ALL_FIGURES
    )


def test_cache_info_and_clear(tmp_path):
    import os

    kernels = tmp_path / "kernels"
    (kernels / "__pycache__").mkdir(parents=True)
    for name in ["gradlab_kernel_a.py", "gradlab_kernel_b.py", "__pycache__/gradlab_kernel_a.f1-8.py311.nbi",
                 "notes.txt"]:
        (kernels / name).write_bytes(b"x" * 100)
    env = {**os.environ, "GRADLAB_CACHE_DIR": str(tmp_path)}

    def cache(*args):
        out = subprocess.run([sys.executable, "-m", "gradlab.cli", "cache", *args], capture_output=True, text=True,
                             env=env)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert cache() == cache("info")
    assert str(kernels) in cache("info") and "2 entries, 3 files, 300 bytes" in cache("info")
    assert cache("clear") == f"removed 2 entries, 3 files, 300 bytes from {kernels}\n"
    assert "0 entries, 0 files" in cache("info")
    assert (kernels / "notes.txt").exists()  # not gradlab's: left alone


def test_show_gives_pytorchs_value_at_the_kink():
    out = run("show", "abs(x)")
    assert "f'(0) = 0 under kink='autograd'" in out.stdout and "sign(0) = 0" in out.stdout
    assert "f'(0) = 0.5 under kink='autograd'" in run("show", "max(x, 0)").stdout



def test_figures_draws_the_default_set_and_the_paper_renderings_on_request():
    from gradlab.cli import _figure_names, build_parser
    from gradlab.figures import FIGURES, PAPER_FIGURES

    def names(*argv):
        return _figure_names(build_parser().parse_args(["figures", *argv]))

    assert names() == names("--fast") == list(FIGURES)
    assert {"training", "noise_tolerance", "bitflip"} <= set(FIGURES)
    assert names("--paper") == [*FIGURES, *PAPER_FIGURES]
    assert names("--only", "bitflip") == ["bitflip"]


def test_one_spelling_of_a_builtin_with_parameters_everywhere():
    # The spelling a table prints is what the command line takes, and NAME=VALUE words join the name before them.
    spelled = run("show", "relu_gelu(i=0.25)")
    words = run("show", "relu_gelu", "i=0.25")
    assert spelled.returncode == 0 and spelled.stdout == words.stdout and "= 3/4 = 0.75" in spelled.stdout
    out = run("error", "relu_gelu(i=0.5)", "relu_gelu", "i=0.25", "gelu", "--x=0:0:1", "--method", "exact")
    assert out.returncode == 0, out.stderr
    rows = [line.split()[0] for line in out.stdout.splitlines()[2:]]
    assert rows == ["relu_gelu(i=0.5)", "relu_gelu(i=0.25)", "gelu"]
    # ReLU's share of e(0) under the analog chain is exactly 0.25 (SPEC 3), so (1 - i) * 0.25 plus GELU's share.
    values = [float(line.split()[2]) for line in out.stdout.splitlines()[2:]]
    assert abs(values[0] - (0.5 * 0.25 + 0.5 * values[2])) < 2e-6  # printed to 6 decimals
    assert abs(values[1] - (0.75 * 0.25 + 0.25 * values[2])) < 2e-6  # printed to 6 decimals
    out = run("show", "relu(kink=right)", "--kink", "left")
    assert out.returncode == 2 and "kink is given both" in out.stderr
    out = run("error", "i=0.5", "relu")
    assert out.returncode == 2 and "comes before any activation" in out.stderr


def test_show_writes_the_step_discontinuity_once_when_exact_and_decimal_agree():
    out = run("show", "gelu")
    assert out.returncode == 0, out.stderr
    assert "|f'(0+) - f'(0-)| = 0\n" in out.stdout and "= 0 = 0" not in out.stdout
    out = run("show", "relu_gelu(i=0.5)")
    assert "|f'(0+) - f'(0-)| = 1/2 = 0.5\n" in out.stdout  # 1 - i, exact and as a decimal


def test_figures_paper_with_only_adds_that_figures_paper_rendering():
    import argparse

    from gradlab.cli import _figure_names

    def names(only, paper):
        return _figure_names(argparse.Namespace(only=only, paper=paper))

    assert names(["product_maps"], True) == ["product_maps", "product_maps_paper"]
    assert names(["depth", "product_maps"], True) == ["depth", "product_maps", "product_maps_paper"]
    assert names(["product_maps"], False) == ["product_maps"]
    assert names(["product_maps_paper"], True) == ["product_maps_paper"]
    assert names(None, True)[-1] == "product_maps_paper"
    out = run("figures", "--only", "depth", "--paper")
    assert out.returncode == 2 and "--paper: none of the figures of --only has a paper rendering" in out.stderr
    assert "product_maps (its paper rendering: product_maps_paper)" in out.stderr


def test_a_file_output_needs_its_directory_and_no_directory_is_made(tmp_path):
    missing = tmp_path / "nonexistent" / "dir"
    for args in (("error", "relu", "--x=0:0:1", "--method", "exact"), ("audit", "relu", "--no-impact")):
        out = run(*args, "--out", str(missing / "res.csv"))
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert f"its directory {str(missing)!r} does not exist" in out.stderr
        assert not (tmp_path / "nonexistent").exists()
    spec = tmp_path / "s.toml"
    spec.write_text('query = "gradient_error"\nactivations = ["relu"]\nmethod = "exact"\nx = [0.0]\n'
                    '[chain]\nkind = "analog"\nleakage = 0.5\nprecision = 16\n')
    out = run("sweep", str(spec), "--out", str(missing / "res.csv"))
    assert out.returncode == 2 and "does not exist" in out.stderr and not (tmp_path / "nonexistent").exists()
    # A figure set may make the one folder --out names, not its parents.
    out = run("figures", "--only", "effective_precision", "--out", str(missing))
    assert out.returncode == 2 and "parent" in out.stderr and not (tmp_path / "nonexistent").exists()
    out = run("figures", "--only", "effective_precision", "--out", str(tmp_path / "new"))
    assert out.returncode == 0 and (tmp_path / "new" / "effective_precision.png").exists()


def test_sweeps_on_dask_are_checked_before_any_work(tmp_path, monkeypatch, capsys):
    import socket
    import time

    import gradlab.cli

    spec = tmp_path / "s.toml"
    spec.write_text('query = "gradient_error"\nactivations = ["relu"]\nmethod = "exact"\nx = [0.0]\n'
                    '[chain]\nkind = "analog"\nleakage = 0.5\nprecision = [16, 32]\n')
    out = str(tmp_path / "r.csv")
    # Nothing listens on a port just freed.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    assert gradlab.cli.main(["sweep", str(spec), "--scheduler", f"tcp://127.0.0.1:{port}", "--out", out]) == 2
    err = capsys.readouterr().err
    assert time.perf_counter() - start < 10  # not distributed's 30 s connect timeout
    assert err.startswith(f"gradlab sweep: --scheduler: no Dask scheduler answers at 'tcp://127.0.0.1:{port}'")
    assert len(err.strip().splitlines()) == 1 and "points" not in err  # no progress bar: no work began
    # Without the sweep extra, --workers is refused the same way, naming the option and the extra.
    monkeypatch.setitem(sys.modules, "distributed", None)
    assert gradlab.cli.main(["sweep", str(spec), "--workers", "2", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradlab sweep: --workers 2 (a sweep on Dask) needs dask[distributed] "
                          "(gradlab's sweep extra), which is not installed: pip install")
    assert len(err.strip().splitlines()) == 1 and "points" not in err
    assert not (tmp_path / "r.csv").exists()
