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


def test_dilated_conv_and_conv_transpose_keep_the_models_weights():
    """The segmentation head's dilated Conv and stride-2 ConvTranspose compile with the
    model's own int8 weights (per output channel, the same integers; the ConvTranspose's
    are transposed and flipped into a conv), not re-quantised by cnnc."""
    from onnx import numpy_helper

    size = 64
    calib = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    qm = quantize_static(fold_batchnorm(FAMILIES["seg_head"](size=size, seed=7)), calib,
                         "QDQ", "QInt8", reduce_range=True)  # fmt: skip
    inits = {t.name: numpy_helper.to_array(t) for t in qm.graph.initializer}
    dq = {n.output[0]: inits[n.input[0]] for n in qm.graph.node
          if n.op_type == "DequantizeLinear" and n.input[0] in inits}  # fmt: skip
    graph = api.apply_precision(api.lowered_graph(qm), "int8", None, {})
    weighted = {n.name: n for n in graph.nodes if n.op == "s8_conv2d"}
    checked = []
    for node in qm.graph.node:
        dilated = any(a.name == "dilations" and max(a.ints) > 1 for a in node.attribute)
        if not (node.op_type == "ConvTranspose" or (node.op_type == "Conv" and dilated)):
            continue
        theirs = dq[node.input[1]].astype(int)
        if node.op_type == "ConvTranspose":
            theirs = theirs.swapaxes(0, 1)  # [C_out, C_in, kh, kw]
        ours = graph.tensors[weighted[node.name].inputs[1]].data.astype(int)
        for c in range(len(theirs)):
            np.testing.assert_array_equal(np.sort(ours[c].ravel()), np.sort(theirs[c].ravel()))
        checked.append(node.op_type)
    assert sorted(checked) == ["Conv", "ConvTranspose"], checked
