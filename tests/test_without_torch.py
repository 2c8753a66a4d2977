"""torch is an extra: gradlab starts without it, its network queries and figures say how to install it."""
import subprocess
import sys

import pytest

from gradlab._extras import install_hint

HINT = install_hint("torch")  # the command for this installation (a checkout here: pip install -e '<it>[torch]')


def _python(code: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd)


def test_import_and_help_do_not_import_torch():
    code = (
        "import sys, contextlib, io, gradlab as gl, gradlab.cli as cli\n"
        "for argv in (['--help'], ['figures', '--help'], ['sweep', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        cli.main(argv)\n"
        "gl.train_modes, gl.bitflip_faults, gl.noise_tolerance, gl.bitflip_resilience  # torch only when called\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'gradlab.nn'))))\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# As if torch were not installed: 'import torch' fails and 'torch' is not in sys.modules (a None entry there
# would break libraries that look for an already-imported torch, as scipy.stats does).
BLOCKED = (
    "import sys\n"
    "class _NoTorch:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'torch' or name.startswith('torch.'):\n"
    "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
    "sys.meta_path.insert(0, _NoTorch())\n"
)


def test_network_queries_without_torch_say_how_to_install_it():
    code = BLOCKED + (
        "import gradlab as gl\n"
        "calls = {'train_modes': lambda: gl.train_modes('relu'), 'bitflip_faults': lambda: gl.bitflip_faults('relu'),\n"
        "         'noise_tolerance': lambda: gl.noise_tolerance('relu', cache=False),\n"
        "         'bitflip_resilience': lambda: gl.bitflip_resilience('relu', cache=False),\n"
        "         'train_noisy': lambda: gl.train_noisy('relu', None),\n"
        "         'gradient_diagnostics': lambda: gl.gradient_diagnostics(None, None),\n"
        "         'predict_layer_error': lambda: gl.predict_layer_error(None, None),\n"
        "         'sweep': lambda: gl.sweep({'query': 'train_noisy', 'activations': ['relu'], 'epochs': 1},\n"
        "                                   cache=False, progress=False)}\n"
        "for name, call in calls.items():\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as exc:\n"
        "        print(name, exc)\n"
        "    else:\n"
        "        print(name, 'ran')\n"
        "print(gl.gradient_error('relu', gl.analog(), [0.0], method='exact')['mean_abs_error'].size)\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 9 and lines[-1] == "1"  # the engines still work
    for line in lines[:-1]:
        assert HINT in line and "ran" not in line.split()[1:2], line


def test_figures_without_torch_skip_the_network_figures_with_one_line_each(tmp_path):
    code = BLOCKED + (
        "from gradlab.cli import main\n"
        f"sys.exit(main(['figures', '--fast', '--out', {str(tmp_path)!r}, '--only', 'step_discontinuity']))\n"
    )
    assert _python(code).returncode == 0
    # The default set (no --only) skips what needs torch; asked for by name, a figure that cannot be drawn is an error.
    code = BLOCKED + (
        "from gradlab.cli import write_figures\n"
        "names = ['step_discontinuity', 'training', 'noise_tolerance', 'bitflip', 'analog_training',\n"
        "         'analog_training_full']\n"
        f"write_figures(names, {str(tmp_path)!r}, fast=True)\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    skipped = [line for line in out.stderr.splitlines() if "skipped" in line and HINT in line]
    assert [line.split()[1] for line in skipped] == ["training:", "noise_tolerance:", "bitflip:",
                                                     "analog_training:"], out.stderr
    # The full tier is drawn from its committed rows: no torch needed.
    assert "2 figures written" in out.stderr
    assert "(4 skipped: training, noise_tolerance, bitflip, analog_training)" in out.stderr
    assert (tmp_path / "analog_training_full.png").stat().st_size > 1000
    assert (tmp_path / "step_discontinuity.png").stat().st_size > 1000
    assert not (tmp_path / "bitflip.png").exists()
    code = BLOCKED + ("from gradlab.cli import main\n"
                      f"sys.exit(main(['figures', '--only', 'bitflip', '--out', {str(tmp_path)!r}]))\n")
    out = _python(code)
    assert out.returncode == 2 and HINT in out.stderr


@pytest.mark.parametrize("figure", ["training", "noise_tolerance", "bitflip"])
def test_the_network_figures_are_the_ones_marked_as_needing_torch(figure):
    from gradlab.figures import FIGURES, TORCH_FIGURES

    assert figure in TORCH_FIGURES and set(TORCH_FIGURES) <= set(FIGURES)
