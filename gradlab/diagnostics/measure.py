"""Per-layer gradient diagnostics of an analog network, measured on its own batches.

At every step, one forward pass of the perturbed network and two backward passes through it:
the network's own (f' taken at each activation's perturbed input x~), and the same forward pass
with the exact f'(x) at every activation (x: the input before the output chain). Then the clean
network (the same weights and dropout masks, no chain anywhere), forward and backward. Between
them, per layer: what the activation's gradient error is, how often it crosses a kink or clips,
and what it does to the gradients the network learns from.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from gradlab.diagnostics.sites import activation_sites, analog_state, batches_of, parameter_groups, watching

__all__ = ["METRICS", "gradient_diagnostics", "gradient_similarity"]

#: The metrics of :func:`gradient_diagnostics`, by the kind of row they are measured on.
METRICS = {
    "grad_error": "activation: mean over the layer's units of |f'_taken(x~) - f'(x)| (the activation's gradient error)",
    "kink_crossing": "activation: fraction of units whose x and x~ lie on different sides of a kink of f'",
    "clamp_fraction": "activation: fraction of units outside the output chain's Clamp range (NaN: no Clamp)",
    "local_cosine": "activation: cosine between g * f'_taken(x~) and g * f'(x), g the gradient arriving at its "
                    "output (this layer's own effect, the same upstream gradient)",
    "local_rel_norm": "activation: |g f'_taken(x~) - g f'(x)| / |g f'(x)|",
    "cosine_exact": "parameters: cosine between the network's parameter gradient and that of the same forward pass "
                    "with exact f' everywhere (what the gradient error alone does)",
    "rel_norm_exact": "parameters: |g_noisy - g_exact| / |g_exact|",
    "cosine_clean": "parameters: cosine between the network's parameter gradient and the clean network's",
    "rel_norm_clean": "parameters: |g_noisy - g_clean| / |g_clean|",
    "loss": "model: the loss of the perturbed network",
    "loss_clean": "model: the loss of the clean network",
}


def gradient_similarity(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """(cosine, |a - b| / |b|) of two flat gradients, in float64; identical gradients give exactly (1, 0)."""
    if torch.equal(a, b):
        return 1.0, 0.0
    a64, b64 = a.double(), b.double()
    na, nb = float(a64.norm()), float(b64.norm())
    cosine = float((a64 * b64).sum()) / (na * nb) if na > 0 and nb > 0 else math.nan
    rel = float((a64 - b64).norm()) / nb if nb > 0 else math.inf
    return cosine, rel


def _flat(grads, params) -> torch.Tensor:
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, params)])


def _grads(loss: torch.Tensor, params: list[torch.nn.Parameter], *, retain: bool) -> list[torch.Tensor | None]:
    return list(torch.autograd.grad(loss, params, retain_graph=retain, allow_unused=True))


def _forward(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn, step: int) -> torch.Tensor:
    try:
        out = model(x)
        loss = loss_fn(out, y)
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ValueError(f"batch {step}: the model or the loss refused inputs of shape {tuple(x.shape)} and targets "
                         f"of shape {tuple(y.shape)}: {str(exc).splitlines()[0]}") from None
    if not (isinstance(loss, torch.Tensor) and loss.numel() == 1):
        raise ValueError(f"loss must return one number, got {type(loss).__name__} of shape "
                         f"{tuple(getattr(loss, 'shape', ()))}")
    return loss.reshape(())


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def gradient_diagnostics(
    model: nn.Module,
    batches,
    steps: int | None = None,
    *,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> pd.DataFrame:
    """Per-layer gradient error and its end-to-end effect, one row per (step, layer, metric).

    ``model`` is an analog network (``gnn.analogize(model, chain=...)``, ``gnn.paper_fcn``...);
    ``batches`` one (inputs, targets) pair of tensors, used at every step, or an iterable of them
    (a list or DataLoader is cycled to ``steps``; ``steps`` defaults to its length, or 1 for a
    pair). Step k uses the network's draws of step k: fresh noise, repeatable. ``loss`` defaults
    to the mean cross-entropy. With an ``optimizer`` the network trains as it measures (a step on
    the network's own gradients after each measurement); without, the weights stay as they are.

    Columns: step, layer (the module's name in the model; '(all)': all parameters together),
    kind ('activation', 'parameters', 'model'), metric (:data:`METRICS`), value, stderr (the
    standard error of grad_error over the layer's units, NaN where the number is not a sample
    mean). Probes and the analog state are restored afterwards; the model's buffers (BatchNorm's
    running statistics) see the perturbed pass only.
    """
    loss_fn = F.cross_entropy if loss is None else loss
    if not callable(loss_fn):
        raise TypeError(f"loss must be a callable (outputs, targets) -> loss, got {type(loss_fn).__name__}")
    state = analog_state(model)
    activation_sites(model)  # refuses a model with nothing to watch before any work
    groups = parameter_groups(model)
    params = [p for ps in groups.values() for p in ps]
    spans, at = {}, 0
    for name, ps in groups.items():
        n = sum(p.numel() for p in ps)
        spans[name], at = (at, at + n), at + n
    device = _device(model)
    rows: list[tuple] = []
    with watching(model) as probes:
        for step, x, y in batches_of(batches, steps):
            x, y = x.to(device), y.to(device)
            for probe in probes.values():
                probe.reset()
                probe.recording, probe.exact_backward = True, False
            state.noisy, state.draws.step = True, step
            loss_noisy = _forward(model, x, y, loss_fn, step)
            g_noisy = _grads(loss_noisy, params, retain=True)
            for probe in probes.values():
                probe.recording, probe.exact_backward = False, True
            g_exact = _grads(loss_noisy, params, retain=False)
            buffers = {k: b.clone() for k, b in model.named_buffers()}
            state.noisy = False
            try:
                loss_clean = _forward(model, x, y, loss_fn, step)
                g_clean = _grads(loss_clean, params, retain=False)
            finally:
                state.noisy = True
                with torch.no_grad():
                    for k, b in model.named_buffers():
                        b.copy_(buffers[k])
            rows += _site_rows(step, probes)
            flat = [_flat(g, params) for g in (g_noisy, g_exact, g_clean)]
            for name, (lo, hi) in {**spans, "(all)": (0, at)}.items():
                kind = "model" if name == "(all)" else "parameters"
                noisy, exact, clean = (f[lo:hi] for f in flat)
                for suffix, ref in (("exact", exact), ("clean", clean)):
                    cos, rel = gradient_similarity(noisy, ref)
                    rows += [(step, name, kind, f"cosine_{suffix}", cos, math.nan),
                             (step, name, kind, f"rel_norm_{suffix}", rel, math.nan)]
            rows += [(step, "(all)", "model", "loss", float(loss_noisy.detach()), math.nan),
                     (step, "(all)", "model", "loss_clean", float(loss_clean.detach()), math.nan)]
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                for p, g in zip(params, g_noisy):
                    p.grad = g
                optimizer.step()
    return pd.DataFrame(rows, columns=["step", "layer", "kind", "metric", "value", "stderr"])


def _site_rows(step: int, probes) -> list[tuple]:
    rows = []
    for name, probe in probes.items():
        n = probe.units
        if n == 0:  # the forward pass did not reach this activation (a branch not taken)
            rows += [(step, name, "activation", metric, math.nan, math.nan)
                     for metric in ("grad_error", "kink_crossing", "clamp_fraction", "local_cosine", "local_rel_norm")]
            continue
        mean = probe.error_sum / n
        var = max(probe.error_sq / n - mean * mean, 0.0) * n / max(n - 1, 1)
        dot, aa, bb, diff = probe.local
        if diff == 0:  # the derivative taken is the exact one wherever a gradient arrived
            local_cos, local_rel = 1.0, 0.0
        else:
            local_cos = dot / math.sqrt(aa * bb) if aa > 0 and bb > 0 else math.nan
            local_rel = math.sqrt(diff / bb) if bb > 0 else math.inf
        clamp = probe.clamped / probe.clamp_units if probe.clamp_units else math.nan
        rows += [
            (step, name, "activation", "grad_error", mean, math.sqrt(var / n)),
            (step, name, "activation", "kink_crossing", probe.crossings / n, math.nan),
            (step, name, "activation", "clamp_fraction", clamp, math.nan),
            (step, name, "activation", "local_cosine", local_cos, math.nan),
            (step, name, "activation", "local_rel_norm", local_rel, math.nan),
        ]
    return rows
