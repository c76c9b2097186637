"""The int8 and binary kernel grids replayed on ARM, one single-layer ONNX model per case.

Each case goes through the whole pipeline (import, lower, quantise or binarise,
codegen, the runtime kernel), is cross-built and run under qemu, and must equal the
NumPy reference bit for bit (int8, binary) or within 1e-4 of the output range
(float32). The cases pick the tile edges of the kernel tests in tests/runtime:
odd channel counts around the 32-bit packing word (1, 3, 17, 33, 65), stride 1
and 2, padded and valid, depthwise, pointwise, residual add, pooling.
"""

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc import api
from cnnc.host import cross

from . import layer_models as oc
from .conftest import assert_float_close, require_target

pytestmark = pytest.mark.arm

LAYER_CASES = {
    "conv3x3-s1-C3-Co7-relu": (
        (3, 9, 9),
        [(oc.conv, dict(co=7, k=3, stride=1, pad=1, act="relu"))],
    ),
    "conv3x3-s2-C17-Co5": ((17, 7, 6), [(oc.conv, dict(co=5, k=3, stride=2, pad=1))]),
    "conv1x1-C33-Co17": ((33, 5, 5), [(oc.conv, dict(co=17, k=1, stride=1, pad=0))]),
    "dw3x3-s1-C17-relu6": (
        (17, 7, 7),
        [(oc.conv, dict(co=17, k=3, stride=1, pad=1, groups=17, act="relu6"))],
    ),
    "dw3x3-s2-C33": ((33, 9, 9), [(oc.conv, dict(co=33, k=3, stride=2, pad=1, groups=33))]),
    "dense-K65-M7": ((65, 1, 1), [(oc.dense, dict(m=7))]),
    "maxpool2-s2-C17": ((17, 9, 9), [(oc.pool, dict(kind="max", k=2, stride=2, pad=0))]),
    "avgpool3-s1-pad1-C7": ((7, 5, 5), [(oc.pool, dict(kind="avg", k=3, stride=1, pad=1))]),
    "gap-C33": ((33, 5, 3), [(oc.global_avgpool, {})]),
    "residual-add-C17": ((17, 5, 5), [(oc.residual_add, dict(act="relu"))]),
}  # fmt: skip

BINARY_CASES = {
    "bconv3x3-s1-C1-Co17": ((1, 7, 7), [(oc.binary_conv, dict(co=17, k=3, stride=1, pad=1))]),
    "bconv3x3-s2-C33-Co32": ((33, 9, 9), [(oc.binary_conv, dict(co=32, k=3, stride=2, pad=1))]),
    "bconv3x3-valid-C65-Co7": ((65, 5, 5), [(oc.binary_conv, dict(co=7, k=3, stride=1, pad=0))]),
    "bconv1x1-C3-Co65": ((3, 5, 5), [(oc.binary_conv, dict(co=65, k=1, stride=1, pad=0))]),
    "bn-bconv-bn-bconv-C17-33-31": (
        (17, 7, 7),
        [(oc.batchnorm, {}), (oc.binary_conv, dict(co=33, k=3, stride=1, pad=1)),
         (oc.batchnorm, {}), (oc.binary_conv, dict(co=31, k=3, stride=1, pad=1))],
    ),
    "bconv-maxpool-bn-bconv-C32-33-17": (
        (32, 8, 8),
        [(oc.binary_conv, dict(co=33, k=3, stride=1, pad=1)),
         (oc.pool, dict(kind="max", k=2, stride=2, pad=0)),
         (oc.batchnorm, {}), (oc.binary_conv, dict(co=17, k=3, stride=1, pad=1))],
    ),
    "bdense-K65-M10": ((65, 1, 1), [(oc.binary_dense, dict(m=10))]),
}  # fmt: skip


def compile_case(tmp_path, rng, case, precision):
    shape, steps = case
    model = oc.build(rng, shape, steps)
    calibration = rng.standard_normal((16, *shape)).astype(np.float32)
    kwargs = {"calibration": calibration} if precision == "int8" else {}
    return api.compile(model, tmp_path / precision, precision=precision, **kwargs)


def inputs(rng, case, n=5):
    return rng.standard_normal((n, *case[0])).astype(np.float32)


@pytest.mark.parametrize("name", list(LAYER_CASES))
def test_float32_layer_on_aarch64(tmp_path, rng, name):
    require_target("aarch64")
    m = compile_case(tmp_path, rng, LAYER_CASES[name], "float32")
    x = inputs(rng, LAYER_CASES[name])
    want = m.reference(x).reshape(len(x), -1)
    assert_float_close(want, cross.run(m.out_dir, "aarch64", x), f"{name} float32 aarch64")


@pytest.mark.parametrize("name", list(LAYER_CASES))
def test_int8_layer_bit_exact_on_aarch64(tmp_path, rng, name):
    require_target("aarch64")
    m = compile_case(tmp_path, rng, LAYER_CASES[name], "int8")
    assert any(node.op.startswith("s8_") for node in m.graph.nodes), "no int8 layer compiled"
    x = inputs(rng, LAYER_CASES[name])
    want = m.reference(x).reshape(len(x), -1).astype(np.float32)
    assert_bit_exact(want, cross.run(m.out_dir, "aarch64", x), f"{name} int8 aarch64")


@pytest.mark.parametrize("name", list(BINARY_CASES))
def test_binary_layer_bit_exact_on_aarch64(tmp_path, rng, name):
    require_target("aarch64")
    m = compile_case(tmp_path, rng, BINARY_CASES[name], "binary")
    assert any(node.op.startswith("b1_") for node in m.graph.nodes), "no binary layer compiled"
    x = inputs(rng, BINARY_CASES[name])
    want = m.reference(x).reshape(len(x), -1).astype(np.float32)
    assert_bit_exact(want, cross.run(m.out_dir, "aarch64", x), f"{name} binary aarch64")
