"""Engines computing gradient-error statistics: exact and Monte Carlo."""
from gradlab.engines.exact import ExactUnsupported, exact_moments, exact_plan, exact_seconds, level_distribution
from gradlab.engines.montecarlo import mc_moments

__all__ = ["ExactUnsupported", "exact_moments", "exact_plan", "exact_seconds", "level_distribution", "mc_moments"]
