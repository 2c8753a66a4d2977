"""Where an analog model's activations and parameters are, and how diagnostics watch them.

An analog model is one of :mod:`gradlab.nn`'s: a :class:`~gradlab.nn.AnalogNet` (the paper's
networks) or an :class:`~gradlab.nn.AnalogModel` (:func:`~gradlab.nn.analogize` of a user's
model). Its activation sites are its :class:`~gradlab.nn.Block` s with an activation and its
:class:`~gradlab.nn.ChainedActivation` s; its layers are the modules that own parameters.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
from torch import nn

from gradlab import nn as gnn
from gradlab._validate import check_int

__all__ = ["activation_sites", "analog_state", "batches_of", "parameter_groups", "watching"]


def _short(name: str, model: nn.Module) -> str:
    """A module's name as the user knows it (inside an AnalogModel, without the leading 'model.')."""
    if isinstance(model, gnn.AnalogModel) and name.startswith("model."):
        return name[len("model."):]
    return name or "(model)"


def analog_state(model: nn.Module) -> gnn.Analog:
    """The :class:`~gradlab.nn.Analog` state the model's analog modules share (refused if it has none)."""
    state = getattr(model, "analog", None)
    if not isinstance(state, gnn.Analog):
        raise ValueError(f"model must be an analog network (gnn.analogize(model, chain=...), gnn.paper_fcn, "
                         f"gnn.paper_convnet), got a {type(model).__name__} with no analog state")
    return state


def activation_sites(model: nn.Module) -> dict[str, nn.Module]:
    """Name -> every module of ``model`` where an activation follows a chain (a shared module once)."""
    sites: dict[str, nn.Module] = {}
    seen: set[int] = set()
    for name, module in model.named_modules():
        if isinstance(module, (gnn.Block, gnn.ChainedActivation)) and module.activation is not None:
            if id(module) not in seen:
                seen.add(id(module))
                sites[_short(name, model)] = module
    if not sites:
        raise ValueError(f"the {type(model).__name__} has no analog activation to watch (no gnn.Block with an "
                         "activation, no gnn.ChainedActivation)")
    return sites


def parameter_groups(model: nn.Module) -> dict[str, list[torch.nn.Parameter]]:
    """Layer name -> the trainable parameters it owns directly (each layer's weight and bias; a Block's layer
    by the Block's name)."""
    # a Block's layer goes by the Block's name, the name its activation row has
    block_of = {f"{name}.layer": name for name, m in model.named_modules() if isinstance(m, gnn.Block)}
    groups: dict[str, list[torch.nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            owner = name.rsplit(".", 1)[0] if "." in name else ""
            groups.setdefault(_short(block_of.get(owner, owner), model), []).append(p)
    if not groups:
        raise ValueError(f"the {type(model).__name__} has no trainable parameter")
    return groups


@contextlib.contextmanager
def watching(model: nn.Module, *, keep: bool = False) -> Iterator[dict[str, gnn.SiteProbe]]:
    """A probe on every activation site for the block, removed afterwards, with the analog state restored."""
    state = analog_state(model)
    sites = activation_sites(model)
    saved = (state.noisy, state.clean_gradient, state.draws.step)
    probes = {}
    try:
        for name, site in sites.items():
            if site.probe is not None:
                raise RuntimeError(f"the activation site {name} is already watched (diagnostics running twice?)")
            site.probe = probes[name] = gnn.SiteProbe(site.activation.act, keep=keep)
        state.noisy, state.clean_gradient = True, False
        yield probes
    finally:
        for site in sites.values():
            site.probe = None
        state.noisy, state.clean_gradient, state.draws.step = saved


def batches_of(batches, steps: int | None) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """(step, inputs, targets) ``steps`` times from one (inputs, targets) pair or an iterable of them (cycled)."""
    single = (isinstance(batches, (tuple, list)) and len(batches) == 2
              and all(isinstance(t, torch.Tensor) for t in batches))
    if single:
        source: Iterable = [tuple(batches)]
    elif isinstance(batches, torch.Tensor) or not isinstance(batches, Iterable):
        raise TypeError(f"batches must be an (inputs, targets) pair of tensors or an iterable of them (a DataLoader), "
                        f"got {type(batches).__name__}")
    else:
        source = batches
    if steps is None:
        if not hasattr(source, "__len__"):
            raise ValueError("steps= is required when batches has no length (an iterator)")
        steps = len(source)
    steps = check_int("steps", steps, minimum=1)
    step = 0
    while step < steps:
        produced = False
        for batch in source:
            if step >= steps:
                return
            if not (isinstance(batch, (tuple, list)) and len(batch) == 2
                    and all(isinstance(t, torch.Tensor) for t in batch)):
                raise TypeError(f"batch {step}: expected an (inputs, targets) pair of tensors, got "
                                f"{type(batch).__name__}")
            produced = True
            yield step, batch[0], batch[1]
            step += 1
        if not produced:
            if step == 0:
                raise ValueError("batches is empty")
            raise ValueError(f"batches ran out after {step} batches, and steps={steps} asks for more (a list or a "
                             "DataLoader is cycled; an iterator cannot be)")
