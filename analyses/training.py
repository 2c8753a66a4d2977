"""Network-level counterpart: digits test accuracy against i, trained and tested under noise.

Run from the repository root: python analyses/training.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.training_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("training", Path(__file__).resolve().parent.parent / "figures"))
