"""The apps' long-lived objects kept out of the garbage collector's full passes.

The explorer's process holds a large heap that lives as long as it does (marimo, pandas, sympy,
numba, each setting's activation and views in their caches), and every move makes short-lived
frames and charts.  A full collection walks the whole heap: 57-144 ms each, measured while the
explorer started on this project's 2-core machine, against a 150 ms budget for a move; in a
long session the growing caches set one off now and then.  :func:`freeze` moves what is alive
now to the permanent generation (:func:`gc.freeze`, no collection: it costs nothing), so the later
passes walk only what came after.  Reference counting still frees a frozen object; only a
frozen reference cycle stays, so it is called where what exists will live on.
"""
from __future__ import annotations

import gc

__all__ = ["freeze"]


def freeze() -> None:
    """Freeze every object alive now (:func:`gc.freeze`); ``gc.get_freeze_count()`` says how many are frozen.

    Returns None, so that as a cell's last line it shows nothing."""
    gc.freeze()
