"""The binarise pass: XNOR-Net layers of hand-built ONNX graphs become b1 ops whose
outputs equal onnxruntime's float execution exactly (the signs, bit for bit), and
whose C equals the reference bit for bit."""

import cnnc
import numpy as np
import onnx
import pytest
from b1_helpers import negated_mask, pm1, signs_nchw
from cnnc import passes, reference
from cnnc.errors import UnsupportedError
from cnnc.frontend import onnx_import
from cnnc.ops import bitpack
from cnnc.passes import binarize
from onnx import helper
from onnx_builders import make_model, run_onnxruntime, sign_pattern


class Builder:
    """Collects ONNX nodes and initializers for an XNOR-Net-shaped graph."""

    def __init__(self, rng):
        self.rng, self.nodes, self.consts, self.signs = rng, [], {}, []

    def const(self, name, value):
        self.consts[name] = np.asarray(value, dtype=np.float32)
        return name

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def bn(self, x, c, name, gamma="mixed"):
        r = self.rng
        g = r.uniform(0.5, 2.0, c) * {"pos": 1, "neg": -1, "mixed": r.choice([-1, 1], c)}[gamma]
        args = [
            self.const(f"{name}.{k}", v)
            for k, v in [
                ("g", g),
                ("b", r.standard_normal(c)),
                ("m", r.standard_normal(c) * 3),
                ("v", r.uniform(0.5, 2.0, c)),
            ]
        ]
        return self.node("BatchNormalization", [x, *args], name)

    def sign(self, x, name):
        nodes, consts = sign_pattern(x, name, prefix=f"{name}.p")
        self.nodes += nodes
        self.consts.update(consts)
        self.signs.append(name)
        return name

    def bconv(self, x, cin, cout, k, stride, groups, name):
        w = self.const(f"{name}.w", pm1(self.rng, (cout, cin // groups, k, k)))
        pads = [k // 2] * 4
        y = self.node("Conv", [x, w], name, pads=pads, strides=[stride] * 2, group=groups)
        alpha = self.const(f"{name}.alpha", self.rng.uniform(0.05, 1.0, (1, cout, 1, 1)))
        return self.node("Mul", [y, alpha], f"{name}.mul")

    def maxpool(self, x, name):
        return self.node("MaxPool", [x], name, kernel_shape=[2, 2], strides=[2, 2])

    def model(self, x_shape, y):
        return make_model(self.nodes, {"x": x_shape}, {y: None}, self.consts)


def xnor_model(rng, c0, h, blocks, gamma="mixed"):
    """x -> [BN -> sign (-> pool) -> bconv -> alpha (-> pool)]* -> BN -> y."""
    b = Builder(rng)
    t, c = "x", c0
    for i, (cout, k, stride, groups, pool) in enumerate(blocks):
        t = b.sign(b.bn(t, c, f"bn{i}", gamma), f"s{i}")
        if pool == "after_sign":
            t = b.maxpool(t, f"pool{i}")
        t = b.bconv(t, c, cout, k, stride, groups, f"bconv{i}")
        if pool == "before_bn":
            t = b.maxpool(t, f"pool{i}")
        c = cout
    return b.model([1, c0, h, h], b.bn(t, c, "bn_out", gamma)), b.signs


def with_outputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of ``model`` that also outputs ``names`` (for onnxruntime only)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names)
    return m


def ort_per_sample(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    """onnxruntime over a batch, one sample per run (the models have batch 1)."""
    runs = [run_onnxruntime(model, {"x": x[i : i + 1]}) for i in range(len(x))]
    return [np.concatenate(outs) for outs in zip(*runs, strict=True)]


def check_against_onnxruntime(model, signs, x):
    lowered = passes.lower(onnx_import.load(model))
    g = binarize.binarize(lowered)
    got = reference.run(g, {"x": x}, keep_all=True)
    ort = ort_per_sample(with_outputs(model, signs), x)
    for name, want in zip(signs, ort[1:], strict=True):
        assert g.tensors[name].dtype == "b1", f"{name} should be packed"
        v = signs_nchw(g, got, name)
        bad = np.argwhere(v != want)
        assert not bad.size, f"{name}: {len(bad)} signs differ, first at {bad[0]}"
    y = got[g.outputs[0]]
    tol = 1e-4 * (np.abs(ort[0]).max() + 1)
    np.testing.assert_allclose(y, ort[0], rtol=0, atol=tol)
    return g


BLOCKS = {
    "plain": [(33, 3, 1, 1, "none"), (17, 3, 1, 1, "none")],
    "pool_before_bn": [(64, 3, 1, 1, "before_bn"), (31, 3, 1, 1, "before_bn")],
    "pool_after_sign": [(65, 3, 1, 1, "none"), (32, 1, 1, 1, "after_sign")],
    "stride2": [(3, 3, 2, 1, "none"), (63, 3, 2, 1, "before_bn")],
    "depthwise": [(33, 3, 1, 33, "before_bn"), (66, 3, 2, 33, "none")],
    "grouped": [(64, 3, 1, 1, "none"), (64, 3, 1, 2, "before_bn"), (33, 1, 1, 1, "none")],
}


@pytest.mark.parametrize("blocks", list(BLOCKS), ids=list(BLOCKS))
@pytest.mark.parametrize("gamma", ["pos", "neg", "mixed"])
def test_binary_layers_equal_onnxruntime(rng, blocks, gamma):
    c0 = 33 if blocks == "depthwise" else 7
    model, signs = xnor_model(rng, c0, 9, BLOCKS[blocks], gamma)
    x = rng.standard_normal((4, c0, 9, 9)).astype(np.float32)
    g = check_against_onnxruntime(model, signs, x)
    ops = [n.op for n in g.nodes]
    assert "conv2d" not in ops, f"a binary conv stayed float: {ops}"
    assert ops.count("b1_conv2d") == len(BLOCKS[blocks])
    spec = BLOCKS[blocks]
    # every pool between binary layers runs on bits; one after the last layer stays float
    float_pools = int(spec[-1][-1] == "before_bn")
    assert ops.count("b1_maxpool2d") == sum(p != "none" for *_, p in spec) - float_pools
    assert ops.count("maxpool2d") == float_pools


@pytest.mark.parametrize("chunked", [False, True], ids=["one_grid", "channel_blocks"])
def test_thresholds_are_exact_at_every_dot(rng, monkeypatch, chunked):
    """Every reachable dot of a 1x1 layer with K = 65, against BN-like affine constants put
    exactly on (and one ulp either side of) integer dots: the bits equal onnxruntime's.
    ``channel_blocks`` evaluates the dot grid 2 channels at a time (as for a large K)."""
    if chunked:
        monkeypatch.setattr(binarize, "GRID_ELEMENTS", 2 * (2 * 65 + 1))
    k, co = 65, 24
    w1 = pm1(rng, (co, k, 1, 1))
    alpha = rng.uniform(0.05, 1.0, co).astype(np.float32)
    scale = (rng.uniform(0.1, 3.0, co) * rng.choice([-1, 1], co)).astype(np.float32)
    d0 = (rng.integers(-k // 2, k // 2 + 1, co) * 2 + 1).astype(np.float32)  # parity of K
    shift = -((d0 * alpha) * scale)  # float32 throughout: y(d0) is exactly 0 ...
    nudge = rng.choice([-1, 0, 1], co)  # ... or one ulp either way
    shift = np.where(nudge > 0, np.nextafter(shift, np.float32(np.inf)), shift)
    shift = np.where(nudge < 0, np.nextafter(shift, np.float32(-np.inf)), shift)
    # constant channels: gamma = 0 with y = -1 or y = 0 (sign(0) = +1), and shifts no dot
    # can overcome in either direction
    scale[:2], shift[:2] = 0.0, [-1.0, 0.0]
    shift[2:4] = [1e6, -1e6]
    b = Builder(rng)
    t = b.sign("x", "s0")
    t = b.node("Conv", [t, b.const("w1", w1)], "bconv1")
    t = b.node("Mul", [t, b.const("a1", alpha.reshape(1, co, 1, 1))], "alpha1")
    t = b.node("Mul", [t, b.const("sc", scale.reshape(1, co, 1, 1))], "scale1")
    t = b.node("Add", [t, b.const("sh", shift.reshape(1, co, 1, 1))], "shift1")
    t = b.sign(t, "s1")
    t = b.bconv(t, co, 5, 1, 1, 1, "bconv2")
    model = b.model([1, k, 1, 1], t)
    # for channel c, inputs w1[c] with the first j signs flipped: dot_c = K - 2j, all of them
    flips = np.where(np.arange(k)[None, :] < np.arange(k + 1)[:, None], -1, 1)
    x = (w1[:, None, :, 0, 0] * flips[None]).reshape(-1, k, 1, 1).astype(np.float32)
    check_against_onnxruntime(model, ["s1"], x)


def test_binary_dense_after_flatten_and_dense_chain(rng):
    """sign -> Flatten -> Gemm(±1) -> alpha -> BN -> sign -> Gemm(±1) -> alpha: the first
    becomes a conv with one window over the NHWC input, the second a b1_dense."""
    b = Builder(rng)
    t = b.sign(b.bn("x", 5, "bn0"), "s0")
    t = b.node("Flatten", [t], "flat")
    t = b.node("Gemm", [t, b.const("w1", pm1(rng, (33, 5 * 3 * 3)))], "fc1", transB=1)
    t = b.node("Mul", [t, b.const("a1", rng.uniform(0.1, 1, (1, 33)))], "fc1.mul")
    t = b.sign(b.bn(t, 33, "bn1"), "s1")
    t = b.node("Gemm", [t, b.const("w2", pm1(rng, (10, 33)))], "fc2", transB=1)
    t = b.node("Mul", [t, b.const("a2", rng.uniform(0.1, 1, (1, 10)))], "fc2.mul")
    model = b.model([1, 5, 3, 3], t)
    x = rng.standard_normal((6, 5, 3, 3)).astype(np.float32)
    lowered = passes.lower(onnx_import.load(model))
    g = binarize.binarize(lowered)
    assert [n.op for n in g.nodes if n.op.startswith("b1_")] == [
        "b1_pack",
        "b1_conv2d",
        "b1_dense",
    ]
    got = reference.run(g, {"x": x}, keep_all=True)
    ort = ort_per_sample(with_outputs(model, ["s1"]), x)
    s1 = bitpack.unpack_signs(got["s1"], 33) * np.where(negated_mask(g, "s1"), -1, 1)
    np.testing.assert_array_equal(s1, ort[1])
    np.testing.assert_array_equal(got[g.outputs[0]], ort[0])  # alpha only: exact


@pytest.mark.parametrize("blocks", ["pool_before_bn", "depthwise"])
def test_compiled_c_equals_reference_per_layer(rng, tmp_path, blocks):
    c0 = 33 if blocks == "depthwise" else 7
    model, _ = xnor_model(rng, c0, 9, BLOCKS[blocks], "mixed")
    cm = cnnc.compile(model, tmp_path / "out", precision="binary")
    x = rng.standard_normal((3, c0, 9, 9)).astype(np.float32)
    np.testing.assert_array_equal(cm.run(x), cm.reference(x))
    values = cm.reference_all(x)
    for n, node in enumerate(cm.graph.nodes, start=1):
        want = np.asarray(values[node.outputs[0]])
        got = cm.run_layers(x, n)
        for s in range(len(x)):
            raw = np.frombuffer(got[s], dtype=want.dtype)
            bad = np.flatnonzero(raw != want[s].ravel())
            assert not bad.size, f"layer {n} {node.op} sample {s}: first diff at {bad[0]}"


def test_packed_weights_are_32x_smaller(rng):
    model, _ = xnor_model(rng, 32, 9, [(64, 3, 1, 1, "none"), (32, 3, 1, 1, "none")])
    g = binarize.binarize(passes.lower(onnx_import.load(model)))
    for node in (n for n in g.nodes if n.op == "b1_conv2d"):
        packed = g.const(node.inputs[1])
        co, kh, kw, _ = packed.shape
        cin = g.tensors[node.inputs[0]].shape[-1]
        assert packed.dtype == np.uint32
        assert co * kh * kw * cin * 4 / packed.nbytes == 32


# ---------------------------------------------------------------- rejected patterns


def _one_block(rng, bias=False, alpha=True, second_user=False):
    b = Builder(rng)
    t = b.sign("x", "s0")
    inputs = [t, b.const("w", pm1(rng, (8, 4, 3, 3)))]
    if bias:
        inputs.append(b.const("bias", rng.standard_normal(8)))
    y = b.node("Conv", inputs, "bconv", pads=[1, 1, 1, 1])
    out = y
    if alpha:
        out = b.node("Mul", [y, b.const("a", rng.uniform(0.1, 1, (1, 8, 1, 1)))], "bconv.mul")
    if second_user:
        out = b.node("Add", [out, y], "mix")
    return b.model([1, 4, 5, 5], out)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"bias": True}, "no bias"),
        ({"alpha": False}, "alpha"),
        ({"second_user": True}, "only consumer"),
    ],
    ids=["bias", "no_alpha", "two_users"],
)
def test_ambiguous_binary_layers_are_rejected(rng, kwargs, message):
    g = passes.lower(onnx_import.load(_one_block(rng, **kwargs)))
    with pytest.raises(UnsupportedError, match=message) as err:
        binarize.binarize(g)
    assert "bconv" in str(err.value)


def test_float_layers_stay_float(rng):
    """±1 weights on a real-valued input, or real weights on a sign input: not binary."""
    b = Builder(rng)
    t = b.node("Conv", ["x", b.const("w0", pm1(rng, (6, 3, 3, 3)))], "conv0")
    t = b.sign(t, "s0")
    t = b.node("Conv", [t, b.const("w1", rng.standard_normal((4, 6, 1, 1)))], "conv1")
    g = binarize.binarize(passes.lower(onnx_import.load(b.model([1, 3, 5, 5], t))))
    assert not any(n.op.startswith("b1_") for n in g.nodes)


def test_non_monotone_ops_before_sign_are_rejected(rng):
    """LeakyRelu with a negative slope, then -1: sign is -1 near dot 0 and +1 far from it,
    a band no single threshold can represent."""
    b = Builder(rng)
    t = b.bconv(b.sign("x", "s0"), 4, 8, 3, 1, 1, "bconv0")
    t = b.node("LeakyRelu", [t], "leaky", alpha=-0.5)
    t = b.node("Add", [t, b.const("minus_one", np.full((1, 8, 1, 1), -1.0))], "offset")
    t = b.bconv(b.sign(t, "s1"), 8, 8, 3, 1, 1, "bconv1")
    g = passes.lower(onnx_import.load(b.model([1, 4, 5, 5], t)))
    with pytest.raises(UnsupportedError, match="not monotone in channel") as err:
        binarize.binarize(g)
    assert "bconv0" in str(err.value)


def test_negated_channels_reach_a_binary_dense_after_flatten(rng):
    """conv -> alpha -> pool -> BN(gamma < 0) -> sign stores negated channels; the binary
    dense after the flatten must flip its weights for them at every pixel."""
    b = Builder(rng)
    t = b.bconv(b.sign("x", "s0"), 3, 33, 3, 1, 1, "bconv0")
    t = b.maxpool(t, "pool0")
    t = b.sign(b.bn(t, 33, "bn1", gamma="neg"), "s1")
    t = b.node("Flatten", [t], "flat")
    t = b.node("Gemm", [t, b.const("w1", pm1(rng, (17, 33 * 2 * 2)))], "fc1", transB=1)
    t = b.node("Mul", [t, b.const("a1", rng.uniform(0.1, 1, (1, 17)))], "fc1.mul")
    model = b.model([1, 3, 5, 5], t)
    x = rng.standard_normal((8, 3, 5, 5)).astype(np.float32)
    g = check_against_onnxruntime(model, ["s1"], x)
    # gamma < 0 after the pool negates every channel whose sign is not constant over dots
    assert negated_mask(g, "s1").sum() > 16
    ops = [n.op for n in g.nodes]
    assert ops.count("b1_conv2d") == 2 and "dense" not in ops


def test_sign_read_by_a_float_op_too_is_packed_beside_it(rng):
    """A sign output that a float op also reads stays float; the binary layer gets a packed
    copy."""
    b = Builder(rng)
    s0 = b.sign("x", "s0")
    t = b.bconv(s0, 4, 4, 3, 1, 1, "bconv0")
    t = b.node("Add", [t, s0], "mix")
    model = b.model([1, 4, 5, 5], t)
    x = rng.standard_normal((3, 4, 5, 5)).astype(np.float32)
    g = binarize.binarize(passes.lower(onnx_import.load(model)))
    assert g.tensors["s0"].dtype == "float32"
    packed = [n for n in g.nodes if n.op == "b1_pack"]
    assert len(packed) == 1 and g.tensors[packed[0].outputs[0]].dtype == "b1"
    got = reference.run(g, {"x": x})[g.outputs[0]]
    want = ort_per_sample(model, x)[0]
    np.testing.assert_array_equal(got, want)  # ±1 sums times alpha, plus ±1: exact


def test_fuse_int8_changes_no_value_and_compiles_bit_exact(rng, tmp_path):
    """After quantize: dequantize -> b1_pack and b1_conv2d -> quantize fuse, the reference
    is unchanged bit for bit, and the C of the fused graph equals it."""
    from cnnc.passes import quantize

    model, _ = xnor_model(rng, 7, 9, BLOCKS["pool_before_bn"], "mixed")
    g = binarize.binarize(passes.lower(onnx_import.load(model)))
    g8 = quantize.quantize(g, rng.standard_normal((16, 7, 9, 9)).astype(np.float32))
    fused = binarize.fuse_int8(g8)
    ops = [n.op for n in fused.nodes]
    assert "s8_dequantize" not in ops[: ops.index("b1_pack")], "b1_pack should read int8"
    assert fused.tensors[fused.producer("s1").inputs[0]].dtype == "b1"
    last = [n for n in fused.nodes if n.op == "b1_conv2d"][-1]
    assert last.attrs["out"] == "int8" and fused.tensors[last.outputs[0]].dtype == "int8"
    assert len(ops) == len(g8.nodes) - 2
    x = rng.standard_normal((5, 7, 9, 9)).astype(np.float32)
    want = reference.run(g8, {"x": x}, keep_all=True)
    got = reference.run(fused, {"x": x}, keep_all=True)
    for name in (last.outputs[0], fused.outputs[0]):
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    cm = cnnc.compile(fused, tmp_path / "out", precision="float32")  # graph taken as is
    np.testing.assert_array_equal(cm.run(x), cm.reference(x))
