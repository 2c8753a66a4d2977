"""Figure 5: gradient step discontinuity against i, symbolic and the paper's numeric form.

Run from the repository root: python analyses/step_discontinuity.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.step_discontinuity_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("step_discontinuity", Path(__file__).resolve().parent.parent / "figures"))
