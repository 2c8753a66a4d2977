"""The paper's two networks diagnosed while they train: measured vs predicted error per layer, and gradient cosines.

For each network (the FCN 784-128-64-10 and the ConvNet at its default widths) and activation,
trained from seed 0 with Adam (1e-3) on MNIST-5k batches of 64 under gl.analog(leakage,
precision) in the paper's placement, :func:`~gradlab.diagnostics.gradient_diagnostics` runs at
every step (the network learning from its own, perturbed, gradients), then
:func:`~gradlab.diagnostics.predict_layer_error` on held-out training batches.
"""
from __future__ import annotations

import pandas as pd
import torch

import gradlab as gl
from gradlab import nn as gnn
from gradlab._validate import check_choice
from gradlab.diagnostics.measure import gradient_diagnostics
from gradlab.diagnostics.predict import predict_layer_error

__all__ = ["NETWORKS", "diagnose_paper_networks"]

#: Network name -> how to build it from (activation, chain).
NETWORKS = {
    "FCN": lambda act, chain: gnn.paper_fcn([784, 128, 64, 10], act, chain, seed=0),
    "ConvNet": lambda act, chain: gnn.paper_convnet(act, chain, seed=0),
}


def diagnose_paper_networks(activations=("relu", "gelu"), *, networks=tuple(NETWORKS), steps: int = 40,
                            leakage: float = 0.5, precision: float = 8, batch: int = 64,
                            predict_batches: int = 4) -> pd.DataFrame:
    """One tidy frame: columns network, activation, layer, kind, metric, value, stderr (``networks``: names of
    :data:`NETWORKS`).

    Per-step metrics are averaged over the ``steps`` (stderr: over steps); the prediction's rows
    are 'measured' and 'predicted' (stderr: the measured one's, paired with the prediction, and
    the prediction's), and 'z'.
    """
    networks = [check_choice("networks", n, NETWORKS) for n in networks]
    data = gnn.load_dataset("mnist5k")
    need = batch * (steps + predict_batches)
    if need > len(data.y_train):
        raise ValueError(f"steps: {steps} steps and {predict_batches} prediction batches of {batch} need {need} "
                         f"training images, MNIST-5k has {len(data.y_train)}")
    batches = [(data.x_train[i : i + batch], data.y_train[i : i + batch]) for i in range(0, need, batch)]
    chain = gl.analog(leakage, precision)
    frames = []
    with gnn.torch_threads(1):
        for network in networks:
            for act in activations:
                net = NETWORKS[network](act, chain)
                opt = torch.optim.Adam(net.parameters(), 1e-3)
                report = gradient_diagnostics(net, batches[:steps], optimizer=opt)
                per_layer = (report.groupby(["layer", "kind", "metric"], sort=False)["value"]
                             .agg(value="mean", stderr="sem").reset_index())
                pred = predict_layer_error(net, batches[steps:])
                rows = []
                for r in pred.itertuples():
                    rows += [(r.layer, "activation", "measured", r.measured, r.measured_stderr),
                             (r.layer, "activation", "predicted", r.predicted, r.predicted_stderr),
                             (r.layer, "activation", "z", r.z, float("nan"))]
                pred_rows = pd.DataFrame(rows, columns=["layer", "kind", "metric", "value", "stderr"])
                both = pd.concat([per_layer, pred_rows], ignore_index=True)
                both.insert(0, "activation", net.activation_label)
                both.insert(0, "network", network)
                frames.append(both)
    return pd.concat(frames, ignore_index=True)
