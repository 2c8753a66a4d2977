"""Analog networks in PyTorch (the ``torch`` extra): gradlab's chains and activations as layers, the paper's models.

``from gradlab import nn as gnn`` needs torch. Nothing below this package imports it: the queries that
train networks (``gl.train_noisy``, ``gl.train_analog``, the companion experiments of
:mod:`gradlab.experiments`) and the figures drawn from them load it when they are called.
"""
from __future__ import annotations

# ruff: noqa: E402 -- the check for torch comes before the modules that import it
from gradlab._extras import require

# The install command names the way this gradlab was installed (a checkout, a wheel, an index).
require("torch", "gradlab.nn (analog networks in PyTorch)")

from gradlab.nn.activations import AnalogActivation, activation_function
from gradlab.nn.analogize import PLACEMENTS, AnalogModel, Conversion, analogize
from gradlab.nn.chains import AnalogChain, Draws, RangeGaussian, ReplayDraws, quantize, straight_through
from gradlab.nn.companion import (
    BIT_WORDS,
    TrainedMLP,
    clip_thresholds,
    hidden_blocks,
    mlp_accuracy,
    mode_placement,
    train_mode,
)
from gradlab.nn.data import DATASETS, Dataset, load_dataset
from gradlab.nn.experiment import MODELS, analog_summary, build_network, hidden_widths, train_analog
from gradlab.nn.layers import (
    SITES,
    Analog,
    AnalogConv1d,
    AnalogConv2d,
    AnalogConv3d,
    AnalogDropout,
    AnalogLinear,
    Block,
    ChainedActivation,
    Placement,
)
from gradlab.nn.models import AnalogNet, paper_convnet, paper_fcn
from gradlab.nn.noisy import digits_mlp, train_noisy
from gradlab.nn.probes import SiteProbe
from gradlab.nn.training import CONTROLS, evaluate, torch_threads, train_network

__all__ = [
    "BIT_WORDS", "CONTROLS", "DATASETS", "MODELS", "PLACEMENTS", "SITES", "Analog", "AnalogActivation",
    "AnalogChain", "AnalogConv1d", "AnalogConv2d", "AnalogConv3d", "AnalogDropout", "AnalogLinear", "AnalogModel",
    "AnalogNet", "Block", "ChainedActivation", "Conversion", "Dataset", "Draws", "Placement", "RangeGaussian",
    "ReplayDraws", "SiteProbe", "TrainedMLP", "activation_function", "analog_summary", "analogize", "build_network",
    "clip_thresholds", "digits_mlp", "evaluate", "hidden_blocks", "hidden_widths", "load_dataset", "mlp_accuracy",
    "mode_placement", "paper_convnet", "paper_fcn", "quantize", "straight_through", "torch_threads", "train_analog",
    "train_mode", "train_network", "train_noisy",
]
