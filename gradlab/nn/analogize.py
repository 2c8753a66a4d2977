"""A user's own PyTorch model made analog: a copy whose layers and activations pass gradlab's chains.

:func:`analogize` copies a model and replaces, in the copy, every ``nn.Linear`` and
``nn.Conv1d/2d/3d`` by its analog layer (the placement's chains on its inputs, weights and
biases), every activation module it knows (``nn.ReLU``, ``nn.GELU``, ``nn.SiLU``,
``nn.LeakyReLU``, ``nn.ReLU6``, ``nn.ELU``, ``nn.Softplus``, ``nn.Mish``, ``nn.Tanh``,
``nn.Sigmoid``, ``nn.Hardswish``, gradlab's :class:`~gradlab.nn.activations.AnalogActivation`)
by a :class:`~gradlab.nn.layers.ChainedActivation` (the placement's output chain on its input,
then the activation in gradlab's exact form), and ``nn.Dropout`` by an
:class:`~gradlab.nn.layers.AnalogDropout` (masks from the network's draws, so a noisy and a clean
pass of one step share them). The model's output (the logits) passes the output chain too, as
in the paper's network.

Where a layer feeds its activation directly (``Linear -> ReLU``) this is the paper's placement
exactly (:class:`~gradlab.nn.layers.Block`: layer, output chain, activation). Where something
stands between (``Conv -> BatchNorm -> ReLU``) the output chain acts on the activation's input,
after it: the point where gradlab's e(x) describes the activation's gradient error.

What it did is in :attr:`AnalogModel.conversion`: each module converted, kept (modules with no
analog counterpart that compute exactly: pooling, normalization, reshaping, softmax) or
unknown (left as it is, and said so in a warning), and the activation functions that
``forward`` calls directly (``F.relu``...), which no module replacement can reach (found by
tracing ``forward`` with torch.fx; a model that cannot be traced is said to be unchecked).
"""
from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from gradlab._validate import check_int
from gradlab.nn.activations import AnalogActivation
from gradlab.nn.chains import AnalogChain, Draws
from gradlab.nn.layers import (
    SITES,
    Analog,
    AnalogConv1d,
    AnalogConv2d,
    AnalogConv3d,
    AnalogDropout,
    AnalogLinear,
    ChainedActivation,
    Placement,
)
from gradlab.perturbations import Chain, Stage

__all__ = ["PLACEMENTS", "AnalogModel", "Conversion", "analogize"]

#: The named placements of one chain (:class:`~gradlab.nn.layers.Placement`).
PLACEMENTS = ("paper", "inputs", "weights", "outputs")


def _spelling(module: nn.Module) -> str | None:
    """The gradlab activation an activation module computes (None: not one gradlab knows)."""
    kind = type(module)
    if kind is nn.ReLU:
        return "relu"
    if kind is nn.GELU:
        return "gelu" if module.approximate == "none" else "gelu_tanh"
    if kind is nn.SiLU:
        return "silu"
    if kind is nn.LeakyReLU:
        return f"leaky_relu(alpha={module.negative_slope!r})"
    if kind is nn.ELU:
        return f"elu(alpha={module.alpha!r})"
    if kind is nn.Softplus:
        # torch's Softplus is linear above threshold / beta; the two differ there by < exp(-threshold)
        return f"softplus(beta={module.beta!r})"
    return {nn.ReLU6: "relu6", nn.Mish: "mish", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid",
            nn.Hardswish: "hardswish"}.get(kind)


#: Modules with no analog counterpart that compute exactly (digital), kept as they are.
_KEPT = (
    nn.Flatten, nn.Unflatten, nn.Identity, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d,
    nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm,
    nn.GroupNorm, nn.Softmax, nn.LogSoftmax,
)
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
_CONVS = {nn.Conv1d: AnalogConv1d, nn.Conv2d: AnalogConv2d, nn.Conv3d: AnalogConv3d}

#: Activation functions ``forward`` may call without a module (what tracing looks for).
_FUNCTIONAL = {
    F.relu: "F.relu", F.relu_: "F.relu_", torch.relu: "torch.relu", torch.relu_: "torch.relu_", F.gelu: "F.gelu",
    F.silu: "F.silu", F.leaky_relu: "F.leaky_relu", F.relu6: "F.relu6", F.elu: "F.elu", F.softplus: "F.softplus",
    F.mish: "F.mish", F.hardswish: "F.hardswish", F.hardtanh: "F.hardtanh", F.sigmoid: "F.sigmoid",
    F.tanh: "F.tanh", torch.sigmoid: "torch.sigmoid", torch.tanh: "torch.tanh", torch.clamp: "torch.clamp",
    torch.clamp_min: "torch.clamp_min", torch.maximum: "torch.maximum", torch.where: "torch.where",
}
_METHODS = {"relu", "relu_", "sigmoid", "tanh", "clamp", "clamp_", "clamp_min", "clip"}


@dataclass(frozen=True)
class Conversion:
    """What :func:`analogize` did to each module of the model, and what it could not reach.

    ``rows``: (module name, its type, action, what it became, a note), action one of 'converted',
    'kept', 'unknown', 'functional' (an activation called in ``forward``, not converted).
    ``traced``: whether ``forward`` could be traced to look for functional calls (else ``trace_error``).
    """

    rows: tuple[tuple[str, str, str, str, str], ...]
    traced: bool
    trace_error: str = ""

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows), columns=["module", "type", "action", "to", "note"])

    def names(self, action: str) -> list[str]:
        return [r[0] for r in self.rows if r[2] == action]

    @property
    def converted(self) -> list[str]:
        return self.names("converted")

    @property
    def unknown(self) -> list[str]:
        return self.names("unknown")

    @property
    def functional(self) -> list[str]:
        return self.names("functional")

    def problems(self) -> list[str]:
        """One line per thing left unconverted that may carry analog error (empty: none)."""
        lines = [f"{r[0]} ({r[1]}): {r[4]}" for r in self.rows if r[2] in ("unknown", "functional")]
        if not self.traced:
            lines.append(f"forward could not be traced ({self.trace_error}): activation functions it may call "
                         "directly (F.relu...) were not looked for")
        return lines

    def __str__(self) -> str:
        return self.frame().to_string(index=False)


class AnalogModel(nn.Module):
    """A converted copy of a model: ``model`` (the copy), the :class:`~gradlab.nn.layers.Analog` state its
    analog modules share, the placement, the :class:`Conversion`, the output chain on the model's output."""

    def __init__(self, model: nn.Module, analog: Analog, placement: Placement, conversion: Conversion, *,
                 index: int, logit_chain: bool):
        super().__init__()
        self.model, self.analog, self.placement, self.conversion = model, analog, placement, conversion
        self.output_chain = AnalogChain(placement.outputs if logit_chain else (), (index, SITES["outputs"]))

    def forward(self, *args, **kwargs):
        self.analog.calls = {}  # a module that runs twice in one pass draws twice
        out = self.model(*args, **kwargs)
        if self.analog.noisy and isinstance(out, torch.Tensor):
            out = self.output_chain(out, self.analog.draws)
        return out


def _placement(chain, placement) -> Placement:
    if isinstance(placement, Placement):
        if chain is not None:
            raise ValueError("analogize: give chain= with a named placement, or a Placement object alone, not both")
        return placement
    if placement not in PLACEMENTS:
        raise ValueError(f"analogize: placement must be one of {', '.join(PLACEMENTS)} or a gnn.Placement, "
                         f"got {placement!r}")
    if chain is None:
        raise ValueError("analogize: chain= is required with a named placement (e.g. gl.analog(0.5, 16))")
    where = Placement.paper(chain)
    return where if placement == "paper" else where.only(placement)


def _functional_calls(model: nn.Module) -> tuple[list[tuple[str, str]], bool, str]:
    """(call site, function) for each activation function ``forward`` calls directly; whether tracing worked."""
    import torch.fx

    class _Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m: nn.Module, name: str) -> bool:  # gradlab's modules compute in NumPy
            return isinstance(m, AnalogActivation) or super().is_leaf_module(m, name)

    try:
        graph = _Tracer().trace(model)
    except Exception as exc:  # torch.fx refuses data-dependent control flow, among other things
        return [], False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
    found = []
    for node in graph.nodes:
        if node.op == "call_function" and node.target in _FUNCTIONAL:
            found.append((node.name, _FUNCTIONAL[node.target]))
        elif node.op == "call_method" and node.target in _METHODS:
            found.append((node.name, f"Tensor.{node.target}"))
    return found, True, ""


def _copy_parameters(new: nn.Module, old: nn.Module) -> nn.Module:
    ref = next(old.parameters())
    new = new.to(device=ref.device, dtype=ref.dtype)
    new.load_state_dict(old.state_dict())
    for (_, p_new), (_, p_old) in zip(new.named_parameters(), old.named_parameters()):
        p_new.requires_grad_(p_old.requires_grad)
    new.train(old.training)
    return new


def analogize(
    model: nn.Module,
    chain: Chain | Sequence[Stage] | None = None,
    *,
    placement: str | Placement = "paper",
    logit_chain: bool = True,
    seed: int = 0,
) -> AnalogModel:
    """A copy of ``model`` whose layers and activations pass gradlab's chains (the model itself is not changed).

    ``chain`` (e.g. ``gl.analog(0.5, 16)``) is placed as ``placement`` says: 'paper' (the paper's
    code: its deterministic stages then its noise on layer inputs, weights and biases; the whole
    chain on layer outputs), or 'inputs', 'weights', 'outputs' (that site only), or a
    :class:`~gradlab.nn.layers.Placement` object (then no ``chain``). ``logit_chain=False`` leaves
    the model's output unperturbed. ``seed`` seeds the draws (fresh at every step the caller sets).

    Returns an :class:`AnalogModel`; its ``conversion`` says what was converted, kept or left
    alone. Unknown modules and activation functions called in ``forward`` are also named in one
    warning. A model with nothing to convert is refused.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"analogize: model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(model, AnalogModel):
        raise ValueError("analogize: the model is already an analog copy (its .model is the converted module)")
    where = _placement(chain, placement)
    functional, traced, trace_error = _functional_calls(model)
    copied = copy.deepcopy(model)
    analog = Analog(draws=Draws(check_int("seed", seed, minimum=0)))
    rows: list[tuple[str, str, str, str, str]] = []
    done: dict[int, nn.Module] = {}  # a module used twice stays one module
    counter = iter(range(1 << 30))

    def convert(module: nn.Module, name: str) -> nn.Module | None:
        kind = type(module).__name__
        if id(module) in done:
            return done[id(module)]
        new: nn.Module | None = None
        if type(module) is nn.Linear:
            new = _copy_parameters(AnalogLinear(module.in_features, module.out_features, bias=module.bias is not None,
                                                analog=analog, placement=where, index=next(counter)), module)
        elif type(module) in _CONVS:
            new = _copy_parameters(_CONVS[type(module)](
                module.in_channels, module.out_channels, module.kernel_size, stride=module.stride,
                padding=module.padding, dilation=module.dilation, groups=module.groups,
                bias=module.bias is not None, padding_mode=module.padding_mode,
                analog=analog, placement=where, index=next(counter)), module)
        elif type(module) is nn.Dropout:
            new = AnalogDropout(module.p, analog=analog, index=next(counter))
            new.train(module.training)
        elif isinstance(module, AnalogActivation) or _spelling(module) is not None:
            act = module if isinstance(module, AnalogActivation) else AnalogActivation(_spelling(module))
            new = ChainedActivation(act, analog=analog, placement=where, index=next(counter))
            new.train(module.training)
            rows.append((name, kind, "converted", f"ChainedActivation({act.act.label})", ""))
        if new is not None:
            if not isinstance(new, ChainedActivation):
                rows.append((name, kind, "converted", type(new).__name__, ""))
            done[id(module)] = new
            return new
        if isinstance(module, _KEPT):
            rows.append((name, kind, "kept", kind, "no analog counterpart: computed exactly"))
            return None
        # named_children() names a module used twice once; each place it is used is replaced
        children = [(n, c) for n, c in module._modules.items() if c is not None]
        own = [n for n, _ in module.named_parameters(recurse=False)]
        if children or isinstance(module, _CONTAINERS):
            if own:
                rows.append((name or "(model)", kind, "unknown", kind,
                             f"its own parameters ({', '.join(own)}) are used in its forward, left digital"))
            for child_name, child in children:
                new_child = convert(child, f"{name}.{child_name}" if name else child_name)
                if new_child is not None:
                    setattr(module, child_name, new_child)
            return None
        rows.append((name, kind, "unknown", kind, "no analog counterpart known to gradlab: left as it is"))
        return None

    replaced = convert(copied, "")
    if replaced is not None:  # the model is a single layer or activation
        copied = replaced
    if not any(r[2] == "converted" for r in rows):
        found = ", ".join(f"{r[0]} ({r[1]})" for r in rows) or "no modules"
        raise ValueError(f"analogize: the model has no Linear, Conv or activation module to convert; found {found}")
    rows += [(f"forward: {site}", function, "functional", "", "called in forward: no module to replace, stays exact")
             for site, function in functional]
    conversion = Conversion(tuple(rows), traced, trace_error)
    problems = conversion.problems()
    if problems:
        warnings.warn("analogize: left unconverted (see .conversion): " + "; ".join(problems), stacklevel=2)
    return AnalogModel(copied, analog, where, conversion, index=next(counter), logit_chain=logit_chain)
