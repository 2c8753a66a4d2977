"""Network-level counterpart: digits test accuracy against i, trained and tested under noise.

Run from the repository root: python analyses/training.py [--fast]
The recipe (query, then plot) is gradlab.figures.training_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import training_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = training_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "training.png")
gl.save_table(data, out / "training.csv")
print(f"wrote {out / 'training.png'} ({len(data)} rows of data)")
