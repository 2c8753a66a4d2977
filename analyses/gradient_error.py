"""Figure 8: gradient error against input, exact curves with Monte Carlo points and bands.

Run from the repository root: python analyses/gradient_error.py [--fast]
The recipe (query, then plot) is gradlab.figures.gradient_error_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import gradient_error_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = gradient_error_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "gradient_error.png")
print(f"wrote {out / 'gradient_error.png'} ({len(data)} rows of data)")
