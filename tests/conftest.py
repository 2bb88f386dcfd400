"""Shared pytest fixtures."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator; every test that draws stimulus uses its own, explicitly seeded."""
    return np.random.default_rng(20261123)
