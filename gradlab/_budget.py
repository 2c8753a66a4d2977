"""Limits on memory and sampling work, checked before a computation starts.

A plausible-looking argument (``samples=10**12``, a 10^5 x 10^5 product map, ``depth=[10**6]``)
can ask for terabytes or for days.  Queries estimate what they are about to allocate and draw, and
refuse, naming the parameter, the estimate and the limit, before any work.  Work that is large but
whose result is small runs in bounded chunks instead (the engines size their chunks by
:data:`CHUNK_BYTES`).

The limits: ``memory`` (bytes one call may hold in its largest arrays; default a quarter of the
machine's memory, or ``$GRADLAB_MEMORY_BUDGET``, e.g. ``8G``) and ``samples`` (random samples
one call may draw; default 1e11, about a quarter of an hour on 2 cores, or
``$GRADLAB_SAMPLE_BUDGET``).  :func:`set_budget` changes them for the process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

__all__ = ["CHUNK_BYTES", "OPERATIONS_PER_SAMPLE", "SECONDS_PER_SAMPLE", "Budget", "check_memory", "check_operations",
           "check_samples", "check_seconds", "get_budget", "set_budget"]

#: Working-set size of one chunk of engine arrays: large enough to amortize calls, small enough to stay cheap.
CHUNK_BYTES = 32 << 20

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@dataclass(frozen=True)
class Budget:
    """memory: bytes (largest arrays of one call); samples: random samples one call may draw."""

    memory: float
    samples: float


def _parse_bytes(text: str) -> float:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1] if t and t[-1] in _UNITS else ""
    try:
        value = float(t[: len(t) - len(unit)]) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"GRADLAB_MEMORY_BUDGET must look like 8G, 500M or a number of bytes, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"GRADLAB_MEMORY_BUDGET must be a finite number of bytes > 0, got {text!r}")
    return value


def _parse_samples(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"GRADLAB_SAMPLE_BUDGET must be a number of samples such as 1e11, got {text!r}") from None
    if not 1 <= value < float("inf"):
        raise ValueError(f"GRADLAB_SAMPLE_BUDGET must be a finite number >= 1, got {text!r}")
    return value


def _default() -> Budget:
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = 8 << 30
    memory = os.environ.get("GRADLAB_MEMORY_BUDGET")
    samples = os.environ.get("GRADLAB_SAMPLE_BUDGET")
    return Budget(
        memory=_parse_bytes(memory) if memory else physical / 4,
        samples=_parse_samples(samples) if samples else 1e11,
    )


_current: Budget | None = None


def get_budget() -> Budget:
    """The limits in force."""
    global _current
    if _current is None:
        _current = _default()
    return _current


def set_budget(*, memory: float | None = None, samples: float | None = None) -> Budget:
    """Change the limits for this process (bytes, random samples); returns the previous ones."""
    from gradlab._validate import check_positive

    old = get_budget()
    global _current
    _current = replace(
        old,
        **({} if memory is None else {"memory": check_positive("memory", memory)}),
        **({} if samples is None else {"samples": check_positive("samples", samples)}),
    )
    return old


def _size(nbytes: float) -> str:
    if nbytes == float("inf"):
        return "more than 1.8e+308 bytes"
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes:.0f} bytes"


def check_memory(what: str, nbytes: float) -> None:
    """Refuse when ``what`` (e.g. "inputs x weights = 10^5 x 10^5") needs more memory than the budget."""
    limit = get_budget().memory
    if nbytes > limit:
        raise ValueError(
            f"{what} needs {'' if nbytes == float('inf') else 'about '}{_size(nbytes)} of memory, over the budget "
            f"of {_size(limit)} "
            "(raise it with gl.set_budget(memory=...) or $GRADLAB_MEMORY_BUDGET, or ask for less)"
        )


def check_samples(what: str, n: float) -> None:
    """Refuse when ``what`` would draw more random samples than the budget."""
    limit = get_budget().samples
    if n > limit:
        raise ValueError(
            f"{what} asks for {n:.3g} random samples in all, over the budget of {limit:.3g} "
            "(raise it with gl.set_budget(samples=...) or $GRADLAB_SAMPLE_BUDGET, or ask for fewer)"
        )


def _about(n: float) -> str:
    return f"about {n:.3g}" if n < float("inf") else "more than 1.8e+308"


#: Arithmetic work (multiply-adds of a network) counted as one random sample: a sample costs ~13 ns, a
#: multiply-add in NumPy's matrix products ~1 ns on 2 cores.
OPERATIONS_PER_SAMPLE = 10


def check_operations(what: str, n: float) -> None:
    """Refuse when ``what`` (e.g. a training run) would do more multiply-adds than the sample budget allows."""
    limit = get_budget().samples * OPERATIONS_PER_SAMPLE
    if n > limit:
        raise ValueError(
            f"{what} asks for {_about(n)} multiply-adds, over the budget of {limit:.3g} ({OPERATIONS_PER_SAMPLE} "
            "per random sample of the sample budget; raise it with gl.set_budget(samples=...) or "
            "$GRADLAB_SAMPLE_BUDGET, or ask for less)"
        )


#: Seconds one random sample costs (about 13 ns on 2 cores): the sample budget read as time, for work that
#: draws no samples (the exact engine's quadrature, symbolic evaluation at many parameter values).
SECONDS_PER_SAMPLE = 1.3e-8


def check_seconds(what: str, seconds: float) -> None:
    """Refuse when ``what`` is estimated to take longer than the sample budget's work (1e11 samples: ~22 min)."""
    from gradlab._progress import duration

    limit = get_budget().samples * SECONDS_PER_SAMPLE
    if seconds > limit:
        raise ValueError(
            f"{what} would take about {duration(seconds)}, over the work budget of about {duration(limit)} (the "
            f"sample budget of {get_budget().samples:.3g} at {SECONDS_PER_SAMPLE * 1e9:.0f} ns a sample; raise it "
            "with gl.set_budget(samples=...) or $GRADLAB_SAMPLE_BUDGET, or ask for less)"
        )
