"""A noisy-training lab: a small MLP trained with plain NumPy, its forward pass perturbed.

Every training step sends the pre-activations through the perturbation chain (noisy training,
as in Wang et al., arXiv 2501.14531), and backpropagation uses f' at the perturbed values.
Softmax cross-entropy, Adam, He initialization.  Evaluation uses the same chain (the hardware
is noisy at inference too) with its own random streams.
"""
from __future__ import annotations

import functools

import numpy as np

from gradlab._threads import single_blas_thread
from gradlab.activations import Activation
from gradlab.perturbations.chain import Chain

__all__ = ["gradients", "load_digits_split", "softmax_xent", "train"]


@functools.lru_cache(maxsize=8)
def load_digits_split(seed: int, test_fraction: float = 0.25):
    """scikit-learn's bundled 8x8 digits (1,797 images; no download), pixels scaled to [0, 1]."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - exercised only without the extra
        from gradlab._extras import missing_extra

        raise ImportError(missing_extra("the digits network lab (scikit-learn's bundled digits)", "lab")) from None
    data = load_digits()
    x = data.data / 16.0
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train_ = order[:n_test], order[n_test:]
    parts = (x[train_], y[train_], x[test], y[test])
    for part in parts:
        part.flags.writeable = False  # cached and shared between runs
    return parts


def _forward(act, weights, biases, x, chain, seed):
    hs, zs = [x], []
    h = x
    for layer, (w, b) in enumerate(zip(weights, biases)):
        z = h @ w + b
        if layer < len(weights) - 1:
            if chain is not None:
                z = chain.apply(z, seed=(*seed, layer))
            zs.append(z)
            h = act.f(z)
            hs.append(h)
        else:
            logits = z
    return logits, zs, hs


def softmax_xent(logits, y):
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y] + 1e-300).mean()
    grad = p
    grad[np.arange(len(y)), y] -= 1.0
    return loss, grad / len(y)


def gradients(act, weights, biases, x, y, chain, seed):
    """(loss, grads of weights, grads of biases) of mean softmax cross-entropy."""
    logits, zs, hs = _forward(act, weights, biases, x, chain, seed)
    loss, delta = softmax_xent(logits, y)
    gw, gb = [None] * len(weights), [None] * len(weights)
    for layer in range(len(weights) - 1, -1, -1):
        gw[layer] = hs[layer].T @ delta
        gb[layer] = delta.sum(axis=0)
        if layer > 0:
            delta = (delta @ weights[layer].T) * act.df(zs[layer - 1])
    return loss, gw, gb


def _evaluate(act, weights, biases, x, y, chain, seed):
    logits, _, _ = _forward(act, weights, biases, x, chain, seed)
    loss, _ = softmax_xent(logits, y)
    return loss, float((logits.argmax(axis=1) == y).mean())


def train(
    act: Activation,
    chain: Chain | None,
    data,
    *,
    depth: int,
    hidden: int,
    epochs: int,
    batch: int,
    lr: float,
    seed: int,
):
    """Train; returns a list of per-epoch dicts (epoch, train_loss, train_accuracy, test_loss, test_accuracy)."""
    with single_blas_thread():  # small products between threaded kernels: see gradlab._threads
        return _train(act, chain, data, depth=depth, hidden=hidden, epochs=epochs, batch=batch, lr=lr, seed=seed)


def _train(act, chain, data, *, depth, hidden, epochs, batch, lr, seed):
    x_train, y_train, x_test, y_test = data
    rng = np.random.default_rng(seed)
    sizes = [x_train.shape[1]] + [hidden] * depth + [int(y_train.max()) + 1]
    weights = [rng.standard_normal((a, b)) * np.sqrt(2.0 / a) for a, b in zip(sizes, sizes[1:])]
    biases = [np.zeros(b) for b in sizes[1:]]
    params = weights + biases
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step = 0
    history = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(y_train))
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            step += 1
            _, gw, gb = gradients(act, weights, biases, x_train[idx], y_train[idx], chain, (seed, 0, step))
            for k, g in enumerate(gw + gb):
                m[k] = beta1 * m[k] + (1 - beta1) * g
                v[k] = beta2 * v[k] + (1 - beta2) * g * g
                m_hat = m[k] / (1 - beta1**step)
                v_hat = v[k] / (1 - beta2**step)
                params[k] -= lr * m_hat / (np.sqrt(v_hat) + eps)
        tr_loss, tr_acc = _evaluate(act, weights, biases, x_train, y_train, chain, (seed, 1, epoch))
        te_loss, te_acc = _evaluate(act, weights, biases, x_test, y_test, chain, (seed, 2, epoch))
        history.append({"epoch": epoch, "train_loss": tr_loss, "train_accuracy": tr_acc,
                        "test_loss": te_loss, "test_accuracy": te_acc})
    return history
