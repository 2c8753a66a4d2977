"""What per-layer diagnostics cost: one diagnosed step against one plain training step, and the prediction.

A plain step is forward + cross-entropy + backward + Adam (1e-3) on a batch of 64 MNIST-5k images;
a diagnosed step is ``gl.gradient_diagnostics`` on that batch with the same optimizer (the
perturbed forward pass, its own and the exact-f' backward passes, the clean network forward and
backward, the metrics, then the Adam step). The paper's FCN (784-128-64-10) and ConvNet (its
default widths, a third of the paper's) under gl.analog(0.5, 8), ReLU, float32,
``torch.set_num_threads(1)``. The two kinds alternate in blocks of 5 steps (the diagnosed block is
one call over 5 batches, as a user calls it), so a slow spell of the machine hits both; each
block is timed on its own and divided by 5. Then the prediction: ``gl.predict_layer_error``
on 4 batches, the seconds after the recording (``attrs['prediction_seconds']``).

Run: python benchmarks/bench_diagnostics.py [--repeats 10]   (results: benchmarks/README.md)
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

import gradlab as gl
from gradlab import nn as gnn

BATCH, BLOCK = 64, 5


def _plain_step(net, opt, x, y, step):
    net.analog.draws.step = step
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    opt.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help=f"timed blocks of {BLOCK} steps of each kind per model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = gnn.load_dataset("mnist5k")
    batches = [(data.x_train[i : i + BATCH], data.y_train[i : i + BATCH])
               for i in range(0, BATCH * (2 * BLOCK + 2), BATCH)]
    chain = gl.analog(0.5, 8)
    models = {"FCN 784-128-64-10": lambda: gnn.paper_fcn([784, 128, 64, 10], "relu", chain, seed=0),
              "ConvNet (default widths)": lambda: gnn.paper_convnet("relu", chain, seed=0)}
    print(f"load {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores; {args.repeats} blocks of {BLOCK} steps "
          "of each kind")
    for name, make in models.items():
        net = make()
        opt = torch.optim.Adam(net.parameters(), 1e-3)
        for k in range(2):  # warm-up: kernels compiled, allocator warm
            _plain_step(net, opt, *batches[k], k)
            gl.gradient_diagnostics(net, batches[k], optimizer=opt)
        plain, diag = [], []
        for r in range(args.repeats):
            block = batches[2 + (r % 2) * BLOCK : 2 + (r % 2 + 1) * BLOCK]
            t = time.perf_counter()
            for k, (x, y) in enumerate(block):
                _plain_step(net, opt, x, y, k)
            plain.append((time.perf_counter() - t) / BLOCK)
            t = time.perf_counter()
            gl.gradient_diagnostics(net, block, optimizer=opt)  # one call, BLOCK steps: its set-up shared
            diag.append((time.perf_counter() - t) / BLOCK)
        ratios = sorted(d / p for d, p in zip(diag, plain))
        q = statistics.quantiles(ratios, n=4)
        pred = gl.predict_layer_error(net, batches[:4])
        print(f"{name}: plain step median {statistics.median(plain) * 1e3:.1f} ms, diagnosed step "
              f"{statistics.median(diag) * 1e3:.1f} ms; ratio median {statistics.median(ratios):.2f} "
              f"(quartiles {q[0]:.2f}-{q[2]:.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f}); prediction "
              f"{pred.attrs['prediction_seconds']:.3f} s after recording {int(pred['units'].sum()):,} units")


if __name__ == "__main__":
    main()
