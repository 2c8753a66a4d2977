"""One BLAS thread while NumPy's small matrix products alternate with Numba's threaded kernels.

OpenBLAS's threads spin after a product and Numba's OpenMP threads then compete with them for
the same cores: on 2 cores a (1347, 64) @ (64, 64) product took 3.7 ms with OpenBLAS threaded and
0.25 ms with one thread, and the chain kernel after it 4.3 ms instead of 0.31 ms; a digits-MLP
training run went from 0.58-0.82 s to 0.36 s, with the same numbers (each output element of a
product is one thread's dot product either way).  threadpoolctl (a dependency of scikit-learn,
which the training lab needs anyway) sets the limit for the duration of a block and restores it.
"""
from __future__ import annotations

import contextlib

__all__ = ["single_blas_thread"]


def single_blas_thread() -> contextlib.AbstractContextManager:
    """A context in which BLAS uses one thread (a no-op where threadpoolctl is not installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - the lab extra brings it
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
