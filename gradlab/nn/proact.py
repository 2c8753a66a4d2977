"""ProAct's clipped activations, their progressive threshold training, and faults in stored words (arXiv 2406.06313).

Mousavi et al. bound each ReLU by a threshold lambda with a smooth function that goes *to zero*
above it (their code, hamidmousavi0/reliable-relu-toolbox, ``bounded_hyrelu_proact``)::

    clip(h) = max(0, h * sigmoid(k (lambda - h))),   k = 20

so a value blown up by a flipped high-order bit is removed rather than passed on at lambda.
:class:`Clip` holds that form (``'smooth'``, the default) and the saturating min(h, lambda) of
ReLU6-like clipping (``'saturating'``, the variant gradlab used before), with lambda a tensor that
broadcasts over the batch: a scalar per layer, or one per neuron (in a ConvNet, one per C x H x W
element of the layer's output, as ProAct's neuron-wise bounds are shaped).

Thresholds start from activation statistics (:func:`activation_maxima`: each element's largest
activation on the training data; a layer-wise threshold is the layer's largest) and are then
trained progressively (:func:`train_thresholds`): the weights frozen, one layer at a time from the
last to the first, on cross-entropy plus distillation to the unclipped network, under a weight
decay on the thresholds that decreases step by step (it pulls them towards 0, i.e. tightens the
clipping), keeping each epoch's thresholds only while the accuracy stays within ``tolerance`` of
the accuracy the clipped network started from (else they return to the last kept ones and the
next, smaller decay starts). ProAct's own schedule (100 epochs per decay, 11 decays from 4e-5) is
GPU-sized; the CPU-sized defaults are documented at :func:`train_thresholds`.

Faults (:func:`parameter_faults`): every stored word of the network, weights, biases *and the
thresholds*, is a ``word`` of :data:`gradlab.nn.chains.WORD_FORMATS` (ProAct's model: Q15.16,
32-bit fixed point with 16 fractional bits), and every bit flips independently at rate ``ber``: a
pattern is drawn as the number of flips, Binomial(bits, ber), then their positions
(:func:`gradlab.nn.chains.flip_positions`). A neuron-wise layer stores one threshold per neuron,
so it has more words to be hit: the hybrid (neuron-wise in the last layer only) exists for that.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import pandas as pd
import torch
from torch import nn

from gradlab.conventions import CLIP_FORMS
from gradlab.nn.chains import flip_positions, flip_words, stored, word_bits
from gradlab.nn.layers import Block
from gradlab.nn.models import AnalogNet, run_clean

__all__ = ["CLIP_FORMS", "PROACT_K", "Clip", "activation_maxima", "clip_blocks", "fault_pattern", "memory_bits",
           "parameter_faults", "set_clips", "stored_parameters", "train_thresholds"]

#: ProAct's steepness of the smooth bound (its code's k = -20 with the sign folded in).
PROACT_K = 20.0


class Clip(nn.Module):
    """A clipped activation applied to an activation's output ``h``: ``form`` of :data:`CLIP_FORMS`, threshold
    ``threshold`` (an ``nn.Parameter``, frozen unless trained; a scalar or a tensor broadcasting over the batch)."""

    def __init__(self, threshold, form: str = "smooth", k: float = PROACT_K):
        super().__init__()
        if form not in CLIP_FORMS:
            raise ValueError(f"form must be one of {', '.join(map(repr, CLIP_FORMS))}, got {form!r}")
        self.threshold = nn.Parameter(torch.as_tensor(threshold, dtype=torch.get_default_dtype()).clone(),
                                      requires_grad=False)
        self.form, self.k = form, float(k)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        lam = self.threshold.to(h.dtype)
        if self.form == "saturating":
            return torch.minimum(h, lam)
        out = torch.clamp_min(h * torch.sigmoid(self.k * (lam - h)), 0.0)
        return torch.where(h == torch.inf, torch.zeros_like(out), out)  # the limit, not inf * 0

    def extra_repr(self) -> str:
        return f"form={self.form!r}, k={self.k:g}, threshold shape {tuple(self.threshold.shape)}"


def clip_blocks(net: AnalogNet) -> list[Block]:
    """The blocks of ``net`` that end in an activation (its hidden layers), in order: where clips go."""
    return [m for m in net.layers if isinstance(m, Block) and m.activation is not None]


@torch.no_grad()
def activation_maxima(net: AnalogNet, x: torch.Tensor, *, chunk: int = 500) -> list[torch.Tensor]:
    """Each hidden block's largest activation on ``x``, per element (shape of one sample's output: per
    neuron, or per C x H x W element), with the chains off and any clip removed; a layer's maximum is its max."""
    blocks = clip_blocks(net)
    saved = [(b.clip, b.bound) for b in blocks]
    out: list[torch.Tensor | None] = [None] * len(blocks)

    def keep(i):
        def hook(module, args, h):
            m = h.amax(0)
            out[i] = m if out[i] is None else torch.maximum(out[i], m)
        return hook

    for b in blocks:
        b.clip, b.bound = None, None
    try:
        run_clean(net, x, [(b, keep(i)) for i, b in enumerate(blocks)], chunk=chunk)
    finally:
        for b, (c, bound) in zip(blocks, saved):
            b.clip, b.bound = c, bound
    return out


def set_clips(net: AnalogNet, thresholds: Sequence | None, form: str = "smooth", k: float = PROACT_K) -> None:
    """Put a :class:`Clip` with each threshold on the hidden blocks of ``net`` in order (None: remove them)."""
    blocks = clip_blocks(net)
    if thresholds is None:
        for b in blocks:
            b.clip = None
        return
    if len(thresholds) != len(blocks):
        raise ValueError(f"thresholds must hold one entry per hidden layer ({len(blocks)}), got {len(thresholds)}")
    for b, t in zip(blocks, thresholds):
        b.clip = Clip(torch.as_tensor(t, dtype=next(net.parameters()).dtype), form, k)


def _soft_cross_entropy(logits: torch.Tensor, target_prob: torch.Tensor) -> torch.Tensor:
    return torch.mean(torch.sum(-target_prob * torch.log_softmax(logits, 1), 1))


@torch.no_grad()
def _accuracy(net: AnalogNet, x: torch.Tensor, y: torch.Tensor, chunk: int = 1000) -> float:
    correct = sum(int((net(x[s : s + chunk]).argmax(1) == y[s : s + chunk]).sum()) for s in range(0, len(y), chunk))
    return correct / len(y)


def train_thresholds(
    net: AnalogNet,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    decays: Sequence[float] = (1.0, 0.1, 0.01),
    epochs: int = 2,
    tolerance: float = 0.005,
    lr_layer: float = 0.02,
    lr_neuron: float = 0.005,
    batch: int = 128,
    seed: int = 0,
) -> pd.DataFrame:
    """ProAct's progressive threshold training, in place, on the clipped network ``net`` (clips set).

    The weights and biases stay frozen (and dropout off); the thresholds of one hidden layer train
    at a time, from the last layer to the first, with Adam (``lr_layer`` for a layer's single
    threshold, ``lr_neuron`` for neuron-wise ones; ProAct's are 0.01 and 0.001) on cross-entropy
    plus distillation (cross-entropy to the softmax of the unclipped network, the same weights
    without clips). For each weight decay of ``decays`` in turn (Adam's
    L2 term, pulling thresholds towards 0), ``epochs`` epochs over (x, y) in batches of ``batch``;
    after each, the thresholds are kept if the accuracy on (x, y) is at least the starting
    accuracy less ``tolerance``, else they go back to the last kept ones and the next decay starts.

    CPU-sized: ProAct runs 100 epochs (plus 5 of warm-up) for each of 11 decays from 4e-5 down by
    factors of 10, a tolerance of 0.2 points on its validation split; here 3 decays x 2 epochs on
    the training split given (4,000 MNIST or 1,347 digits images), tolerance 0.5 points, and
    decays from 1.0 down (so few steps need a strong pull to move a threshold at all; the smooth
    bound halves activations at lambda, so cross-entropy and distillation push lambda up). Returns one row per
    (layer, decay, epoch): layer (0 = first hidden), decay, epoch, accuracy, kept, mean_threshold.
    """
    blocks = clip_blocks(net)
    if any(b.clip is None for b in blocks):
        raise ValueError("train_thresholds needs a Clip on every hidden layer (set_clips)")
    teacher = copy.deepcopy(net)
    set_clips(teacher, None)
    teacher.eval()
    net.eval()  # dropout off; the weights are frozen anyway
    was_noisy = net.analog.noisy
    net.analog.noisy = teacher.analog.noisy = False
    frozen = [(p, p.requires_grad) for p in net.parameters()]
    for p, _ in frozen:
        p.requires_grad_(False)
    with torch.no_grad():
        target = torch.cat([torch.softmax(teacher(x[s : s + 1000]), 1) for s in range(0, len(y), 1000)])
    start = _accuracy(net, x, y)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    try:
        for layer in reversed(range(len(blocks))):
            lam = blocks[layer].clip.threshold
            lam.requires_grad_(True)
            lr = lr_layer if lam.numel() == 1 else lr_neuron
            optimizer = torch.optim.Adam([lam], lr=lr)
            kept = lam.detach().clone()
            for decay in decays:
                optimizer.param_groups[0]["weight_decay"] = decay
                for epoch in range(epochs):
                    order = torch.randperm(len(y), generator=gen)
                    for s in range(0, len(y), batch):
                        idx = order[s : s + batch]
                        logits = net(x[idx])
                        loss = nn.functional.cross_entropy(logits, y[idx]) + _soft_cross_entropy(logits, target[idx])
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        optimizer.step()
                    acc = _accuracy(net, x, y)
                    ok = acc >= start - tolerance
                    with torch.no_grad():
                        if ok:
                            kept = lam.detach().clone()
                        else:
                            lam.copy_(kept)
                    rows.append({"layer": layer, "decay": decay, "epoch": epoch + 1, "accuracy": acc, "kept": ok,
                                 "mean_threshold": float(kept.mean())})
                    if not ok:
                        break
            lam.requires_grad_(False)
    finally:
        for p, flag in frozen:
            p.requires_grad_(flag)
        net.analog.noisy = was_noisy
    return pd.DataFrame(rows)


def stored_parameters(net: AnalogNet, word: str, *, thresholds: bool = True) -> tuple[list, list]:
    """Round every stored word of ``net`` to ``word`` in place; return (weights and biases, thresholds):
    the two fault memories, each a list of parameters in network order."""
    weights, lams = [], []
    for module in net.modules():
        if isinstance(module, Block):
            weights += [p for p in (module.layer.weight, module.layer.bias) if p is not None]
            if thresholds and module.clip is not None:
                lams.append(module.clip.threshold)
    with torch.no_grad():
        for p in weights + lams:
            p.copy_(stored(p, word))
    return weights, lams


class parameter_faults:  # noqa: N801 -- a context manager used like a function
    """Within the block, the bits of ``positions`` (of the memory ``params`` laid end to end, ``word`` each)
    are flipped in place; the words are restored on leaving. ``positions`` may come from :func:`flip_positions`.
    """

    def __init__(self, params: Sequence[torch.Tensor], word: str, positions: torch.Tensor):
        self.params, self.word, self.positions = list(params), word, positions

    def __enter__(self):
        n = word_bits(self.word)
        self.saved = []
        offset = 0
        with torch.no_grad():
            for p in self.params:
                span = p.numel() * n
                mine = self.positions[(self.positions >= offset) & (self.positions < offset + span)] - offset
                if len(mine):
                    self.saved.append((p, p.detach().clone()))
                    p.copy_(flip_words(p.detach(), self.word, mine))
                offset += span
        return self

    def __exit__(self, *exc):
        with torch.no_grad():
            for p, value in self.saved:
                p.copy_(value)
        return False


def memory_bits(params: Sequence[torch.Tensor], word: str) -> int:
    """Bits in the memory ``params`` stored as ``word``s."""
    return sum(p.numel() for p in params) * word_bits(word)


def fault_pattern(params: Sequence[torch.Tensor], word: str, ber: float, generator: torch.Generator) -> torch.Tensor:
    """A fault pattern of the memory ``params`` at rate ``ber`` (:func:`gradlab.nn.chains.flip_positions`)."""
    return flip_positions(memory_bits(params, word), ber, generator)
