"""Figure 4 for the SiLU family.

Run from the repository root: python analyses/relu_silu_family.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.relu_silu_family_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("relu_silu_family", Path(__file__).resolve().parent.parent / "figures"))
