import gc

import pytest


@pytest.fixture(autouse=True)
def _unfrozen():
    """An app run in this process freezes its heap (gradlab.explore.heap): undone after each test, so
    the rest of the suite sees the collector as usual (gc.get_referrers, which Hypothesis uses, skips
    frozen objects)."""
    yield
    gc.unfreeze()
