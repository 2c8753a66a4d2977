"""Every public function is listed in its module's __all__, and the command line offers the API's choices."""
import inspect

import pytest

import gradlab as gl
from gradlab import conventions


@pytest.mark.parametrize("name", ["gradlab.plots", "gradlab.experiments.summary", "gradlab.perturbations.chain",
                                  "gradlab.perturbations.stages", "gradlab._progress", "gradlab._io"])
def test_all_lists_every_public_function_and_class(name):
    import importlib

    module = importlib.import_module(name)
    defined = {n for n, v in vars(module).items()
               if not n.startswith("_") and (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == name}
    assert defined <= set(module.__all__), defined - set(module.__all__)


def _choices(command: str, option: str):
    from gradlab.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return next(a for a in sub._actions if option in a.option_strings).choices


def test_the_command_line_offers_the_apis_choices():
    from gradlab import derivative_audit

    assert list(_choices("error", "--method")) == list(conventions.METHODS) == ["auto", "exact", "mc"]
    assert list(_choices("error", "--noise")) == list(conventions.NOISES)
    assert list(_choices("error", "--rounding")) == list(gl.perturbations.ROUNDING)
    assert list(_choices("error", "--kink")) == list(gl.KINK_CHOICES)
    assert list(_choices("show", "--kink")) == list(gl.KINK_CHOICES)
    # The audit's own lists, which it validates against.
    assert list(_choices("audit", "--dtype")) == list(derivative_audit.DTYPES)
    assert sorted(_choices("audit", "--kink")) == sorted(derivative_audit.CONVENTIONS)
