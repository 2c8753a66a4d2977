"""Figure 6: product error maps of ReLU and GELU (P = 256, leakage 0.5), whole and zoomed.

Run from the repository root: python analyses/product_maps.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.product_maps_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("product_maps", Path(__file__).resolve().parent.parent / "figures"))
