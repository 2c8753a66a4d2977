"""One training step of the paper's FCN, gradlab's layers against AnalogVNN 1.0.8's, side by side in one run.

The network: 784-128-64-10, dropout 0.5, the ReLU <-> GELU interpolation at i = 0.5, every Linear's
input Clamp -> ReducePrecision(8) -> GaussianNoise(0.5, 8), its weights and biases the same chain at
every forward pass (AnalogVNN's PseudoParameter), its output GaussianNoise -> Clamp -> ReducePrecision,
the logits without activation (the paper's final src/run_conv.py, torch.nn.Linear). A step is
forward + cross-entropy + backward + Adam (1e-3) on a batch of 128 MNIST-5k images, float32,
``torch.set_num_threads(1)``. The two networks alternate in blocks of STEPS steps, REPEATS times, so
a slow spell of the machine hits both; each step is timed on its own.

Run: python benchmarks/nn_step.py [--repeats 7] [--steps 20]   (results: benchmarks/README.md)
"""
from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings

import torch
from analogvnn.nn.activation.Activation import Activation
from analogvnn.nn.module.FullSequential import FullSequential
from analogvnn.nn.noise.GaussianNoise import GaussianNoise
from analogvnn.nn.normalize.Clamp import Clamp
from analogvnn.nn.precision.ReducePrecision import ReducePrecision
from analogvnn.parameter.PseudoParameter import PseudoParameter
from torch import nn

import gradlab as gl
from gradlab import nn as gnn

SIZES, P, LEAKAGE, MIX, BATCH = [784, 128, 64, 10], 8, 0.5, 0.5, 128


class ReluGeluInterpolation(Activation):
    """relu + i (gelu - relu) with its backward by hand (f' at the layer's input, ReLU'(0) = 0)."""

    def __init__(self, i: float):
        super().__init__()
        self.i = float(i)

    def forward(self, x):
        relu = torch.clamp_min(x, 0.0)
        return relu + self.i * (0.5 * x * (1 + torch.erf(x / math.sqrt(2))) - relu)

    def backward(self, grad_output):
        x = self.inputs
        d_gelu = 0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        d_relu = (x > 0).to(x.dtype)
        return grad_output * (d_relu + self.i * (d_gelu - d_relu))


def analogvnn_net():
    modules = [nn.Flatten()]
    for k, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        linear = nn.Linear(n_in, n_out)
        nn.init.kaiming_uniform_(linear.weight)
        modules += [Clamp(), ReducePrecision(precision=P), GaussianNoise(leakage=LEAKAGE, precision=P), linear,
                    GaussianNoise(leakage=LEAKAGE, precision=P), Clamp(), ReducePrecision(precision=P)]
        if k < len(SIZES) - 2:
            modules += [ReluGeluInterpolation(MIX), nn.Dropout(0.5)]
    net = FullSequential()
    net.add_sequence(*modules)
    weight_model = FullSequential()
    weight_model.add_sequence(Clamp(), ReducePrecision(precision=P), GaussianNoise(leakage=LEAKAGE, precision=P))
    weight_model.eval()
    PseudoParameter.parametrize_module(net, transformation=weight_model)
    net.loss_function = nn.CrossEntropyLoss()
    net.optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.compile()
    weight_model.compile()
    net.train()

    def step(x, y, _k):
        net.zero_grad()
        net.optimizer.zero_grad()
        out = net(x)
        net.loss(out, y)
        net.backward()
        net.optimizer.step()

    return step


def gradlab_net():
    net = gnn.paper_fcn(SIZES, f"relu_gelu(i={MIX})", chain=gl.analog(LEAKAGE, P, compat="analogvnn"), dropout=0.5)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    net.train()

    def step(x, y, k):  # the inner loop of gradlab.nn.training.train_network
        net.analog.draws.step = k
        loss = loss_fn(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def summary(times):
    ms = sorted(1e3 * t for t in times)
    q = statistics.quantiles(ms, n=4)
    return statistics.median(ms), q[0], q[2], ms[0], ms[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = gnn.load_dataset("mnist5k")
    batches = [(data.x_train[i : i + BATCH], data.y_train[i : i + BATCH])
               for i in range(0, len(data.y_train) - BATCH + 1, BATCH)]
    steps = {"gradlab": gradlab_net(), "AnalogVNN": analogvnn_net()}
    times = {name: [] for name in steps}
    k = 0
    for step in steps.values():  # warm-up: kernels compiled, allocator and caches warm
        for x, y in batches[:5]:
            step(x, y, k)
            k += 1
    for _ in range(args.repeats):
        for name, step in steps.items():
            for _ in range(args.steps):
                x, y = batches[k % len(batches)]
                t0 = time.perf_counter()
                step(x, y, k)
                times[name].append(time.perf_counter() - t0)
                k += 1
    print(f"FCN {'-'.join(map(str, SIZES))}, P = {P}, leakage {LEAKAGE}, batch {BATCH}, float32, 1 thread; "
          f"{args.repeats} x {args.steps} steps each, interleaved")
    print(f"{'':10} {'median ms':>10} {'IQR ms':>15} {'min-max ms':>15}")
    stats = {name: summary(t) for name, t in times.items()}
    for name, (med, q1, q3, lo, hi) in stats.items():
        print(f"{name:10} {med:10.2f} {q1:7.2f}-{q3:<7.2f} {lo:7.2f}-{hi:<7.2f}")
    print(f"ratio gradlab / AnalogVNN (medians): {stats['gradlab'][0] / stats['AnalogVNN'][0]:.2f}")


if __name__ == "__main__":
    main()
