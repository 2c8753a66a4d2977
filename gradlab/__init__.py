"""gradlab: how wrong an activation's gradient becomes under analog-hardware perturbations.

The public names below are imported on first use (PEP 562), so ``import gradlab`` and the command
line start without loading sympy, Numba, SciPy, pandas or matplotlib until a name needs them.
"""
from __future__ import annotations

from gradlab._lazy import lazy_exports

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "get_budget": "gradlab._budget",
    "set_budget": "gradlab._budget",
    "save_figure": "gradlab._io",
    "save_table": "gradlab._io",
    "BUILTINS": "gradlab.activations",
    "KINK_CHOICES": "gradlab.activations",
    "KINK_CONVENTIONS": "gradlab.activations",
    "Activation": "gradlab.activations",
    "ExpressionError": "gradlab.activations",
    "Kink": "gradlab.activations",
    "NumericActivation": "gradlab.activations",
    "ActivationBase": "gradlab.activations",
    "activation": "gradlab.activations",
    "list_activations": "gradlab.activations",
    "ExactUnsupported": "gradlab.engines",
    "AdditiveNoise": "gradlab.perturbations",
    "BitFlip": "gradlab.perturbations",
    "Chain": "gradlab.perturbations",
    "Clamp": "gradlab.perturbations",
    "Gaussian": "gradlab.perturbations",
    "Laplace": "gradlab.perturbations",
    "Poisson": "gradlab.perturbations",
    "Quantize": "gradlab.perturbations",
    "Stage": "gradlab.perturbations",
    "Uniform": "gradlab.perturbations",
    "analog": "gradlab.perturbations",
    "chain": "gradlab.perturbations",
    "activation_curves": "gradlab.queries",
    "depth_error": "gradlab.queries",
    "effective_precision": "gradlab.queries",
    "error_near_zero": "gradlab.queries",
    "gradient_error": "gradlab.queries",
    "product_error_map": "gradlab.queries",
    "product_error_stats": "gradlab.queries",
    "step_discontinuity": "gradlab.queries",
    "train_noisy": "gradlab.nn.noisy",
    "gradient_diagnostics": "gradlab.diagnostics",
    "predict_layer_error": "gradlab.diagnostics",
    "analog_summary": "gradlab.nn.experiment",
    "train_analog": "gradlab.nn.experiment",
    "sweep": "gradlab.sweeps",
    "torch_activation": "gradlab.torch_bridge",
    "AuditReport": "gradlab.derivative_audit",
    "audit": "gradlab.derivative_audit",
    "bitflip_faults": "gradlab.experiments.runs",
    "bitflip_resilience": "gradlab.experiments.runs",
    "noise_tolerance": "gradlab.experiments.runs",
    "train_modes": "gradlab.experiments.runs",
    "t_halfwidth": "gradlab.experiments.summary",
    "t_summary": "gradlab.experiments.summary",
}

__all__ = sorted(_EXPORTS)


#: Subpackages and modules reachable as attributes (``gl.perturbations.ROUNDING``).
_SUBMODULES = {"activations", "engines", "figures", "kernels", "nn", "perturbations", "plots", "queries"}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, _SUBMODULES)
