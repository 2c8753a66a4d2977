"""What the true f' of a forward is, and where it has kinks.

A :class:`Truth` gives f' (with an estimate of its own error) on float64 arrays, the kinks of
the forward on an interval, and an activation with that f' for the impact under a chain:

- symbolic, for a gradlab expression or built-in (exact, kinks known);
- numeric, for a NumericActivation or the autograd of a PyTorch forward (kinks scanned);
- finite differences of the forward (:mod:`.differences`), for a NumPy forward or a PyTorch one
  whose autograd would pass through a custom backward (which may be the very claim audited).
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gradlab.activations.numeric import NumericActivation, find_jumps, shortest_decimal
from gradlab.derivative_audit.differences import STEP, FiniteDifferences

__all__ = ["Kink", "Truth", "is_torch_object", "numpy_or_torch", "pytorch_rule", "resolve_truth"]


def pytorch_rule(left: float, right: float) -> float:
    """f' at a kink by PyTorch's documented rule for a point where f is not differentiable.

    The autograd notes ("Gradients for non-differentiable functions") take the sub-gradient of
    minimum norm where f is locally convex and the super-gradient of minimum norm where it is
    locally concave: in one dimension, the value between the one-sided limits nearest 0.  ReLU'(0)
    = 0, |x|'(0) = 0, leaky ReLU'(0) = alpha, ReLU6'(6) = 0.  It is what ``kink='autograd'`` means
    for a forward with no autograd of its own (a NumPy function, differenced).
    """
    low, high = min(left, right), max(left, right)
    return 0.0 if low <= 0.0 <= high else (low if low > 0 else high)


@dataclass(frozen=True)
class Kink:
    """A kink of the forward: location, how far from it a point counts as on it, the conventions' values.

    ``left`` / ``right`` are the one-sided limits of f'; ``jump_f`` = f(x+) - f(x-), 0 where f is
    continuous.  Where f jumps, f' is not a number at x (a jump J is a Dirac delta of weight J in
    the derivative); the one-sided limits are still what a finite claim there can follow.
    """

    x: float
    width: float
    left: float
    right: float
    autograd: float  # autograd's own value, or PyTorch's rule (:func:`pytorch_rule`) where there is no autograd
    source: str  # 'symbolic' or 'estimate'
    jump_f: float = 0.0
    by_rule: bool = False  # autograd is PyTorch's documented rule, not a value autograd computed

    def values(self) -> dict[str, float]:
        """f' at the kink under each convention of :data:`gradlab.derivative_audit.CONVENTIONS`."""
        return {"left": self.left, "right": self.right, "midpoint": 0.5 * (self.left + self.right),
                "autograd": self.autograd}


@dataclass
class Truth:
    """The true f': how it is known, its values, its kinks, and an activation carrying it."""

    kind: str
    df: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # (values, error estimate)
    kinks: Callable[[float, float, list], list[Kink]]  # on [lo, hi], given candidate locations
    activation: Any  # an activation with the true f' (for the chain's error)
    label: str


def is_torch_object(obj: Any) -> bool:
    """A torch nn.Module or autograd.Function subclass, recognised without importing torch."""
    mod = type(obj).__module__ if not isinstance(obj, type) else obj.__module__
    if isinstance(obj, type):
        return any(c.__module__.startswith("torch.autograd") and c.__name__ == "Function" for c in obj.__mro__)
    return mod.startswith("torch") or any(c.__module__.startswith("torch.nn") for c in type(obj).__mro__)


def numpy_or_torch(fn: Callable, what: str) -> str:
    """'numpy' if fn accepts a float64 array (and returns no tensor), else 'torch' (then tried on tensors)."""
    try:
        out = fn(np.linspace(-1.0, 1.0, 5))
    except Exception as exc:  # noqa: BLE001 - any failure on arrays means: try tensors
        failure = exc
    else:
        return "torch" if type(out).__module__.startswith("torch") else "numpy"
    try:
        has_torch = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        has_torch = False
    if not has_torch:
        raise TypeError(f"{what} failed on a float64 NumPy array ({type(failure).__name__}: {failure}); torch is "
                        "not installed, so it cannot be a PyTorch callable either")
    return "torch"


def _symbolic_truth(act) -> Truth:
    auto = act.with_kink("autograd")

    def df(x):
        return auto.df(x), np.zeros_like(x)

    def kinks(lo, hi, candidates):
        out = []
        for k in act.kinks():
            x0 = float(k.x)
            if lo <= x0 <= hi:
                out.append(Kink(x0, 0.0, float(k.df_left), float(k.df_right), float(auto.df_exact([x0])[0]),
                                "symbolic", float(k.jump_f)))
        return out

    return Truth("symbolic", df, kinks, auto, act.label)


def _scanned_kinks(df: Callable, f: Callable, lo: float, hi: float, autograd: bool) -> list[Kink]:
    """Kinks from jumps of the (exact) derivative and of f: locations and one-sided values are estimates."""
    jumps_f = find_jumps(f, lo, hi)
    found = [(*j, False) for j in find_jumps(df, lo, hi)] + [(*j, True) for j in jumps_f]
    out: list[Kink] = []
    for x0, a, b, of_f in sorted(found):
        if out and a <= out[-1].x + out[-1].width:
            if of_f:  # f' and f jump at one point: keep the kink, with f's jump
                fl, fr = f(np.array([a, b]))
                out[-1] = replace(out[-1], jump_f=float(fr - fl))
            continue
        left, right = df(np.array([a, b]))
        at = float(df(np.array([x0]))[0]) if autograd else pytorch_rule(float(left), float(right))
        fl, fr = f(np.array([a, b])) if of_f else (0.0, 0.0)
        out.append(Kink(x0, max(x0 - a, b - x0), float(left), float(right), at, "estimate", float(fr - fl),
                        by_rule=not autograd))
    return out


def _numeric_truth(act: NumericActivation, kind: str) -> Truth:
    def df(x):
        return act.df(x), np.zeros_like(x)

    def kinks(lo, hi, candidates):
        return _scanned_kinks(act.df, act.f, lo, hi, autograd=kind == "autograd")

    return Truth(kind, df, kinks, act, act.label)


def _register(fd: FiniteDifferences, known: list[Kink], candidates: list[float]) -> None:
    """Keep every stencil of fd off the known kinks and the candidates (widths only for jumps of f)."""
    fd.set_kinks([k.x for k in known] + list(candidates),
                 [k.width if k.jump_f else 0.0 for k in known] + [0.0] * len(candidates))


def _ruled(x0: float, width: float, left: float, right: float, jump_f: float = 0.0) -> Kink:
    """An estimated kink of a forward with no autograd: its 'autograd' value by :func:`pytorch_rule`."""
    return Kink(x0, width, left, right, pytorch_rule(left, right), "estimate", jump_f, by_rule=True)


def _fd_truth(f: Callable[[np.ndarray], np.ndarray], label: str) -> Truth:
    fd = FiniteDifferences(f)

    def kinks(lo, hi, candidates):
        # First the jumps of f itself, located to float64 spacing by bisection on f: no stencil may
        # straddle one, and each is a kink whose one-sided derivatives come from stencils on either side.
        # Scanned a little beyond [lo, hi]: the stencils of the grid's end points reach 6 steps out.
        reach = 7 * STEP * max(1.0, abs(lo) / 100, abs(hi) / 100)
        lo, hi, inner = lo - reach, hi + reach, (lo, hi)
        jumps = []
        for x0, a, b in find_jumps(f, lo, hi):
            fl, fr = f(np.array([a, b]))
            jumps.append((x0, max(x0 - a, b - x0), float(fr - fl)))
        fd.set_kinks([j[0] for j in jumps], [j[1] for j in jumps])
        out = []
        if jumps:
            at = np.repeat([j[0] for j in jumps], 2)
            d, _ = fd.df(at, np.tile([-1.0, 1.0], len(jumps)))
            out = [_ruled(x0, w, float(d[2 * i]) + 0.0, float(d[2 * i + 1]) + 0.0, jump)
                   for i, (x0, w, jump) in enumerate(jumps)]

        # Then kinks of a continuous f.  Candidates: jumps of a narrow central difference (a smoothed
        # f', refined only down to its own width) and the claim's jumps, each confirmed by one-sided
        # derivatives either side.
        delta = 1e-7

        def slope(u):
            s = delta * np.maximum(1.0, np.abs(u))
            return (f(u + s) - f(u - s)) / (2 * s)

        def zone(x0):
            return 4 * delta * max(1.0, abs(x0))

        def clear_of_jumps(c):
            # A difference across a jump of f spikes there: that candidate is the jump, found already.
            return all(abs(c - k.x) > k.width + zone(c) for k in out)

        # The forward's own jumps in slope are located only to the width of the difference
        # (snapped to the shortest decimal there: a kink at 6 is reported at 6); a jump of the claim
        # inside such a zone locates it better.  Then the claim's other jumps, checked with the
        # stencils kept clear of the kinks already found.
        found = [shortest_decimal(c[0] - zone(c[0]), c[0] + zone(c[0]))
                 for c in find_jumps(slope, lo, hi, iterations=14)]
        found = [c for c in found if clear_of_jumps(c)]
        claimed = [float(c) for c in candidates if clear_of_jumps(float(c))]
        for i, x0 in enumerate(found):
            inside = [c for c in claimed if abs(c - x0) <= zone(x0)]
            if inside:
                found[i] = min(inside, key=lambda c: abs(c - x0))
        found = sorted(set(found))
        _register(fd, out, found)
        out = _confirm(found, zone, out)
        rest = [c for c in claimed if all(abs(c - k.x) > k.width + zone(c) for k in out)]
        _register(fd, out, rest)
        out = sorted(_confirm(rest, zone, out), key=lambda k: k.x)
        _register(fd, out, [])
        return [k for k in out if inner[0] <= k.x <= inner[1]]

    def _confirm(xs, zone, known):
        """Kinks among xs: one-sided limits, extrapolated to x0 so a smooth slope between them cancels, differ."""
        out = list(known)
        for x0 in xs:
            w = zone(x0)
            if any(abs(x0 - k.x) <= k.width + w for k in out):
                continue
            at = np.array([x0 - w, x0 + w, x0 - 2 * w, x0 + 2 * w])
            d, e = fd.df(at, np.array([-1.0, 1.0, -1.0, 1.0]))
            # One-sided limits extrapolated linearly to x0: a smooth slope between the points cancels.
            dl, dr = 2 * d[0] - d[2], 2 * d[1] - d[3]
            if abs(dr - dl) > 30 * e.max() + 1e-8 * (1 + abs(dl) + abs(dr)):
                out.append(_ruled(x0, w, float(dl) + 0.0, float(dr) + 0.0))
        return out

    def activation_df(v):
        return fd.df(np.ravel(v))[0].reshape(np.shape(v))

    act = NumericActivation(label, f, activation_df, source="finite differences of the forward")
    return Truth("finite differences", lambda x: fd.df(x), kinks, act, label)


def resolve_truth(forward: Any, derivative: Any, name: str | None) -> Truth:
    """The true f' of ``forward`` (see the module docstring for which kind), labelled ``name`` or its own name."""
    from gradlab.activations import ActivationBase, activation

    if isinstance(forward, (str, ActivationBase)):
        act = activation(forward)
        return _symbolic_truth(act) if act.symbolic else _numeric_truth(act, "numeric activation")
    if not callable(forward):
        raise TypeError("forward must be a gradlab expression or built-in name, an Activation, a PyTorch "
                        f"callable or a NumPy function, got {forward!r}")
    if is_torch_object(forward) or numpy_or_torch(forward, "forward") == "torch":
        from gradlab.torch_bridge import has_custom_backward, torch_callable, torch_values

        call, default = torch_callable(forward)
        label = name or default
        if derivative is not None and not has_custom_backward(call):
            from gradlab.torch_bridge import torch_activation

            return _numeric_truth(torch_activation(forward, name=label), "autograd")
        # Autograd would give the claim itself (a custom backward): difference the forward instead.
        return _fd_truth(lambda v: torch_values(call, np.ravel(v), "forward").reshape(np.shape(v)), label)
    label = name or getattr(forward, "__name__", "forward")

    def f(v):
        return np.asarray(forward(np.asarray(v, dtype=np.float64)), dtype=np.float64)

    return _fd_truth(f, label)
