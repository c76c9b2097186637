"""Loads the float32 runtime kernels with cffi for the test_f32_* files.

The cffi declarations come from cnnc_f32.h itself (its cffi-begin/end blocks, read by
cnnc.host.kernels.header_cdef as for every family), so the tests call the declared API.
Expectations in the tests are plain NumPy written in the test files, never the
compiler's reference executor.
"""

from __future__ import annotations

import functools

import numpy as np
from cnnc.host.kernels import load_f32_kernels

ACT = {"none": 0, "relu": 1, "relu6": 2, "clip": 3, "leaky_relu": 4, "sigmoid": 5, "elu": 6}


@functools.cache
def kernels():
    """(ffi, lib) of every runtime_c/kernels/f32_*.c (declarations from cnnc_f32.h)."""
    return load_f32_kernels()


def fptr(ffi, array: np.ndarray):
    assert array.dtype == np.float32 and array.flags.c_contiguous
    return ffi.from_buffer("float[]", array)


def act_struct(kind: str = "none", lo: float = -np.inf, hi: float = np.inf, alpha: float = 0.0):
    return {"kind": ACT[kind], "min": lo, "max": hi, "alpha": alpha}


def apply_act(y: np.ndarray, kind: str, lo=-np.inf, hi=np.inf, alpha=0.0) -> np.ndarray:
    """The activations as plain NumPy formulas (float64 internally)."""
    y = y.astype(np.float64)
    if kind == "relu":
        y = np.maximum(y, 0)
    elif kind == "relu6":
        y = np.clip(y, 0, 6)
    elif kind == "clip":
        y = np.clip(y, lo, hi)
    elif kind == "leaky_relu":
        y = np.where(y >= 0, y, alpha * y)
    elif kind == "sigmoid":
        y = 1 / (1 + np.exp(-y))
    elif kind == "elu":
        y = np.where(y > 0, y, alpha * np.expm1(np.minimum(y, 0)))
    return y


ACT_CASES = {
    "none": dict(kind="none"),
    "relu": dict(kind="relu"),
    "relu6": dict(kind="relu6", lo=0.0, hi=6.0),
    "clip": dict(kind="clip", lo=-0.5, hi=1.25),
    "leaky": dict(kind="leaky_relu", alpha=0.1),
    "sigmoid": dict(kind="sigmoid"),
    "elu": dict(kind="elu", alpha=0.7),
}


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol=1e-5, atol=1e-5) -> None:
    """Float comparison that names the first bad index, expected and actual values."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{int(bad.sum())} of {bad.size} values differ; first at {idx}: "
            f"expected {expected[idx]!r}, actual {actual[idx]!r}"
        )
