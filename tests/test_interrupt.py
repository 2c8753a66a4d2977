"""An interrupt swallowed where Python cannot raise it (a callback from compiled code) still stops the output."""
import os
import signal
import sys

import pandas as pd
import pytest

import gradlab as gl
from gradlab._interrupt import Terminated, noting_interrupts, raise_if_interrupted


def _swallowed(sig):
    """Deliver ``sig`` inside a ctypes callback, where CPython reports and drops the exception it raises."""
    import ctypes

    @ctypes.CFUNCTYPE(None)
    def callback():
        os.kill(os.getpid(), sig)

    callback()


@pytest.mark.parametrize("sig, kind", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_a_signal_dropped_in_a_callback_publishes_nothing_and_is_raised_again(tmp_path, sig, kind, capsys):
    target = tmp_path / "t.csv"
    hook, handler = sys.unraisablehook, signal.getsignal(sig)
    with noting_interrupts():
        _swallowed(sig)  # did not raise here
        with pytest.raises(kind):
            gl.save_table(pd.DataFrame({"a": [1]}), target)
        with pytest.raises(kind):
            raise_if_interrupted()
    assert list(tmp_path.iterdir()) == []
    assert "Traceback" not in capsys.readouterr().err
    # Outside the block nothing is pending and the handlers are Python's again.
    raise_if_interrupted()
    assert signal.getsignal(sig) is handler and sys.unraisablehook is hook


def test_without_a_signal_output_is_published(tmp_path):
    with noting_interrupts():
        gl.save_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    assert pd.read_csv(tmp_path / "t.csv")["a"].tolist() == [1]
