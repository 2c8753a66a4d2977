"""One training loop for analog networks, and the controls that attribute an accuracy gap to its cause.

Adam on the mean cross-entropy, mini-batches in an order drawn from the seed, the network's draws
stepped once per batch (fresh noise at every step, the same for every activation and control at
one seed). After each epoch the test split is scored twice: on the perturbed network, with fresh
draws of its own (noise stays on at test time, as in the paper's code), and on the clean network
(the same weights, no chain anywhere). Dropout is off when scoring.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pandas as pd
import torch
from torch import nn

from gradlab._validate import check_choice, check_finite, check_int
from gradlab.nn.chains import straight_through
from gradlab.nn.data import Dataset
from gradlab.nn.models import AnalogNet
from gradlab.perturbations.chain import seed_of

__all__ = ["CONTROLS", "evaluate", "train_network", "torch_threads"]

#: The controls, each a precise change to the network or its training (what the docstring of
#: :func:`gradlab.train_analog` repeats); 'none' is the paper's setting.
CONTROLS = {
    "none": "the paper's network: every chain acts forward; backward, noise and quantization are straight-through, "
            "Clamp masks, f' is taken at each activation's perturbed input",
    "clean_gradient": "f' at each layer's output before its output chain: the activation's gradient error removed, "
                      "the forward pass unchanged",
    "forward_noise_only": "the loss and its gradient at the logits from the perturbed network, the backward pass "
                          "through the clean one (same weights and dropout masks, no chain)",
    "backward_noise_only": "the loss from the clean network, the backward pass through the perturbed one",
    "inputs_only": "the chain on layer inputs only",
    "weights_only": "the chain on weights and biases only",
    "outputs_only": "the chain on layer outputs only",
    "clamp_only": "only the Clamp stages, on every site: range limits without noise or quantization",
    "logit_activation": "the activation after the classifier's output chain too (the paper's code before April "
                        "2024 applied it there; its final run_conv.py does not)",
}

#: Images scored per forward pass when evaluating (bounds memory for any split).
EVAL_BATCH = 1000


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` for the block (1 when runs go side by side), then restored."""
    previous = torch.get_num_threads()
    torch.set_num_threads(check_int("threads", n, minimum=1))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _generator(seed: int, *key: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed_of((seed, *key))) >> 1)


@torch.no_grad()
def _score(net: AnalogNet, x: torch.Tensor, y: torch.Tensor, *, noisy: bool, step: int) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``net`` on (x, y); a logit that is not finite is never the prediction."""
    was_training, was_noisy = net.training, net.analog.noisy
    net.eval()
    net.analog.noisy, net.analog.draws.step = noisy, step
    correct, loss = 0, 0.0
    try:
        for start in range(0, len(y), EVAL_BATCH):
            logits, labels = net(x[start : start + EVAL_BATCH]), y[start : start + EVAL_BATCH]
            loss += float(nn.functional.cross_entropy(logits, labels, reduction="sum"))
            finite = torch.where(torch.isfinite(logits), logits, -torch.inf)  # a flipped exponent: inf or nan
            correct += int((finite.argmax(1) == labels).sum())
    finally:
        net.train(was_training)
        net.analog.noisy = was_noisy
    return loss / len(y), correct / len(y)


def evaluate(net: AnalogNet, x: torch.Tensor, y: torch.Tensor, *, noisy: bool, step: int) -> float:
    """Accuracy of ``net`` on (x, y), perturbed (draws at ``step``) or clean; dropout off.

    Logits that are not finite (a bit flip in an exponent overflows) count as -inf: never predicted.
    """
    return _score(net, x, y, noisy=noisy, step=step)[1]


def _logits(net: AnalogNet, x: torch.Tensor, control: str) -> torch.Tensor:
    if control not in ("forward_noise_only", "backward_noise_only"):
        return net(x)
    noisy = net(x)
    net.analog.noisy = False
    try:
        clean = net(x)  # the same draws step: the same dropout masks
    finally:
        net.analog.noisy = True
    return straight_through(clean, noisy) if control == "forward_noise_only" else straight_through(noisy, clean)


def train_network(
    net: AnalogNet,
    data: Dataset,
    *,
    control: str = "none",
    epochs: int = 10,
    batch: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    before_epoch: Callable[[AnalogNet, int], None] | None = None,
) -> pd.DataFrame:
    """Train ``net`` in place; one row per epoch: epoch, train_loss, train_accuracy (both over the epoch's
    batches as they were trained), test_loss and test_accuracy (perturbed network), test_accuracy_clean. The
    rows depend only on the arguments (no timings), so reruns match byte for byte.

    ``control`` is one of :data:`CONTROLS`; the ones that change the network itself (placement,
    logits) are built into ``net`` by its maker (:func:`gradlab.nn.experiment.build_network`),
    the ones that change the training (clean_gradient, the two one-sided noise controls) act here.
    ``before_epoch(net, epoch)`` (epochs from 0) runs before each epoch's first batch: a caller that
    changes the network's chains as training goes (a calibration after a warm-up) does it there.
    """
    check_choice("control", control, CONTROLS)
    epochs = check_int("epochs", epochs, minimum=1)
    batch = check_int("batch", batch, minimum=1)
    lr = check_finite("lr", lr)
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    seed = check_int("seed", seed, minimum=0)
    net.analog.clean_gradient = control == "clean_gradient"
    net.analog.draws.seed = seed
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    n = len(data.y_train)
    rows, step = [], 0
    net.train()
    for epoch in range(epochs):
        if before_epoch is not None:
            before_epoch(net, epoch)
            net.train()
        order = torch.randperm(n, generator=_generator(seed, 1, epoch))
        total_loss = correct = 0.0
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            x, y = data.x_train[idx], data.y_train[idx]
            net.analog.draws.step = step
            logits = _logits(net, x, control)
            loss = loss_fn(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += float(loss.detach()) * len(y)
            correct += float((logits.argmax(1) == y).sum())
            step += 1
        # Negative steps: scoring draws never repeat a training step's.
        test_loss, test_accuracy = _score(net, data.x_test, data.y_test, noisy=True, step=-1 - epoch)
        rows.append({
            "epoch": epoch + 1,
            "train_loss": total_loss / n,
            "train_accuracy": correct / n,
            "test_loss": test_loss,
            "test_accuracy": test_accuracy,
            "test_accuracy_clean": evaluate(net, data.x_test, data.y_test, noisy=False, step=-1 - epoch),
        })
    net.analog.clean_gradient = False
    return pd.DataFrame(rows)
