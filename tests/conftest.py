"""Shared fixtures: seeded RNGs and a scratch folder per test."""

import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """A NumPy Generator seeded from the test's id, so each case is reproducible."""
    seed = abs(hash(request.node.nodeid)) % (2**32)
    return np.random.default_rng(seed)
