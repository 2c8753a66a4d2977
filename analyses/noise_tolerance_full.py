"""Accuracy under layer-output noise by training mode, full tier (arXiv 2501.14531).

The digits MLP, the MNIST-5k FCN and ConvNet.

Run from the repository root: python analyses/noise_tolerance_full.py [--rerun] [--help] [--out DIR] [--format F]
Without --rerun the figure is drawn in seconds from the committed rows, gradlab/data/noise_tolerance_full.csv.
--rerun trains the whole tier again first (gradlab.figures.NOISE_SPECS["full"] on two local Dask
workers, one torch thread each; resumable: finished points are kept in the sweep cache) and rewrites those
rows; it needs the torch and sweep extras. Its time on this project's 2-core machine is in analyses/README.md.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

if __name__ == "__main__":
    if "--rerun" in sys.argv[1:]:
        sys.argv.remove("--rerun")
        from gradlab.figures import rerun_companion_full

        rerun_companion_full("noise")
    sys.exit(analysis_main("noise_tolerance_full", Path(__file__).resolve().parent.parent / "figures"))
