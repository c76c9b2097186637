"""The reference reproduces the outputs PyTorch stored with the onnx package's backend cases."""

from __future__ import annotations

import numpy as np
import pytest
from cnnc import passes, reference
from cnnc.errors import UnsupportedError
from cnnc.frontend import onnx_import
from cnnc.ops.registry import OPS
from onnx_cases import BACKEND_CASES, FLOAT64_CASES, load_case

TOL = 1e-5  # of the output range; the stored outputs are PyTorch float32


@pytest.mark.parametrize("case", BACKEND_CASES, ids=str)
def test_reference_matches_stored_outputs(case):
    model_path, feeds, expected = load_case(case)
    graph = onnx_import.load(model_path)
    lowered = passes.lower(graph)
    assert {n.op for n in lowered.nodes} <= set(OPS)
    for stage, g in (("imported", graph), ("lowered", lowered)):
        got = reference.run(g, feeds)
        for name, want in zip(g.outputs, expected, strict=True):
            actual = got[name]
            assert actual.shape == want.shape, f"{stage} '{name}': {actual.shape} != {want.shape}"
            span = float(np.ptp(want)) or 1.0
            err = np.abs(actual - want)
            worst = np.unravel_index(int(np.argmax(err)), err.shape)
            assert err[worst] <= TOL * span, (
                f"{case} {stage} '{name}' at {worst}: expected {want[worst]}, "
                f"actual {actual[worst]} (|err| {err[worst]:.3g}, range {span:.3g})"
            )


@pytest.mark.parametrize("case", FLOAT64_CASES, ids=str)
def test_float64_cases_are_rejected_naming_the_dtype(case):
    model_path, _, _ = load_case(case)
    with pytest.raises(
        UnsupportedError, match=r"graph input '0' is float64; cnnc compiles float32"
    ):
        passes.lower(onnx_import.load(model_path))
