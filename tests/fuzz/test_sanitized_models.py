"""Whole generated models (float32, int8, binary) built and run through the host harness
on ordinary and hostile inputs (NaN, ±Inf, ±3.4e38, denormals). `make asan` runs this
file with CNNC_SANITIZE=1, so every kernel a real model calls, the model's init and its
run are checked by ASan + UBSan (UBSAN_OPTIONS=halt_on_error=1 turns a report into a
failure); without sanitizers it still checks that the C agrees with the reference."""

import numpy as np
import pytest
import seeds
from cnnc import api

PRECISIONS = ["float32", "int8", "binary"]


def hostile_inputs(rng) -> np.ndarray:
    x = seeds.calibration(rng, 4)
    flat = x.reshape(len(x), -1)
    flat[0, ::3] = np.nan
    flat[1, ::2] = np.inf
    flat[1, 1::2] = -np.inf
    flat[2] = np.where(flat[2] > 0, 3.4e38, -3.4e38)
    flat[3] = 1e-40
    return x


@pytest.mark.parametrize("precision", PRECISIONS)
def test_model_matches_reference(folders, rng, precision):
    compiled = api.load(folders[precision])
    x = seeds.calibration(rng, 3)
    c_out, ref = compiled.run(x), compiled.reference(x)
    if precision == "float32":
        np.testing.assert_allclose(c_out, ref, rtol=1e-4, atol=1e-4 * np.ptp(ref))
    else:  # the binary seed keeps float first/last layers, compared like float32
        tol = 0 if precision == "int8" else 1e-4 * np.ptp(ref)
        np.testing.assert_allclose(c_out, ref, rtol=0, atol=tol)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_model_runs_hostile_inputs(folders, rng, precision):
    """No sanitizer report and an output of the right shape; int8 outputs stay finite
    (NaN inputs quantise to the zero point)."""
    compiled = api.load(folders[precision])
    y = compiled.run(hostile_inputs(rng))
    assert y.shape[0] == 4
    if precision == "int8":
        assert np.isfinite(y).all(), f"int8 model gave non-finite outputs {y}"
