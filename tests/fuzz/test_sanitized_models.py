"""Whole generated models (float32, int8, binary) built and run through the host harness
on ordinary inputs and finite extremes (±3.4e38, denormals); int8 and binary builds
refuse NaN/Inf through the API, and the generated C takes them directly. `make asan`
runs this file with CNNC_SANITIZE=1, so every kernel a real model calls, the model's init and its
run are checked by ASan + UBSan (UBSAN_OPTIONS=halt_on_error=1 turns a report into a
failure); without sanitizers it still checks that the C agrees with the reference."""

import numpy as np
import pytest
import seeds
from cnnc import api
from cnnc.errors import DataError
from cnnc.host import harness

PRECISIONS = ["float32", "int8", "binary"]


def finite_extremes(rng) -> np.ndarray:
    """Samples of ±3.4e38, denormals and zeros: finite, so every precision runs them."""
    x = seeds.calibration(rng, 3)
    flat = x.reshape(len(x), -1)
    flat[0] = np.where(flat[0] > 0, 3.4e38, -3.4e38)
    flat[1] = 1e-40
    flat[1, ::2] = -1e-45
    flat[2] = 0.0
    return x


def non_finite_inputs(rng) -> np.ndarray:
    """Samples holding NaN, +Inf and -Inf between ordinary values."""
    x = seeds.calibration(rng, 2)
    flat = x.reshape(len(x), -1)
    flat[0, ::3] = np.nan
    flat[1, ::2] = np.inf
    flat[1, 1::2] = -np.inf
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
def test_model_runs_finite_extremes(folders, rng, precision):
    """No sanitizer report and an output of the right shape; int8 outputs stay finite."""
    compiled = api.load(folders[precision])
    y = compiled.run(finite_extremes(rng))
    assert y.shape[0] == 3
    if precision == "int8":
        assert np.isfinite(y).all(), f"int8 model gave non-finite outputs {y}"


@pytest.mark.parametrize("precision", ["int8", "binary"])
def test_non_finite_inputs_are_refused_by_quantised_builds(folders, rng, precision):
    """The NaN policy (docs/robustness.md): int8 and binary builds refuse NaN and Inf inputs
    by name before any C runs; float32 builds propagate them (next test)."""
    compiled = api.load(folders[precision])
    with pytest.raises(DataError, match=r"input '.*' holds nan at .* need finite inputs"):
        compiled.run(non_finite_inputs(rng))


def test_float32_propagates_non_finite_inputs(folders, rng):
    compiled = api.load(folders["float32"])
    x = non_finite_inputs(rng)
    with np.errstate(invalid="ignore"):  # inf - inf in the reference is NaN on purpose
        y, ref = compiled.run(x), compiled.reference(x)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref), err_msg="NaN positions differ")
    assert np.isnan(y[0]).any(), f"a NaN input vanished in the float32 C: {y[0]}"


@pytest.mark.parametrize("precision", PRECISIONS)
def test_c_api_takes_non_finite_inputs_without_ub(folders, rng, precision):
    """A C caller is not behind the Python policy: NaN and Inf given straight to the
    generated cnnc_model_run must not be undefined behaviour (ASan + UBSan under
    `make asan`); the int8 quantiser maps NaN to the zero point, so int8 stays finite."""
    compiled = api.load(folders[precision])
    x = non_finite_inputs(rng)
    y = harness.run(compiled.host(), x.reshape(len(x), -1))
    assert y.shape[0] == 2
    if precision == "int8":
        assert np.isfinite(y).all(), f"int8 model gave non-finite outputs {y}"
