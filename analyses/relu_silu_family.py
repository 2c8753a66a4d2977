"""Figure 4 for the SiLU family.

Run from the repository root: python analyses/relu_silu_family.py [--fast]
The recipe (query, then plot) is gradlab.figures.relu_silu_family_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import relu_silu_family_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = relu_silu_family_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "relu_silu_family.png")
print(f"wrote {out / 'relu_silu_family.png'} ({len(data)} rows of data)")
