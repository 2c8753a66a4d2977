"""Figure 6 as the paper draws it: one noise realization, linear colour stopping at 1 (ReLU) and 0.01 (GELU).

Run from the repository root: python analyses/product_maps_paper.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.product_maps_paper_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("product_maps_paper", Path(__file__).resolve().parent.parent / "figures"))
