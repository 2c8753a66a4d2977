"""Figure 2: GELU for s in {1, 1.5, 2, 2.5, 3}, clean and on inputs quantized to P = 6.

Run from the repository root: python analyses/gelu_scaling.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.gelu_scaling_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("gelu_scaling", Path(__file__).resolve().parent.parent / "figures"))
