"""An int8 conv whose output only feeds a sign packing (the first layer of XNOR-Net) fuses
into one b1_s8conv2d (binarize.fuse_int8): its per-channel threshold equals the int8 sign
for every reachable dot in every rounding mode, the fused graph's reference equals the
unfused one bit for bit, and its C equals its reference."""

import cnnc
import numpy as np
import pytest
from cnnc import passes, reference
from cnnc.frontend import onnx_import
from cnnc.models import export, zoo
from cnnc.ops import bitpack, s8
from cnnc.ops.requant import ROUNDING_CODES, quantize_multipliers
from cnnc.passes import binarize, quantize


@pytest.mark.parametrize("rounding", ["single", "double", "onnxruntime"])
def test_thresholds_are_the_int8_sign_for_every_dot(rng, rounding):
    """Exhaustive over dots in [-bound, bound]: (y(d) < zero_point) == (d < thr), for
    random biases, multipliers (below and above 1), output zero points, clamps and packing
    zero points, including ones the output never reaches."""
    co, bound = 48, 6000
    scales = np.exp(rng.uniform(np.log(1e-4), np.log(4.0), co))
    if rounding == "onnxruntime":
        mult, shift = scales.astype(np.float32).view(np.int32), np.zeros(co, np.int32)
    else:
        mult, shift = quantize_multipliers(scales)
    bias = rng.integers(-5000, 5001, co).astype(np.int32)
    cases = [(0, -128, 127, 0), (-7, -7, 127, -7), (5, -128, 127, 127),
             (-128, -128, 127, -128), (3, -20, 40, 41), (3, -20, 40, -20)]  # fmt: skip
    for y_zp, lo, hi, z in cases:
        p = s8.ConvParams(1, 1, 1, 1, 1, 1, co, 1, 1, y_zero_point=y_zp, act_min=lo,
                          act_max=hi, rounding=ROUNDING_CODES[rounding])  # fmt: skip
        thr = binarize.sign_thresholds(bias, mult, shift, p, z, bound)
        d = np.arange(-bound, bound + 1, dtype=np.int64)[:, None]
        y = s8._out_s8(d + bias, mult, shift, p.rounding, y_zp, lo, hi)
        np.testing.assert_array_equal(d < thr, y < z, err_msg=f"zp {y_zp} [{lo}, {hi}] z {z}")


def test_fused_xnornet_equals_unfused(rng, tmp_path):
    net = zoo.xnornet(input_size=8, channels=(32, 16), pools=(True, False), stem_channels=20,
                      in_channels=3, rng=rng)  # fmt: skip
    g = binarize.binarize(passes.lower(onnx_import.load(export.to_onnx(net, (8, 8, 3)))))
    g8 = quantize.quantize(g, rng.standard_normal((16, 3, 8, 8)).astype(np.float32))
    fused = binarize.fuse_int8(g8)
    ops = [n.op for n in fused.nodes]
    assert ops.count("b1_s8conv2d") == 1 and "b1_pack" not in ops
    assert "s8_conv2d" in [n.op for n in g8.nodes[:4]]  # the int8 stem it replaced
    x = rng.standard_normal((12, 3, 8, 8)).astype(np.float32) * 2
    want = reference.run(g8, {"input": x}, keep_all=True)
    got = reference.run(fused, {"input": x}, keep_all=True)
    first = [n for n in fused.nodes if n.op == "b1_s8conv2d"][0]
    signs = bitpack.unpack_bits(got[first.outputs[0]], 20)
    assert 0.2 < signs.mean() < 0.8  # both signs occur: the thresholds are not trivial
    for name in (first.outputs[0], fused.outputs[0]):
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    cm = cnnc.compile(fused, tmp_path / "out", precision="float32")  # graph taken as is
    np.testing.assert_array_equal(cm.run(x), cm.reference(x))
