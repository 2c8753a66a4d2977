"""Figure 5: gradient step discontinuity against i, symbolic and the paper's numeric form.

Run from the repository root: python analyses/step_discontinuity.py [--fast]
The recipe (query, then plot) is gradlab.figures.step_discontinuity_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

import gradlab as gl
from gradlab.figures import step_discontinuity_figure

out = Path(__file__).resolve().parent.parent / "figures"
fig, data = step_discontinuity_figure(fast="--fast" in sys.argv)
gl.save_figure(fig, out / "step_discontinuity.png")
print(f"wrote {out / 'step_discontinuity.png'} ({len(data)} rows of data)")
