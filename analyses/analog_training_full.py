"""The full tier of the paper's training experiment: accuracy against i, P in {8, 16, 32}, 1-3 hidden layers, ConvNet.

Run from the repository root: python analyses/analog_training_full.py [--rerun] [--help] [--out DIR] [--format F]
Without --rerun the figure is drawn in seconds from the committed rows, gradlab/data/analog_training_full.csv.
--rerun trains the whole tier again first (gradlab.figures.ANALOG_FULL_SPECS on two local Dask workers, one
torch thread each; resumable: finished points are kept in the sweep cache) and rewrites those rows; it needs
the torch and sweep extras. Its time on this project's 2-core machine is in analyses/README.md.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

if "--rerun" in sys.argv[1:]:
    sys.argv.remove("--rerun")
    from gradlab.figures import rerun_analog_full

    rerun_analog_full()
sys.exit(analysis_main("analog_training_full", Path(__file__).resolve().parent.parent / "figures"))
