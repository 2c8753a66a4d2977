"""What every activation offers the layers below the queries, symbolic or numeric, so none asks which it is."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import ModuleType

import numpy as np

from gradlab.activations.evaluation import Evaluation

__all__ = ["ActivationBase"]


class ActivationBase(ABC):
    """An activation as the engines see it: f, f', f'' on float64 arrays, where they jump, and its identity.

    Subclasses set ``name``, ``params``, ``kink``, ``family`` and ``evaluator`` (an
    :class:`~gradlab.activations.evaluation.Evaluation`) and define the abstract methods.
    """

    #: True where f' and its kinks are known exactly (a sympy definition); False where they are estimated.
    symbolic: bool
    name: str
    params: Mapping[str, float]
    kink: str
    family: str | None
    evaluator: Evaluation

    def f(self, values) -> np.ndarray:
        """f at ``values`` (array-like, float64), same shape."""
        return self.evaluator.f(values)

    def df(self, values) -> np.ndarray:
        """f' at ``values`` (its kink convention applied at a jump of f'), same shape."""
        return self.evaluator.df(values)

    def d2f(self, values) -> np.ndarray:
        """f'' at ``values`` (away from kinks), same shape."""
        return self.evaluator.d2f(values)

    @property
    def kernels(self) -> ModuleType | None:
        """Compiled scalar cores ``f1, df1, d2f1`` that other kernels can inline, or None (evaluated from Python)."""
        return self.evaluator.kernels

    @abstractmethod
    def jump_points(self, lo: float, hi: float) -> np.ndarray:
        """Sorted points in (lo, hi) where f or f' jumps: exact where the activation is symbolic, else estimated."""

    @abstractmethod
    def kinks(self) -> tuple:
        """The exactly known kinks (empty where they are only estimated)."""

    @abstractmethod
    def with_kink(self, kink: str) -> ActivationBase:
        """The same activation with another convention for f' at a kink."""

    @abstractmethod
    def df_exact(self, values) -> np.ndarray:
        """f' at a few points, as exactly as the activation allows (no compilation)."""

    @property
    @abstractmethod
    def label(self) -> str:
        """Short name for tables and legends."""

    @property
    def paper_kink(self) -> str | None:
        """The kink convention that reproduces the paper's code for this family (None if it has none)."""
        return None

    @property
    def paper_note(self) -> str:
        """What the paper's code does at this family's kink, in words ('' if nothing)."""
        return ""
