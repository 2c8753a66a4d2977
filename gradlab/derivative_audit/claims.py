"""The claim under audit: a claimed f' as a float64 function of inputs already rounded to its float type.

A claim is a NumPy function, a function on tensors, or the backward of a PyTorch module or
``autograd.Function``; it is judged in the float type it computes in (``dtype``, or what a NumPy
claim returns).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradlab._validate import check_choice
from gradlab.conventions import DTYPES
from gradlab.derivative_audit.truths import is_torch_object, numpy_or_torch

__all__ = ["DTYPES", "as_values", "dtype_name", "name_of", "resolve_claim"]

#: Float types a claim may be judged in.


def resolve_claim(forward: Any, derivative: Any, dtype: str | None) -> tuple[Callable, str, str]:
    """(claimed f' as a float64 function of float64 inputs already rounded to dtype, dtype, description)."""
    if derivative is None:
        if isinstance(forward, str) or not callable(forward):
            raise ValueError("derivative is required unless forward is a PyTorch callable whose backward is the claim")
        derivative, how = forward, f"the backward of {name_of(forward)}"
        torch_claim = True
        if not (is_torch_object(forward) or numpy_or_torch(forward, "forward") == "torch"):
            raise ValueError("derivative is required for a NumPy forward (only a PyTorch forward carries a backward)")
    elif is_torch_object(derivative):
        torch_claim, how = True, f"the backward of {name_of(derivative)}"
    elif callable(derivative):
        torch_claim = False
        how = name_of(derivative)
    else:
        raise TypeError("derivative must be a function returning f', a PyTorch module or autograd.Function whose "
                        f"backward is the claim, or None, got {derivative!r}")
    dt = "float64" if dtype is None else dtype_name(dtype)
    if torch_claim:
        from gradlab.torch_bridge import check_elementwise, torch_callable, torch_derivative

        check_elementwise(torch_callable(derivative)[0], f"the backward of {name_of(derivative)}")
        call, _ = torch_callable(derivative, dt)
        return (lambda v: torch_derivative(call, v, "the claimed backward", dt)), dt, how
    kind = numpy_or_torch(derivative, "derivative")
    if kind == "torch":
        from gradlab.torch_bridge import import_torch

        torch = import_torch()

        def claim(v):
            t = torch.from_numpy(np.array(v, dtype=np.float64)).to(getattr(torch, dt))
            with torch.no_grad():
                out = derivative(t)
            return as_values(out.detach().to(torch.float64).numpy() if hasattr(out, "detach") else out, v)

        return claim, dt, how + " (on tensors)"
    if dtype is None:
        # A NumPy claim computes in whatever float type it computes in: judge it in that one (an
        # integer or boolean result, as (x > 0) * 1 gives, is exact: float64).
        returned = np.asarray(derivative(np.linspace(-1.0, 1.0, 5))).dtype
        dt = returned.name if returned.name in DTYPES else "float64"
    return (lambda v: as_values(derivative(np.asarray(v).astype(dt)), v)), dt, how


def name_of(obj: Any) -> str:
    """A callable's __name__, else its type's name (for labels)."""
    return getattr(obj, "__name__", None) or type(obj).__name__


def as_values(out: Any, v: np.ndarray) -> np.ndarray:
    """A claim's output as float64, refused unless it has one value per input (the shape of v)."""
    arr = np.asarray(out, dtype=np.float64)
    if arr.shape != np.shape(v):
        raise ValueError(f"the claimed derivative must return one value per input (shape {np.shape(v)}), "
                         f"got shape {arr.shape}")
    return arr


def dtype_name(dtype: Any) -> str:
    """'float64', 'float32' or 'float16' for such a name or a NumPy / torch dtype; others refused by name."""
    if isinstance(dtype, (type, np.dtype)):  # np.float16, np.dtype('float16'), float
        try:
            return check_choice("dtype", np.dtype(dtype).name, DTYPES)
        except TypeError:
            pass
    text = str(dtype).replace("torch.", "")
    try:
        name = np.dtype(text).name
    except (TypeError, ValueError, SyntaxError):  # NumPy parses "(0.1, 0.2)" as Python: a SyntaxError
        name = text
    return check_choice("dtype", name, DTYPES)
