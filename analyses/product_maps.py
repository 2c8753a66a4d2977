"""Figure 6: product error maps of ReLU and GELU (P = 256, leakage 0.5), whole and zoomed.

Run from the repository root: python analyses/product_maps.py [--fast]
The recipe (query, then plot) is gradlab.figures.product_maps_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import product_maps_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = product_maps_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "product_maps.png")
print(f"wrote {out / 'product_maps.png'} ({len(data)} rows of data)")
