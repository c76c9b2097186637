"""The runner protocol end to end on the hand-written tiny model: natively and under qemu.

Expectations come from NumPy on the same parameters (tests/arm/conftest.py), never
from the C under test. Inputs are small integers and halves, so float32 results are
exact and compared bit for bit on every target.
"""

import numpy as np
import pytest
from cnnc.errors import BlobError, ShapeError, ToolchainError
from cnnc.host import cross

from .conftest import make_tiny_folder, require_target, tiny_blob, tiny_expected

pytestmark = pytest.mark.arm

TARGETS = ["host", "aarch64", "armv7", "armv7-neon"]


@pytest.mark.parametrize("target", TARGETS)
def test_run_matches_numpy(tiny_folder, tiny_inputs, target):
    require_target(target)
    _, expected = tiny_expected(tiny_inputs)
    got = cross.run(tiny_folder, target, tiny_inputs)
    assert got.shape == (7, 3) and got.dtype == np.float32
    np.testing.assert_array_equal(got, expected.astype(np.float32))


@pytest.mark.parametrize("target", TARGETS)
def test_run_layers_returns_each_layer_raw_bytes(tiny_folder, tiny_inputs, target):
    require_target(target)
    dense, relu = tiny_expected(tiny_inputs)
    for n, expected in ((1, dense), (2, relu)):
        records = cross.run_layers(tiny_folder, target, tiny_inputs, n)
        assert len(records) == 7
        got = np.stack([np.frombuffer(r, dtype="<f4") for r in records])
        np.testing.assert_array_equal(got, expected.astype(np.float32), err_msg=f"layer {n}")


@pytest.mark.parametrize("target", ["host", "aarch64"])
def test_run_all_layers_is_run_layers_in_one_process(tiny_folder, tiny_inputs, target):
    require_target(target)
    layers = cross.run_all_layers(tiny_folder, target, tiny_inputs)
    assert len(layers) == 2
    for n in (1, 2):
        assert layers[n - 1] == cross.run_layers(tiny_folder, target, tiny_inputs, n)


@pytest.mark.parametrize("target", ["host", "armv7"])
def test_embedded_weights_when_folder_has_no_blob(tmp_path, tiny_inputs, target):
    require_target(target)
    folder = make_tiny_folder(tmp_path / "embedded", weights=False)
    np.testing.assert_array_equal(
        cross.run(folder, target, tiny_inputs), tiny_expected(tiny_inputs)[1].astype(np.float32)
    )


def test_corrupt_blob_is_a_blob_error_naming_the_status(tiny_folder, tiny_inputs):
    require_target("aarch64")
    (tiny_folder / "weights.bin").write_bytes(b"JUNK" + tiny_blob()[4:])
    with pytest.raises(BlobError, match="model init failed.*status 3"):
        cross.run(tiny_folder, "aarch64", tiny_inputs)


def test_partial_sample_is_a_shape_error(tiny_folder):
    with pytest.raises(ShapeError, match="samples of 5 floats"):
        cross.run(tiny_folder, "host", np.zeros(12, dtype=np.float32))


def test_missing_cross_compiler_names_the_debian_package(tiny_folder, tiny_inputs, monkeypatch):
    monkeypatch.setenv("CNNC_CC_AARCH64", "no-such-aarch64-gcc")
    with pytest.raises(ToolchainError, match="gcc-aarch64-linux-gnu"):
        cross.run(tiny_folder, "aarch64", tiny_inputs)


def test_unknown_target_lists_the_known_ones(tiny_folder, tiny_inputs):
    with pytest.raises(ToolchainError, match="aarch64, armv7"):
        cross.run(tiny_folder, "riscv", tiny_inputs)


@pytest.mark.parametrize("target", ["aarch64", "armv7", "armv7-neon"])
def test_float_rounding_identical_to_host(tiny_folder, rng, target):
    """-ffp-contract=off: no fused multiply-add on ARM, so random float32 inputs give the
    host's bits exactly (with contraction, aarch64 differs in about 1 output in 20)."""
    require_target(target)
    x = rng.standard_normal((65, 5)).astype(np.float32)
    host = cross.run(tiny_folder, "host", x)
    np.testing.assert_array_equal(cross.run(tiny_folder, target, x), host)
    np.testing.assert_allclose(host, tiny_expected(x)[1], rtol=1e-5, atol=1e-5)
