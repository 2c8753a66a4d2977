"""What every query shares: turning user arguments into activations, chains and grids; identity columns."""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from gradlab._validate import check_finite
from gradlab.activations import Activation, NumericActivation, activation
from gradlab.conventions import METHODS
from gradlab.perturbations.chain import Chain
from gradlab.perturbations.stages import Stage

__all__ = ["FRAME_BYTES", "METHODS", "ActivationLike", "ArgumentsChecked", "arguments_checked", "as_activations",
           "as_chain", "as_chains", "as_grid", "check_only", "identity_columns", "seed_tuple"]

_CHECK_ONLY = contextvars.ContextVar("gradlab_check_only", default=False)


class ArgumentsChecked(Exception):
    """Raised by a query inside :func:`check_only` once its arguments and its budget passed, before any work."""


@contextlib.contextmanager
def check_only():
    """Queries called inside check their arguments and their budget, then raise ArgumentsChecked.

    The sweep runner checks every point of a grid this way before it runs the first: the checks
    are the queries' own, so a point refused mid-sweep cannot be accepted up front.
    """
    token = _CHECK_ONLY.set(True)
    try:
        yield
    finally:
        _CHECK_ONLY.reset(token)


def arguments_checked() -> None:
    """Where a query's checks end and its work begins: stop here inside :func:`check_only`."""
    if _CHECK_ONLY.get():
        raise ArgumentsChecked

#: A name or expression, an Activation, a NumericActivation, or a PyTorch callable (see gl.activation).
ActivationLike = str | Activation | NumericActivation | Callable


def as_activations(acts: ActivationLike | Sequence[ActivationLike]) -> list[Activation | NumericActivation]:
    """One or several activations (names, expressions, Activation objects, torch callables) as a list."""
    # A callable is one activation even when iterable (torch's nn.Sequential is both).
    if isinstance(acts, (str, Activation, NumericActivation)) or callable(acts):
        items = [acts]
    elif isinstance(acts, (dict, set, frozenset)):
        raise TypeError(f"activations must be a name, an Activation or a list of them, not a {type(acts).__name__} "
                        f"(its order or its values would be guessed), got {acts!r:.80}")
    elif isinstance(acts, Iterable) and not isinstance(acts, bytes):
        items = list(acts)
    else:
        raise TypeError(
            "activations must be a name, an expression, an Activation, a PyTorch callable or a list of them, "
            f"got {type(acts).__name__} {acts!r}"
        )
    if not items:
        raise ValueError("activations must name at least one activation, got an empty list")
    return [activation(a) for a in items]


def as_chain(chain: Chain | Stage | Sequence[Stage]) -> Chain:
    """One chain: a Chain, a single stage, or a list of stages applied in order."""
    if isinstance(chain, Chain):
        return chain
    if isinstance(chain, Stage):
        return Chain((chain,))
    if isinstance(chain, (list, tuple)):
        if any(isinstance(c, Chain) for c in chain):
            raise TypeError(
                "chain must be one chain; got a list holding chains (queries that compare chains, such as "
                "error_near_zero, take a list of them)"
            )
        return Chain(tuple(chain))
    raise TypeError(f"chain must be a gradlab Chain (e.g. gl.analog()), a stage or a list of stages, got {chain!r}")


def as_chains(chains: Chain | Stage | Sequence[Stage] | Sequence[Chain]) -> list[Chain]:
    """One or several chains. A list of stages is one chain, as everywhere; several chains are a list of Chains."""
    if isinstance(chains, (Chain, Stage)):
        return [as_chain(chains)]
    if not isinstance(chains, (list, tuple)):
        raise TypeError(f"chains must be a Chain, a stage, a list of stages or a list of Chains, got {chains!r}")
    if not chains:
        raise ValueError("chains must hold at least one chain, got an empty list")
    if all(isinstance(c, Stage) for c in chains):
        return [as_chain(chains)]
    if all(isinstance(c, Chain) for c in chains):
        return list(chains)
    bad = next(c for c in chains if not isinstance(c, Chain))
    raise TypeError(
        "chains must be one chain (a list of stages) or a list of Chains, not a mixture: spell each chain as "
        f"gl.chain([...]) or gl.analog(...); got {bad!r} among chains"
    )


def as_grid(name: str, values) -> np.ndarray:
    """A non-empty 1-D float64 array of finite values (numbers only: no strings, booleans or complex numbers)."""
    raw = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if raw.dtype == object and raw.ndim <= 1:
        for v in raw.ravel():  # 10**400 is an object array: give it the number's own message
            if isinstance(v, int) and not isinstance(v, bool):
                check_finite(name, v)
    if raw.dtype.kind not in "iuf" or raw.dtype == object:
        what = {"b": "booleans", "U": "strings", "S": "strings", "c": "complex numbers"}.get(raw.dtype.kind, "")
        got = f"{what} {values!r:.60}" if what else f"{values!r:.80}"
        raise TypeError(f"{name} must be a number or a 1-D sequence of numbers, got {got}")
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a 1-D sequence of numbers, got {values!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)][0]
        raise ValueError(f"{name} must hold finite numbers, got {float(bad)!r}")
    return np.ascontiguousarray(arr)


#: Bytes per row of a result frame and its working arrays (about 20 float columns, with copies).
FRAME_BYTES = 400


def identity_columns(act: Activation) -> dict:
    """The columns that say which activation a row is about."""
    return {"activation": act.label, "family": act.name, **{f"param_{k}": v for k, v in act.params.items()}}


def seed_tuple(seed) -> tuple:
    """A seed as a tuple, so a query can extend it with its own stream indices: 7 -> (7,)."""
    return tuple(seed) if isinstance(seed, (tuple, list)) else (seed,)
