"""Binary layers give identical bytes on every target: a compiled XNOR-Net block run under
qemu (aarch64, armv7) equals the NumPy reference bit for bit in every b1 layer."""

import cnnc
import numpy as np
import pytest
from b1_helpers import pm1
from cnnc.host import cross
from onnx import helper
from onnx_builders import make_model, sign_pattern
from toolchains import require_target

pytestmark = pytest.mark.arm


def xnor_block_model(rng):
    """x[1,5,9,9] -> BN -> sign -> bconv 3x3 (33) -> alpha -> pool -> BN -> sign
    -> depthwise bconv 3x3 s2 -> alpha -> BN -> y."""
    nodes, consts = [], {}

    def bn(x, c, name):
        g = rng.uniform(0.5, 2, c) * rng.choice([-1, 1], c)
        vals = [g, rng.standard_normal(c), rng.standard_normal(c), rng.uniform(0.5, 2, c)]
        names = [f"{name}.{k}" for k in "gbmv"]
        consts.update({n: v.astype(np.float32) for n, v in zip(names, vals, strict=True)})
        nodes.append(helper.make_node("BatchNormalization", [x, *names], [name], name=name))
        return name

    def sign(x, name):
        n, c = sign_pattern(x, name, prefix=f"{name}.p")
        nodes.extend(n)
        consts.update(c)
        return name

    def bconv(x, cin, cout, stride, groups, name):
        consts[f"{name}.w"] = pm1(rng, (cout, cin // groups, 3, 3))
        consts[f"{name}.a"] = rng.uniform(0.1, 1, (1, cout, 1, 1)).astype(np.float32)
        nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{name}.w"],
                [name],
                name=name,
                pads=[1] * 4,
                strides=[stride] * 2,
                group=groups,
            )
        )
        nodes.append(helper.make_node("Mul", [name, f"{name}.a"], [f"{name}.m"],
                                      name=f"{name}.mul"))  # fmt: skip
        return f"{name}.m"

    t = bconv(sign(bn("x", 5, "bn0"), "s0"), 5, 33, 1, 1, "bconv0")
    nodes.append(helper.make_node("MaxPool", [t], ["pool0"], name="pool0",
                                  kernel_shape=[2, 2], strides=[2, 2]))  # fmt: skip
    t = bconv(sign(bn("pool0", 33, "bn1"), "s1"), 33, 33, 2, 33, "bconv1")
    return make_model(nodes, {"x": [1, 5, 9, 9]}, {bn(t, 33, "bn_out"): None}, consts)


@pytest.mark.parametrize("target", ["aarch64", "armv7"])
def test_binary_layers_are_bit_exact_under_qemu(rng, tmp_path, target):
    require_target(target)
    cm = cnnc.compile(xnor_block_model(rng), tmp_path / "out", precision="binary")
    x = rng.standard_normal((3, 5, 9, 9)).astype(np.float32)
    values = cm.reference_all(x)
    layers = cross.run_all_layers(cm.out_dir, target, x)
    checked = 0
    for node, records in zip(cm.graph.nodes, layers, strict=True):
        if not node.op.startswith("b1_"):
            continue
        want = np.asarray(values[node.outputs[0]])
        for s, raw in enumerate(records):
            got = np.frombuffer(raw, dtype=want.dtype)
            bad = np.flatnonzero(got != want[s].ravel())
            assert not bad.size, f"{target} {node.name} ({node.op}) sample {s}: diff at {bad[0]}"
        checked += 1
    assert checked == 4  # b1_pack, b1_conv2d (bits), b1_maxpool2d, depthwise b1_conv2d (float)
    y = cross.run(cm.out_dir, target, x).reshape(len(x), -1)
    ref = cm.reference(x).reshape(len(x), -1)
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-4 * np.abs(ref).max())
