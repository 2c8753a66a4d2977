"""The one jit policy of gradlab.

Every compiled function in the package goes through these decorators, so the options live in one
place: ``cache=True`` (compiled once per machine, reused across processes), ``error_model="numpy"``
(division by zero gives inf/nan as NumPy does instead of raising inside a kernel) and
``fastmath=False`` (IEEE semantics: the exact engine and the kernels must agree bit for bit on
lattice values, and NaN must stay NaN).
"""
from __future__ import annotations

import os


def _check_thread_setting() -> None:
    """$NUMBA_NUM_THREADS, when set, must be a whole number >= 1, checked before Numba reads it.

    Numba warns with a traceback on text ('abc') and fails at the first parallel kernel on 0 or
    less ("Number of threads specified must be > 0"), naming neither the variable nor the fix.
    """
    text = os.environ.get("NUMBA_NUM_THREADS")
    if text is None:
        return
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"NUMBA_NUM_THREADS must be a whole number of threads >= 1 (or unset: one per core), "
                         f"got {text!r}")


_check_thread_setting()

import numba  # noqa: E402 - after the check of its setting

__all__ = ["SERIAL_BELOW", "array_kernel", "inline_kernel", "prange", "scalar_kernel", "serial_kernel"]

prange = numba.prange

_POLICY = dict(cache=True, error_model="numpy", fastmath=False, nogil=True)


def scalar_kernel(func):
    """A scalar core: plain numbers in and out, callable from other kernels (inlined by LLVM)."""
    return numba.njit(**_POLICY)(func)


def inline_kernel(func):
    """A small scalar core inlined into its callers at Numba IR level (per-sample hot paths).

    Measured: inlining the ziggurat's fast path and the stage cores this way makes a chain
    sample ~25% cheaper than leaving the decision to LLVM.
    """
    return numba.njit(inline="always", **_POLICY)(func)


def serial_kernel(func):
    """An array loop without threads: for small arrays, where waking the thread pool costs more
    than the work (measured: ~0.3 ms a call on 2 cores, for a few thousand elements)."""
    return numba.njit(**_POLICY)(func)


#: Below this many elements, callers use the serial twin of an array kernel.
SERIAL_BELOW = 1 << 15


def array_kernel(func):
    """A loop over arrays, parallel over cores with ``prange``."""
    return numba.njit(parallel=True, **_POLICY)(func)
