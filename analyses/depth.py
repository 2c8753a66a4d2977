"""Figure 10: error of the backpropagated gradient against depth, per activation.

Run from the repository root: python analyses/depth.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.depth_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("depth", Path(__file__).resolve().parent.parent / "figures"))
