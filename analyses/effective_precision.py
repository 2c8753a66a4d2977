"""Figure 3: effective precision near 0 against the GELU scale s (P = 64).

Run from the repository root: python analyses/effective_precision.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.effective_precision_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("effective_precision", Path(__file__).resolve().parent.parent / "figures"))
