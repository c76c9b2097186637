"""Today's edge CNN families quantised by onnxruntime's quantize_static compile without
calibration, and with ``--rounding onnxruntime`` equal onnxruntime's CPU execution.

Per family (tests/model_families.py at the sizes of test_model_families.py, EfficientNet
at depth 1, BN folded, per-channel 7-bit weights so onnxruntime's u8s8 kernels cannot
saturate on a non-VNNI CPU): the C equals cnnc's reference bit for bit, and every output
equals onnxruntime's (measured 100 %; bench/bench_prequantised.py prints the whole table
and the full-range residue). The cases cover what the families added to the import:
- MobileNetV3-Small, QDQ int8: HardSwish/HardSigmoid tables at the model's scales and
  the squeeze-excitation Mul (s8_mul with QLinearMul's float32 multiplier);
- ShuffleNetV2, QOperator uint8: Split and the channel shuffle on uint8 tensors, and
  ReduceMean (its keepdims=0 reshape carries the model's parameters back; MnasNet's QDQ
  ReduceMean takes the same path and is in the bench only);
- EfficientNet-B0, QOperator uint8: SiLU as QLinearSigmoid and QLinearMul, which the
  lowering keeps apart (the model quantises the sigmoid's output).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from cnnc import api
from cnnc.passes.quantize import float_ops_inside
from model_families import FAMILIES
from qdq_models import fold_batchnorm, quantize_static

SIZES = {  # builder keyword arguments, input size (as test_model_families.CASES)
    "mobilenetv3_small": ({"width": 0.5}, 64),
    "shufflenetv2": ({"width": 0.5, "depth": 2}, 64),
    "efficientnet_b0": ({"width": 0.35, "depth": 1}, 64),
}
CASES = [("mobilenetv3_small", "QDQ", "QInt8"), ("shufflenetv2", "QOperator", "QUInt8"),
         ("efficientnet_b0", "QOperator", "QUInt8")]  # fmt: skip
SAMPLES = 8


def ort_run(model, x: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])  # fmt: skip
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))])


@pytest.mark.parametrize("name,fmt,act", CASES)
def test_family_compiles_and_equals_onnxruntime(tmp_path, name, fmt, act):
    kwargs, size = SIZES[name]
    rng = np.random.default_rng(0)
    calib = rng.standard_normal((4, 3, size, size)).astype(np.float32)
    x = rng.standard_normal((SAMPLES, 3, size, size)).astype(np.float32)
    model = fold_batchnorm(FAMILIES[name](size=size, seed=7, **kwargs))
    qm = quantize_static(model, calib, fmt, act, reduce_range=True)
    cm = api.compile(qm, tmp_path / "out", precision="int8", rounding="onnxruntime")
    assert cm.graph.metadata["cnnc.calibration"] == "model"
    assert not float_ops_inside(cm.graph)
    ref = cm.reference(x)
    np.testing.assert_array_equal(cm.run(x), ref)  # C == reference, bit for bit
    theirs = ort_run(qm, x)
    same = ref.reshape(theirs.shape) == theirs
    print(f"{name} {fmt}/{act}: {same.mean():.2%} identical to onnxruntime")
    assert same.all(), f"{name} {fmt}: {int((~same).sum())} of {same.size} outputs differ"
