"""Figure 9: error-near-zero ratio to GELU against the window and against the noise level.

Run from the repository root: python analyses/error_ratio.py [--fast]
The recipe (query, then plot) is gradlab.figures.error_ratio_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import error_ratio_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = error_ratio_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "error_ratio.png")
print(f"wrote {out / 'error_ratio.png'} ({len(data)} rows of data)")
