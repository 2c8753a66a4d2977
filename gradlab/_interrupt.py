"""Interrupts that are never lost: a signal is noted before it is raised, and checked again before output is published.

Python raises KeyboardInterrupt wherever the main thread happens to be.  Inside a callback from
compiled code (Numba's LLVM object cache calls back into Python while it compiles) the exception
is printed and dropped, and the run would go on to write its results as if never interrupted.
While :func:`noting_interrupts` is active, Ctrl-C and SIGTERM are recorded first;
:func:`raise_if_interrupted`, called where output is about to be published (:mod:`gradlab._io`)
and when the work returns, raises them again, so an interrupted run writes nothing.
"""
from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator

__all__ = ["Terminated", "noting_interrupts", "raise_if_interrupted"]

_pending: list[int] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that atomic writes remove their temporary files on the way out."""


def _raise(signum: int) -> None:
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _note(signum: int, frame) -> None:
    _pending.append(signum)
    _raise(signum)


def raise_if_interrupted() -> None:
    """Raise the first signal noted (and not yet raised to the end) since :func:`noting_interrupts` began."""
    if _pending:
        _raise(_pending[0])


@contextlib.contextmanager
def noting_interrupts() -> Iterator[None]:
    """Note SIGINT and SIGTERM while the block runs (main thread only); restore the previous handlers after.

    An interrupt dropped inside a callback is not reported as an "Exception ignored" traceback:
    it is noted, and raised again at the next check.
    """
    previous = {sig: signal.signal(sig, _note) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_hook = sys.unraisablehook

    def hook(unraisable) -> None:
        if not (_pending and issubclass(unraisable.exc_type, KeyboardInterrupt)):
            previous_hook(unraisable)

    sys.unraisablehook = hook
    _pending.clear()
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = previous_hook
        _pending.clear()
