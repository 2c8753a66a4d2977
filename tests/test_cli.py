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
