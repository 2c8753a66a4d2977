"""The apps keep their long-lived objects out of the collector's full passes (conftest.py unfreezes after each test)."""
import gc

import pytest

from gradlab.explore import heap


def test_freeze_moves_what_is_alive_out_of_the_collectors_way():
    gc.unfreeze()
    kept = [[k] for k in range(1000)]  # tracked containers, alive
    assert heap.freeze() is None  # a cell's last line: shows nothing
    assert gc.get_freeze_count() >= len(kept)
    assert sum(gc.get_count()) < 100  # every generation emptied into the permanent one
    gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_the_explorer_freezes_its_heap_when_it_starts():
    pytest.importorskip("marimo", reason="marimo is the optional 'explore' extra")
    from gradlab.explore import explorer

    gc.unfreeze()
    explorer.app.run()
    assert gc.get_freeze_count() > 100_000  # the modules' objects: marimo, pandas, sympy, numba
