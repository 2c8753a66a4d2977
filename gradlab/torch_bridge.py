"""PyTorch functions as gradlab activations: f and f' by autograd, in float64 on the CPU.

``gl.activation(torch.nn.functional.mish, name="mish")`` (or an ``nn.Module``, an
``autograd.Function`` subclass, any callable acting elementwise on tensors) returns a
:class:`~gradlab.activations.numeric.NumericActivation`: f is the callable itself, f' is what
autograd gives for it, which is the callable's own backward where it has a custom one (an
``autograd.Function`` inside): the derivative the user's training actually uses.  Both are
evaluated in float64 on the CPU, in batches of at most ``batch`` values.

This module is the only one that imports torch (the optional ``torch`` extra), and only when it is
used.  The engines see the NumericActivation protocol, never a tensor.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from gradlab.activations.numeric import NumericActivation

__all__ = [
    "check_elementwise",
    "check_takes_tensors",
    "has_custom_backward",
    "import_torch",
    "torch_activation",
    "torch_callable",
    "torch_derivative",
    "torch_values",
]

TorchFunction = Callable[[Any], Any]


def import_torch() -> ModuleType:
    """torch, or an ImportError that says how to install the extra."""
    try:
        import torch
    except ImportError:
        from gradlab._extras import missing_extra

        raise ImportError(missing_extra("PyTorch callables", "torch")) from None
    return torch


def torch_callable(fn: Any, dtype: str = "float64") -> tuple[TorchFunction, str]:
    """(a CPU callable on tensors, a default name) for a module, an autograd.Function or a function.

    An ``nn.Module`` is copied, moved to ``dtype`` on the CPU and put in eval mode (the user's own
    module is left as it is); an ``autograd.Function`` subclass is called through ``.apply``.
    """
    torch = import_torch()
    if isinstance(fn, type) and issubclass(fn, torch.autograd.Function):
        return fn.apply, fn.__name__
    if isinstance(fn, torch.nn.Module):
        module = copy.deepcopy(fn).to(device="cpu", dtype=getattr(torch, dtype)).eval()
        return module, type(fn).__name__
    if not callable(fn) or isinstance(fn, str):
        raise TypeError(f"a PyTorch activation must be a callable on tensors or an nn.Module, got {fn!r}")
    return fn, getattr(fn, "__name__", type(fn).__name__)


def _as_output(torch: ModuleType, y: Any, x: Any, what: str) -> Any:
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{what} must return a tensor for a tensor input, got {type(y).__name__}")
    if y.shape != x.shape:
        raise ValueError(
            f"{what} must act elementwise (one output per input), but for input shape {tuple(x.shape)} "
            f"it returned shape {tuple(y.shape)}"
        )
    return y


def torch_values(fn: TorchFunction, values: np.ndarray, what: str = "the function",
                 dtype: str = "float64") -> np.ndarray:
    """fn at ``values`` (1-D), computed on a tensor of ``dtype``, returned as float64 NumPy."""
    torch = import_torch()
    x = torch.from_numpy(np.array(values, dtype=np.float64)).to(getattr(torch, dtype))
    with torch.no_grad():
        y = _as_output(torch, fn(x), x, what)
    return y.detach().to(torch.float64).numpy().copy()


def torch_derivative(fn: TorchFunction, values: np.ndarray, what: str = "the function",
                     dtype: str = "float64") -> np.ndarray:
    """d fn / dx at ``values`` (1-D) by autograd on a tensor of ``dtype``, returned as float64 NumPy.

    For an elementwise function the gradient of sum(fn(x)) is f' at each x; :func:`check_elementwise`
    refuses the others.
    """
    torch = import_torch()
    x = torch.tensor(np.asarray(values, dtype=np.float64), dtype=getattr(torch, dtype), requires_grad=True)
    with torch.enable_grad():
        y = _as_output(torch, fn(x), x, what)
        if not y.requires_grad:
            raise ValueError(
                f"{what} returned a tensor that does not depend on its input through autograd (no grad_fn): "
                "its derivative cannot be taken; does it call .detach(), .item() or NumPy?"
            )
        (grad,) = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y), allow_unused=True)
    if grad is None:
        return np.zeros(x.shape[0])
    return grad.detach().to(torch.float64).numpy().copy()


def has_custom_backward(fn: TorchFunction) -> bool:
    """Whether autograd of fn passes through a custom ``autograd.Function`` backward (checked at one input)."""
    torch = import_torch()
    x = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        y = fn(x)
    seen, todo = set(), [getattr(y, "grad_fn", None)]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if isinstance(node, torch.autograd.function.BackwardCFunction):
            return True
        todo.extend(n for n, _ in node.next_functions)
    return False


def check_takes_tensors(fn: TorchFunction, what: str = "the function") -> None:
    """Refuse a NumPy function given where a PyTorch one is expected, pointing to NumericActivation.

    Probe: fn on 5 float64 tensors that require grad.  A NumPy function fails there (``np.maximum``
    asks the tensor for an array, which autograd forbids) or returns an ndarray; it is recognised
    as NumPy code when it then works on a float64 array.  Any other failure on tensors is
    reported in one line too, with the original exception chained.
    """
    torch = import_torch()
    x = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
    failure: Exception | None = None
    try:
        with torch.enable_grad():
            y = fn(x)
    except Exception as exc:  # noqa: BLE001 - any failure on tensors: decide below whether it is NumPy code
        failure = exc
    else:
        if isinstance(y, torch.Tensor):
            return
    if _works_on_arrays(fn):
        raise TypeError(_numpy_message(what)) from failure
    if failure is not None:
        raise TypeError(f"{what} fails on a float64 tensor of shape (5,): {type(failure).__name__}: "
                        f"{_first_line(failure)}") from failure
    raise TypeError(f"{what} must return a tensor for a tensor input, got {type(y).__name__}")


def _numpy_message(what: str) -> str:
    return (f"{what} is a NumPy function (it works on a NumPy array, not on a PyTorch tensor); a callable "
            "activation must be PyTorch code: wrap NumPy code as gl.NumericActivation(name, f, df), with f "
            "and its derivative df as NumPy functions")


def _works_on_arrays(fn: TorchFunction) -> bool:
    """Whether fn maps a float64 NumPy array to a NumPy array of the same shape."""
    probe = np.linspace(-1.0, 1.0, 5)
    try:
        out = fn(probe)
    except Exception:  # noqa: BLE001 - failing on arrays too means: not NumPy code
        return False
    return isinstance(out, np.ndarray) and out.shape == probe.shape


def _first_line(exc: BaseException | None) -> str:
    # Error messages become one line on the command line; the chained exception keeps the rest.
    return str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""


def check_elementwise(fn: TorchFunction, what: str = "the function") -> None:
    """Refuse a function that mixes elements or is not deterministic, with the reason.

    Probes: the first 7 outputs of a 64-value input equal the outputs for those 7 alone, a
    reversed input gives reversed outputs, a second call gives the same values, and the gradient
    of sum(v * fn(x)) is v * f' for a random v (a diagonal Jacobian).
    """
    rng = np.random.default_rng(12345)
    probe = np.sort(rng.uniform(-4.0, 4.0, 64))
    y = torch_values(fn, probe, what)
    scale = 1e-12 * (1.0 + np.abs(y[np.isfinite(y)]).max(initial=0.0))

    def same(a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.all((np.abs(a - b) <= scale) | (np.isnan(a) & np.isnan(b)) | (a == b)))

    if not same(torch_values(fn, probe, what), y):
        raise ValueError(f"{what} gives different values for the same input (random, or a module in training "
                         "mode?): gradlab needs a deterministic function")
    if not same(torch_values(fn, probe[:7], what), y[:7]) or not same(torch_values(fn, probe[::-1], what), y[::-1]):
        raise ValueError(f"{what} mixes elements (its output at one input depends on the others, as softmax or a "
                         "normalization does): an activation must act elementwise")
    torch = import_torch()
    v = rng.uniform(0.5, 2.0, probe.size)
    x = torch.tensor(probe, requires_grad=True)
    with torch.enable_grad():
        out = fn(x)
        if not out.requires_grad:
            return  # torch_derivative says why when f' is asked for
        (weighted,) = torch.autograd.grad(out, x, grad_outputs=torch.from_numpy(v), allow_unused=True)
    if weighted is None:
        return
    plain = torch_derivative(fn, probe, what)
    got = weighted.detach().numpy()
    if not np.all(np.abs(got - v * plain) <= 1e-10 * (1.0 + np.abs(v * plain))):
        raise ValueError(f"{what} has a backward that mixes elements (its Jacobian is not diagonal): "
                         "an activation's derivative must be elementwise")


def torch_activation(fn: Any, *, name: str | None = None, batch: int = 1 << 16) -> NumericActivation:
    """A gradlab activation from a PyTorch callable: f the callable, f' its autograd, in float64 on the CPU.

    ``fn`` is an ``nn.Module``, an ``autograd.Function`` subclass, or a function on tensors; it must
    act elementwise and deterministically (checked, and refused with the reason; a NumPy function
    is refused with a pointer to :class:`~gradlab.activations.numeric.NumericActivation`).  Where autograd
    passes through a custom backward, that backward is f' (what training with it uses); the
    activation's ``source`` says so.  ``batch`` bounds the values per call (memory).
    """
    try:
        import_torch()
    except ImportError:
        if callable(fn) and _works_on_arrays(fn):  # without torch, NumPy code is the likelier mistake
            raise TypeError(_numpy_message(f"activation {name or getattr(fn, '__name__', 'fn')!r}")) from None
        raise
    call, default = torch_callable(fn)
    label = default if name is None else name
    what = f"activation {label!r}"
    check_takes_tensors(call, what)
    check_elementwise(call, what)
    custom = has_custom_backward(call)
    source = f"PyTorch autograd of {default}" + (" (through its custom backward)" if custom else "")
    return NumericActivation(
        label,
        lambda v: torch_values(call, v, what),
        lambda v: torch_derivative(call, v, what),
        source=source,
        batch=batch,
    )
