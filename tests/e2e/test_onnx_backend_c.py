"""Every 2-D case bundled with the onnx package that cnnc supports (tests/onnx_cases.py)
compiles to C, and the C reproduces the outputs PyTorch stored with the case."""

import sys
from pathlib import Path

import cnnc
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))
from onnx_cases import BACKEND_CASES, load_case  # noqa: E402


@pytest.mark.parametrize("case", BACKEND_CASES, ids=str)
def test_backend_case_in_c(case, tmp_path):
    path, feeds, expected = load_case(case)
    compiled = cnnc.compile(str(path), tmp_path / "out")
    y = compiled.run(list(feeds.values())).reshape(expected[0].shape)
    span = float(expected[0].max() - expected[0].min())
    tol = 1e-4 * span if span > 0 else 1e-6 * max(float(np.abs(expected[0]).max()), 1.0)
    diff = np.abs(y.astype(np.float64) - expected[0])
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    assert diff[worst] <= tol, (
        f"{case}: max |C - stored| {diff[worst]:.3g} > {tol:.3g} at {worst}: "
        f"expected {expected[0][worst]!r}, C gave {y[worst]!r}"
    )
