"""Figure 1: ReLU, GELU, SiLU and their derivatives on [-1.5, 1.5].

Run from the repository root: python analyses/activations.py [--fast]
The recipe (query, then plot) is gradlab.figures.activations_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import activations_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = activations_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "activations.png")
print(f"wrote {out / 'activations.png'} ({len(data)} rows of data)")
