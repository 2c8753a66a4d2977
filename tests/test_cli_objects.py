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

    code, out, err = run("silu", "--derivative", "py:audit_cli_grads:silu_grad", "--x=-3:3:301")
    assert code == 0, err
    assert out.splitlines()[0].endswith(": ok")
    code, out, err = run("silu", "--derivative", "py:audit_cli_grads:silu_bad", "--x=-3:3:301", "--out", "a.csv")
    assert code == 1 and ": bug" in out and "gradient error" in out
    assert (tmp_path / "a.csv").exists()
    code, out, err = run("relu", "--derivative", "py:audit_cli_grads.py:relu_grad", "--no-impact")
    assert code == 0 and "follows right" in out
    for args, message in [
        (("relu", "--derivative", "py:audit_cli_grads:nope"), "has no attribute 'nope'"),
        (("relu", "--derivative", "py:nomodule_here:f"), "No module named 'nomodule_here'"),
        (("relu", "--derivative", "py:audit_cli_grads"), "MODULE:NAME"),
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
    code = main(["audit", "py:audit_stairs.py:stair", "--derivative", "py:audit_stairs.py:stair_grad"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].endswith(": ok") and "jump of f" in out and "1/16" not in out
    assert "192 jumps of f" in out and len(lines) < 40  # 192 jumps summarised, not listed


def test_a_module_is_imported_only_with_the_explicit_py_prefix(tmp_path):
    """`gradlab show this:s` used to import the module `this` (printing the Zen of Python) by the argument's shape."""
    import os
    import subprocess
    from pathlib import Path

    import gradlab as gl

    root = str(Path(gl.__file__).resolve().parent.parent)  # this checkout's gradlab, run from tmp_path
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}

    def gradlab(*args):
        return subprocess.run([sys.executable, "-m", "gradlab.cli", *args], capture_output=True, text=True,
                              cwd=tmp_path, timeout=120, env=env)

    (tmp_path / "marks.py").write_text("open('imported', 'w').close()\nimport numpy as np\nf = np.sin\n")
    for args in (("show", "this:s"), ("audit", "this:s", "--derivative", "marks:f"),
                 ("audit", "relu", "--derivative", "marks:f"), ("show", "marks.py:f")):
        run = gradlab(*args)
        assert run.returncode == 2, args
        assert "Zen of Python" not in run.stdout and not (tmp_path / "imported").exists()
        assert len(run.stderr.splitlines()) == 1
    assert gradlab("show", "this:s").stderr == (
        "gradlab show: 'this:s' looks like MODULE:NAME, but a module is imported only when asked: write py:this:s "
        "to import it (running its code), or give a built-in name or an expression\n")
    run = gradlab("audit", "relu", "--derivative", "py:marks:f", "--no-impact")  # asked for: imported
    assert (tmp_path / "imported").exists() and run.returncode == 1 and ": bug" in run.stdout
    for command in ("show", "audit"):
        assert "py:MODULE:NAME or py:FILE.py:NAME imports that module, running its code" in " ".join(
            gradlab(command, "--help").stdout.split())
