"""cnnc_model_run_threads and the cnnc_model_threads pool (model_threads.c): the same
outputs for every thread count, on the host and under qemu-aarch64. int8 equals the NumPy
reference bit for bit (as cnnc_model_run must); float32 is identical across thread counts
(no reduction is split, so every value comes from the same code on the same data) and
within 1e-4 of the reference."""

from __future__ import annotations

import re

import numpy as np
import onnx_builders
import pytest
from cnnc.host import threaded

from .conftest import require_target

SIZE = 17  # odd: output rows do not split evenly over 2 or 3 threads


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    import cnnc

    model = onnx_builders.mobilenetv2_pytorch_style(10, SIZE, 0.35)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, SIZE, SIZE)).astype(np.float32)
    out = {}
    for precision in ("int8", "float32"):
        kwargs = {"calibration": x} if precision == "int8" else {}
        folder = tmp_path_factory.mktemp(precision)
        out[precision] = cnnc.compile(model, folder / "out", precision=precision, **kwargs)
    return out, x


@pytest.mark.parametrize(
    "target, precision",
    [
        ("host", "int8"),
        ("host", "float32"),
        pytest.param("aarch64", "int8", marks=pytest.mark.arm),
        pytest.param("aarch64", "float32", marks=pytest.mark.arm),
    ],
)
def test_threads_identical_for_every_count(folders, target, precision):
    compiled, x = folders
    require_target(target)
    cm = compiled[precision]
    threads_c = (cm.out_dir / "model_threads.c").read_text()
    split, total = map(int, re.search(r"\((\d+) of (\d+) layers split", threads_c).groups())
    # only the global pool and the flatten run whole on thread 0
    assert total - split == 2, threads_c[:400]
    assert "p.w = p.out_w = q1 - q0;" in threads_c  # pointwise layers split by pixels
    if precision == "int8":  # the classifier and small pointwise layers by output columns
        assert "cols(&d, c0, c1," in threads_c and "cnnc_s8_dense_cols__avx512;" in threads_c
    else:  # the classifier by output columns on x86
        assert "cols(&p, c0, c1," in threads_c and "cnnc_f32_dense_cols__avx512;" in threads_c
    if precision == "float32":  # the residual add in place and the input transpose, by rows
        assert "p.b_row_stride" in threads_c and "nchw_to_nhwc_rows(p.in_shape[1]" in threads_c
    expected = cm.reference(x).reshape(len(x), -1)
    first = None
    for n, pool in ((1, False), (2, False), (3, False), (2, True), (3, True)):
        # the pool runs every sample twice on the same threads (-r 2): the last run is kept
        got, _ = threaded.run_threads(cm.out_dir, target, x, n, repeat=1 + pool, pool=pool)
        first = got if first is None else first
        diff = np.flatnonzero(got != first)
        assert diff.size == 0, f"{n} threads (pool {pool}) vs 1, index {diff[:1]}"
    if precision == "int8":
        diff = np.flatnonzero(first != expected)
        assert diff.size == 0, (
            f"index {diff[:1]}: {first.flat[diff[:1]]} != {expected.flat[diff[:1]]}"
        )
    else:
        span = float(expected.max() - expected.min())
        np.testing.assert_allclose(first, expected, rtol=0, atol=1e-4 * span)
