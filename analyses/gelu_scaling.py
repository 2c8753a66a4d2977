"""Figure 2: GELU for s in {1, 1.5, 2, 2.5, 3}, clean and on inputs quantized to P = 6.

Run from the repository root: python analyses/gelu_scaling.py [--fast]
The recipe (query, then plot) is gradlab.figures.gelu_scaling_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import gelu_scaling_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = gelu_scaling_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "gelu_scaling.png")
print(f"wrote {out / 'gelu_scaling.png'} ({len(data)} rows of data)")
