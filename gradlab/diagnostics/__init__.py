"""Gradient error inside a network (the ``torch`` extra): per-layer diagnostics and gradlab's exact prediction.

:func:`gradient_diagnostics` measures, per layer and step, the activation's gradient error in an
analog network and what it does to the gradients; :func:`predict_layer_error` holds each layer's
measured error against gradlab's exact e(x) over the inputs the layer saw. Build the analog
network from a model of your own with :func:`gradlab.nn.analogize`.
"""
from __future__ import annotations

# ruff: noqa: E402 -- the check for torch comes before the modules that import it
from gradlab._extras import require

require("torch", "gradlab.diagnostics (gradient error inside PyTorch networks)")

from gradlab.diagnostics.measure import METRICS, gradient_diagnostics, gradient_similarity
from gradlab.diagnostics.predict import AGREEMENT_SE, expected_error, predict_layer_error

__all__ = ["AGREEMENT_SE", "METRICS", "expected_error", "gradient_diagnostics", "gradient_similarity",
           "predict_layer_error"]
