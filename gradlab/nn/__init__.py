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
from gradlab.nn.chains import (
    WORD_FORMATS,
    AnalogChain,
    BoundedQuantize,
    Draws,
    RangeGaussian,
    ReplayDraws,
    WordFlip,
    bounded_quantize,
    flip_positions,
    flip_words,
    noise_scale,
    quantize,
    stored,
    straight_through,
    word_bits,
)
from gradlab.nn.companion import (
    MODEL_DATA,
    TrainedMLP,
    TrainedNet,
    build_model,
    calibrate,
    clip_thresholds,
    fault_accuracies,
    hidden_blocks,
    noisy_accuracy,
    set_chains,
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
from gradlab.nn.proact import (
    PROACT_K,
    Clip,
    activation_maxima,
    fault_pattern,
    memory_bits,
    parameter_faults,
    set_clips,
    stored_parameters,
    train_thresholds,
)
from gradlab.nn.probes import SiteProbe
from gradlab.nn.training import CONTROLS, evaluate, torch_threads, train_network

__all__ = [
    "CONTROLS", "DATASETS", "MODELS", "MODEL_DATA", "PLACEMENTS", "PROACT_K", "SITES", "WORD_FORMATS", "Analog",
    "AnalogActivation", "AnalogChain", "AnalogConv1d", "AnalogConv2d", "AnalogConv3d", "AnalogDropout",
    "AnalogLinear", "AnalogModel", "AnalogNet", "Block", "BoundedQuantize", "ChainedActivation", "Clip",
    "Conversion", "Dataset", "Draws", "Placement", "RangeGaussian", "ReplayDraws", "SiteProbe", "TrainedMLP",
    "TrainedNet", "WordFlip", "activation_function", "activation_maxima", "analog_summary", "analogize",
    "bounded_quantize", "build_model", "build_network", "calibrate", "clip_thresholds", "digits_mlp", "evaluate",
    "fault_accuracies", "fault_pattern", "flip_positions", "flip_words", "hidden_blocks", "hidden_widths",
    "load_dataset", "memory_bits", "noise_scale", "noisy_accuracy", "paper_convnet", "paper_fcn", "parameter_faults",
    "quantize", "set_chains", "set_clips", "stored", "stored_parameters", "straight_through", "torch_threads",
    "train_analog", "train_mode", "train_network", "train_noisy", "train_thresholds", "word_bits",
]
