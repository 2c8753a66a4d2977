"""Figure 10: error of the backpropagated gradient against depth, per activation.

Run from the repository root: python analyses/depth.py [--fast]
The recipe (query, then plot) is gradlab.figures.depth_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import depth_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = depth_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "depth.png")
print(f"wrote {out / 'depth.png'} ({len(data)} rows of data)")
