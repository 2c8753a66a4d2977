"""Digits accuracy against float32 bit error rate per activation restriction (ProAct, arXiv 2406.06313).

Run from the repository root: python analyses/bitflip.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.bitflip_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("bitflip", Path(__file__).resolve().parent.parent / "figures"))
