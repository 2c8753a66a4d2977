"""Figure 4: relu_gelu for i in {0, .25, .5, .75, 1}: clean, quantized, noisy then quantized.

Run from the repository root: python analyses/relu_gelu_family.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.relu_gelu_family_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("relu_gelu_family", Path(__file__).resolve().parent.parent / "figures"))
