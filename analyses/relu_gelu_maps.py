"""Figure 7: product error maps for relu_gelu, i in {0, .25, .5, .75, 1}, zoomed.

Run from the repository root: python analyses/relu_gelu_maps.py [--fast]
The recipe (query, then plot) is gradlab.figures.relu_gelu_maps_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import relu_gelu_maps_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = relu_gelu_maps_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "relu_gelu_maps.png")
print(f"wrote {out / 'relu_gelu_maps.png'} ({len(data)} rows of data)")
