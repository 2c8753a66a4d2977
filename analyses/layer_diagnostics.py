"""Per-layer gradient error in the paper's FCN and ConvNet while they train, against gradlab's exact prediction.

Run from the repository root: python analyses/layer_diagnostics.py [--rerun] [--help] [--out DIR] [--format F]
Without --rerun the figure is drawn in seconds from the committed rows, gradlab/data/layer_diagnostics.csv.
--rerun trains and diagnoses both networks again first (gradlab.figures.LAYER_DIAGNOSTICS, one torch thread)
and rewrites those rows; it needs the torch extra. Its time is in analyses/README.md.
"""
import sys
from pathlib import Path

from gradlab.cli import analysis_main

if "--rerun" in sys.argv[1:]:
    sys.argv.remove("--rerun")
    from gradlab.figures import rerun_layer_diagnostics

    rerun_layer_diagnostics()
sys.exit(analysis_main("layer_diagnostics", Path(__file__).resolve().parent.parent / "figures"))
