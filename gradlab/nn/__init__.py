"""Analog networks in PyTorch (the ``torch`` extra): gradlab's chains and activations as layers, the paper's models.

``from gradlab import nn as gnn`` needs torch; nothing else in gradlab imports this package.
"""
from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError("gradlab.nn needs PyTorch: pip install torch==2.13.0 && pip install -e '.[torch]'") from None

from gradlab.nn.activations import AnalogActivation, activation_function
from gradlab.nn.chains import AnalogChain, Draws, ReplayDraws, quantize, straight_through
from gradlab.nn.data import DATASETS, Dataset, load_dataset
from gradlab.nn.experiment import MODELS, analog_summary, build_network, hidden_widths, train_analog
from gradlab.nn.layers import SITES, Analog, AnalogConv2d, AnalogDropout, AnalogLinear, Block, Placement
from gradlab.nn.models import AnalogNet, paper_convnet, paper_fcn
from gradlab.nn.training import CONTROLS, evaluate, torch_threads, train_network

__all__ = [
    "CONTROLS", "DATASETS", "MODELS", "SITES", "Analog", "AnalogActivation", "AnalogChain", "AnalogConv2d",
    "AnalogDropout", "AnalogLinear", "AnalogNet", "Block", "Dataset", "Draws", "Placement", "ReplayDraws",
    "activation_function", "analog_summary", "build_network", "evaluate", "hidden_widths", "load_dataset",
    "paper_convnet", "paper_fcn", "quantize", "straight_through", "torch_threads", "train_analog", "train_network",
]
