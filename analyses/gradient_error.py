"""Figure 8: gradient error against input, exact curves with Monte Carlo points and bands.

Run from the repository root: python analyses/gradient_error.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.gradient_error_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("gradient_error", Path(__file__).resolve().parent.parent / "figures"))
