"""Assertions shared by the tests: on failure they name how many values differ and the
first index with its expected and actual value."""

from __future__ import annotations

import numpy as np
import pytest


def assert_bit_exact(expected: np.ndarray, actual: np.ndarray, what: str) -> None:
    """Equal bit for bit; on failure name the count and the first index, expected, actual."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    assert expected.shape == actual.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert expected.dtype == actual.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    width = np.dtype(f"u{expected.dtype.itemsize}")
    bad = np.argwhere(expected.view(width) != actual.view(width))  # bits, not values
    if bad.size:
        i = tuple(bad[0])
        pytest.fail(f"{what}: {len(bad)} mismatches, first at {i}: "
                    f"expected {expected[i]!r}, actual {actual[i]!r}")  # fmt: skip
