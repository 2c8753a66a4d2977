"""Digits accuracy against inference noise per training mode: clean, QAT, noisy (arXiv 2501.14531).

Run from the repository root: python analyses/noise_tolerance.py [--help] [--out DIR] [--fast] [--format F] [--data]
The recipe (query, then plot) is gradlab.figures.noise_tolerance_figure; it returns the figure and the data it drew.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("noise_tolerance", Path(__file__).resolve().parent.parent / "figures"))
