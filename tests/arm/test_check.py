"""`make check` in an output folder: the golden inputs cnnc wrote at compile time run
through the C on the machine it was built for and match the NumPy reference's outputs
(PASS), on the host and as a cross-build under qemu-aarch64; a wrong golden output FAILs."""

from __future__ import annotations

import subprocess

import numpy as np
import onnx_builders
import pytest
from cnnc import golden
from toolchains import MAKE_CCWRAP

from .conftest import require_target, require_tool

SIZE = 17


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    import cnnc

    model = onnx_builders.mobilenetv2_pytorch_style(10, SIZE, 0.35)
    calib = np.random.default_rng(3).standard_normal((4, 3, SIZE, SIZE)).astype(np.float32)
    folder = tmp_path_factory.mktemp("check")
    return {
        "int8": cnnc.compile(model, folder / "int8", precision="int8", calibration=calib),
        "float32": cnnc.compile(model, folder / "f32"),
    }


def make_check(folder, *args) -> subprocess.CompletedProcess:
    require_tool("make", "make")
    return subprocess.run(["make", "-s", "-j2", "-C", str(folder), MAKE_CCWRAP, "check", *args],
                          capture_output=True, text=True)  # fmt: skip


def test_golden_files_hold_the_reference(compiled):
    """The files are the seeded inputs and the reference's outputs; the rule is bit-exact
    for int8 and the verify tolerance for float32."""
    for precision, cm in compiled.items():
        x = np.fromfile(cm.out_dir / "check_inputs.f32", "<f4").reshape(-1, 3, SIZE, SIZE)
        y = np.fromfile(cm.out_dir / "check_outputs.f32", "<f4").reshape(len(x), -1)
        np.testing.assert_array_equal(x, golden.golden_inputs(cm.graph))
        np.testing.assert_array_equal(y, cm.reference(x).reshape(len(x), -1))
        config = (cm.out_dir / "check_config.h").read_text()
        exact = precision == "int8"
        assert f"#define CHECK_EXACT {int(exact)} " in config
        assert f"#define CHECK_ATOL {golden.tolerance(y) if not exact else 0.0!r} " in config


def test_make_check_passes_on_host_and_fails_on_a_wrong_output(compiled):
    require_target("host")
    out = compiled["int8"].out_dir
    proc = make_check(out)
    assert proc.returncode == 0 and proc.stdout.startswith("PASS:"), proc.stdout + proc.stderr
    y = np.fromfile(out / "check_outputs.f32", "<f4")
    y[5] = np.nextafter(y[5], np.float32(np.inf))  # one ulp off: the bit-exact rule sees it
    bad = out / "bad_outputs.f32"
    y.tofile(bad)
    proc = subprocess.run([str(out / "build" / "host" / "check"), "check_inputs.f32", bad.name],
                          cwd=out, capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 1
    assert "first mismatch: sample 0, output 5" in proc.stdout and "FAIL:" in proc.stdout


@pytest.mark.arm
def test_make_check_cross_build_under_qemu(compiled):
    target = require_target("aarch64")
    proc = make_check(compiled["int8"].out_dir, "TARGET=aarch64", f"RUN={target.qemu}")
    assert proc.returncode == 0 and proc.stdout.startswith("PASS:"), proc.stdout + proc.stderr
