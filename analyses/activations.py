"""Figure 1: ReLU, GELU, SiLU and their derivatives on [-1.5, 1.5].

Run from the repository root: python analyses/activations.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.activations_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("activations", Path(__file__).resolve().parent.parent / "figures"))
