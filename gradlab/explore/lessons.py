"""The guided lesson: five sections, each a short text, a question and the check of its answer.

The live lesson (``lesson.py``, a marimo app) and the handout (:mod:`gradlab.explore.export`) both
read the sections from here; the checks are plain functions of numbers the model computed, so the
page's verdict is tested like any other result.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from gradlab.activations import Activation
from gradlab.explore.model import Settings

__all__ = [
    "SECTIONS",
    "Check",
    "Section",
    "check_depth",
    "check_gsd",
    "check_kink",
    "check_precision",
    "check_ratio",
]


@dataclass(frozen=True)
class Check:
    """The page's verdict on an answer: ``ok`` and one sentence saying why."""

    ok: bool
    message: str

    @property
    def mark(self) -> str:
        return "✓" if self.ok else "✗"


@dataclass(frozen=True)
class Section:
    """One step of the lesson: its title, its text (Markdown), its question and where its controls start."""

    key: str
    title: str
    text: str
    question: str
    start: Settings = field(default_factory=Settings)


def check_kink(act: Activation) -> Check:
    """Kink question: f' must jump at x = 0 while f itself is continuous there."""
    at0 = [k for k in act.kinks() if k.x == 0]
    if at0 and at0[0].jump_f != 0:
        return Check(False, f"{act.label}: f itself jumps at 0 (by {float(at0[0].jump_f):g}): a step, not a kink")
    if not at0 or at0[0].jump_df == 0:
        return Check(False, f"{act.label}: f' is continuous at 0 (smoothness {act.smoothness}); no kink there yet")
    return Check(True, f"{act.label}: f is continuous at 0 and f' jumps by {float(at0[0].jump_df):g}, "
                 f"from {float(at0[0].df_left):g} to {float(at0[0].df_right):g}: a kink")


def check_precision(bits: float, target: float = 6.0) -> Check:
    """Quantization question: the effective precision near 0 must reach ``target`` bits."""
    if bits >= target:
        return Check(True, f"effective precision {bits:.2f} bits >= {target:g}: the first level above 0 changes f' "
                     f"by {2.0 ** -bits:.3g}, less than 1/{2 ** target:g}")
    return Check(False, f"effective precision {bits:.2f} bits < {target:g}: the first level above 0 changes f' by "
                 f"{2.0 ** -bits:.3g}; a finer lattice or a gentler slope at 0 would help")


def check_ratio(ratio: float, target: float = 100.0) -> Check:
    """Window question: ReLU's error near zero must be at least ``target`` times GELU's."""
    if ratio != ratio:  # NaN: the exact engine could not reach the chain
        return Check(False, "no exact ratio for this chain; choose a deterministic rounding rule")
    if ratio >= target:
        return Check(True, f"ReLU / GELU = {ratio:.1f} >= {target:g}: the window sits where ReLU's jump dominates")
    return Check(False, f"ReLU / GELU = {ratio:.1f} < {target:g}: the window still averages in inputs where "
                 "both errors are small")


def check_gsd(gsd: float, target: float = 0.2) -> Check:
    """Interpolation question: the gradient step discontinuity must fall below ``target``."""
    if gsd < target:
        return Check(True, f"GSD = {gsd:.3g} < {target:g}: f' now jumps by less than {target:g} at 0")
    return Check(False, f"GSD = {gsd:.3g}, not yet below {target:g}")


def check_depth(answer: str | None, depth: pd.DataFrame | None) -> Check:
    """Depth question: which activation's input-gradient error is larger at the deepest layer run.

    ``answer`` is an activation label ('relu' or 'gelu' as the depth frame names them); the
    verdict is read from the experiment the student ran, not from a stored answer.
    """
    if depth is None or depth.empty:
        return Check(False, "run the experiment first: the answer is checked against its numbers")
    if answer is None:
        return Check(False, "choose an answer")
    deepest = depth[depth["depth"] == depth["depth"].max()].set_index("activation")["input_rel_error"]
    larger = str(deepest.idxmax())
    line = ", ".join(f"{a}: {v:.3g}" for a, v in deepest.items())
    depth_max = int(depth["depth"].max())
    if answer == larger:
        return Check(True, f"at depth {depth_max} the relative error of the input gradient is {line}")
    return Check(False, f"not in this run: at depth {depth_max} it is {line}")


SECTIONS: tuple[Section, ...] = (
    Section(
        "kink",
        "1. What a kink is",
        "A **kink** is a point where f is continuous but its slope f' jumps. ReLU, max(x, 0), has one at "
        "0: f' is 0 on the left and 1 on the right. GELU, x Φ(x), has none: its f' passes smoothly "
        "from 0 to 1. Type an activation below (any expression in x: `max(x, 0)`, `abs(x)`, "
        "`x*tanh(log(1 + exp(x)))`, `where(x > 0, x, 0.1*x)`...) and look at f and f'.",
        "Type an activation whose derivative jumps at x = 0 while f itself stays continuous.",
        Settings(family="expression", expression="x*tanh(log(1 + exp(x)))", window=1.0, noise="none",
                 precision=8),
    ),
    Section(
        "quantization",
        "2. What quantization does to f' near 0",
        "Hardware with P levels per unit only ever feeds f the values k/P, so backpropagation only sees "
        "f' on that lattice. Near 0, the first level 1/P changes a smooth f' by f'(1/P) - f'(0): "
        "the **effective precision** log2(1 / (f'(1/P) - f'(0))) counts how many bits of f' the "
        "lattice resolves there. A steep GELU (large scale s) behaves more like ReLU, whose f' "
        "changes by 1 at once (0 bits).",
        "GELU with scale s: set s and P so that the effective precision near 0 is at least 6 bits.",
        Settings(family="gelu", s=3.0, precision=16, noise="none", window=1 / 2),
    ),
    Section(
        "window",
        "3. Why the error concentrates near zero, and what \"100x\" depends on",
        "Noise moves x to x~ before quantization. Far from 0, f'(x~) and f'(x) are close for ReLU "
        "and GELU alike. Within a few noise widths of 0, ReLU's x~ can cross the kink and its f' "
        "jumps by 1; GELU's only moves a little. So the error e(x) = E|f'(x~) - f'(x)| of ReLU "
        "piles up near 0, and the ReLU / GELU ratio of the error averaged over |x| <= w depends on "
        "the window w and on the noise: the paper's \"about 100x\" is one point on a curve.",
        "With the paper's chain, make ReLU's error near zero at least 100 times GELU's by changing the "
        "window and the leakage.",
        Settings(family="relu", window=1 / 16, leakage=0.5, precision=256),
    ),
    Section(
        "gsd",
        "4. The interpolation knob i and the gradient step discontinuity",
        "The paper blends the two: f = (1 - i) ReLU + i GELU. Its derivative still jumps at 0, by the "
        "**gradient step discontinuity** GSD = |f'(0+) - f'(0-)| = 1 - i. As i grows the jump "
        "shrinks, and the error near zero with it.",
        "Set i so that the GSD is below 0.2.",
        Settings(family="relu_gelu", i=0.0, window=1 / 64, leakage=0.5, precision=256),
    ),
    Section(
        "depth",
        "5. Depth",
        "In a network every layer's activation sees noisy, quantized pre-activations, and "
        "backpropagation multiplies one f'(x~) per layer. Small errors per layer compound. The "
        "experiment runs random MLPs of growing depth, clean and under the chain, and compares the "
        "gradients that reach the input (Monte Carlo: it runs when you press the button).",
        "At the deepest layer, whose input-gradient error is larger: ReLU's or GELU's? Answer, then run "
        "the experiment to check.",
        Settings(family="relu", leakage=0.5, precision=16),
    ),
)
