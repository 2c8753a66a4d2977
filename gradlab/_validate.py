"""Argument checks shared by every layer: one wording for every refusal.

Each check raises :class:`ValueError` (or :class:`TypeError`) naming the parameter, the value it
got and what is allowed, so a user can fix the call from the message alone.
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

import numpy as np

__all__ = [
    "check_choice",
    "check_finite",
    "check_int",
    "check_interval",
    "check_positive",
    "describe",
    "suggest",
]


def describe(value: object) -> str:
    """``value`` as a message shows it: repr, NumPy scalars as plain numbers, huge integers by their size."""
    # NumPy scalars print as np.float64(nan) since NumPy 2; users typed nan.
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        # 10**400 has 401 digits (and past 4300 repr() itself refuses): its size is what matters.
        return f"{'-' if value < 0 else ''}an integer of about 10**{int(value.bit_length() * 0.30103)}"
    return repr(value)


_describe = describe


def check_finite(name: str, value: object) -> float:
    """Return ``value`` as a float; refuse non-numbers, NaN and infinities."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, (int, float)) and not hasattr(
            value, "__float__"):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    if getattr(value, "ndim", 0) != 0:
        raise TypeError(f"{name} must be a single real number, got an array of shape {value.shape}")
    if isinstance(value, complex) or np.iscomplexobj(value):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    try:
        v = float(value)
    except OverflowError:  # an int beyond float64, such as 10**400
        raise ValueError(f"{name} must be a finite real number (at most about 1.8e308), got {_describe(value)}") \
            from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite real number, got {_describe(value)}")
    return v


def check_positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float that is > 0 (or >= 0 with ``allow_zero``)."""
    v = check_finite(name, value)
    if v < 0 or (v == 0 and not allow_zero):
        allowed = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {allowed}, got {_describe(value)}")
    return v


def check_interval(
    name: str,
    value: object,
    lo: float,
    hi: float,
    *,
    closed: tuple[bool, bool] = (True, True),
) -> float:
    """Return ``value`` as a float inside the interval from ``lo`` to ``hi``."""
    v = check_finite(name, value)
    ok_lo = v >= lo if closed[0] else v > lo
    ok_hi = v <= hi if closed[1] else v < hi
    if not (ok_lo and ok_hi):
        interval = f"{'[' if closed[0] else '('}{lo:g}, {hi:g}{']' if closed[1] else ')'}"
        raise ValueError(f"{name} must lie in {interval}, got {_describe(value)}")
    return v


#: Largest integer argument: beyond, float64 estimates of the work it asks for would overflow.
_MAX_INT = 10**300


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int (integral floats accepted) that is >= ``minimum`` and below 1e300."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    try:
        v = int(value)  # type: ignore[call-overload]
    except OverflowError:  # inf
        raise ValueError(f"{name} must be a finite integer, got {_describe(value)}") from None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}") from None
    if v != value:
        raise ValueError(f"{name} must be an integer, got {_describe(value)}")
    if abs(v) > _MAX_INT:  # the estimates of work and memory are computed in floats
        raise ValueError(f"{name} must be an integer below 1e300 in magnitude, got {_describe(value)}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {_describe(value)}")
    return v


def suggest(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean ...?)' hint for a misspelt name, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise list them and suggest the closest."""
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        hint = suggest(value, options) if isinstance(value, str) else ""
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, options))}, got {_describe(value)}{hint}"
        )
    return value
