"""The paper's training experiment in PyTorch: MNIST-5k FCN at P = 8 per control, and the paired gap to ReLU.

Run from the repository root: python analyses/analog_training.py [--help] [--out DIR] [--fast] [--format F] [--data]
Needs the torch extra. The recipe (sweep, then plot) is gradlab.figures.analog_training_figure.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

sys.exit(analysis_main("analog_training", Path(__file__).resolve().parent.parent / "figures"))
