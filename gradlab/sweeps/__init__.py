"""Sweeps: one query over a grid of parameters, resumable, on this machine or on Dask.

``spec`` reads and checks the grid (TOML or dict); ``runner`` runs its points and caches each one.
Only the public queries are called: nothing else in gradlab imports this package.
"""
from gradlab.sweeps.runner import sweep
from gradlab.sweeps.spec import QUERIES, load_spec

__all__ = ["QUERIES", "load_spec", "sweep"]
