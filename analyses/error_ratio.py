"""Figure 9: error-near-zero ratio to GELU against the window and against the noise level.

Run from the repository root: python analyses/error_ratio.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.error_ratio_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("error_ratio", Path(__file__).resolve().parent.parent / "figures"))
