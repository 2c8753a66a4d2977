"""Figure 3: effective precision near 0 against the GELU scale s (P = 64).

Run from the repository root: python analyses/effective_precision.py [--fast]
The recipe (query, then plot) is gradlab.figures.effective_precision_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import effective_precision_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = effective_precision_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "effective_precision.png")
print(f"wrote {out / 'effective_precision.png'} ({len(data)} rows of data)")
