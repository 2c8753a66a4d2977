"""gradlab audit with MODULE:NAME and FILE.py:NAME objects (gradlab/cli_objects.py): loaded on the
command line, and every failure to load one is a single line and exit status 2."""
import sys
import textwrap


def test_command_line_audit(tmp_path, monkeypatch, capsys):
    from gradlab.cli import main

    (tmp_path / "audit_cli_grads.py").write_text(textwrap.dedent("""
        import numpy as np
        from scipy.special import expit
        def silu_grad(x):
            s = expit(x)
            return s * (1 + x * (1 - s))
        def silu_bad(x):
            s = expit(x)
            return s * (1 + 1.1 * x * (1 - s))
        def relu_grad(x):
            return (x >= 0) * 1.0
    """))
    monkeypatch.chdir(tmp_path)  # MODULE:NAME is looked for in the current directory first
    monkeypatch.setattr(sys, "path", list(sys.path))

    def run(*args):
        code = main(["audit", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = run("silu", "--derivative", "audit_cli_grads:silu_grad", "--x=-3:3:301")
    assert code == 0, err
    assert out.splitlines()[0].endswith(": ok")
    code, out, err = run("silu", "--derivative", "audit_cli_grads:silu_bad", "--x=-3:3:301", "--out", "a.csv")
    assert code == 1 and ": bug" in out and "gradient error" in out
    assert (tmp_path / "a.csv").exists()
    code, out, err = run("relu", "--derivative", "audit_cli_grads.py:relu_grad", "--no-impact")
    assert code == 0 and "follows right" in out
    for args, message in [
        (("relu", "--derivative", "audit_cli_grads:nope"), "has no attribute 'nope'"),
        (("relu", "--derivative", "nomodule_here:f"), "No module named 'nomodule_here'"),
        (("relu", "--derivative", "audit_cli_grads"), "MODULE:NAME"),
        (("relu",), "derivative is required"),
    ]:
        code, out, err = run(*args)
        assert code == 2, args
        assert message in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def test_command_line_audit_of_a_step_function(tmp_path, monkeypatch, capsys):
    from gradlab.cli import main

    (tmp_path / "audit_stairs.py").write_text(textwrap.dedent("""
        import numpy as np
        def stair(x):
            return np.round(16 * x) / 16
        def stair_grad(x):
            return np.zeros_like(x)
    """))
    monkeypatch.chdir(tmp_path)
    code = main(["audit", "audit_stairs.py:stair", "--derivative", "audit_stairs.py:stair_grad"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].endswith(": ok") and "jump of f" in out and "1/16" not in out
    assert "192 jumps of f" in out and len(lines) < 40  # 192 jumps summarised, not listed
