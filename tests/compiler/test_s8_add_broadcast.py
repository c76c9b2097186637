"""int8 Add of two activations of different shapes: x[1,C,H,W] + a per-channel activation
[1,C,1,1] (in either input order) and x + a per-pixel map [1,1,H,W], both computed
tensors. The int8 build keeps it integer (``s8_add_broadcast``, no float op), its C equals
the reference bit for bit, and it stays close to onnxruntime's float execution. The kernel
alone, over every broadcast case and rounding mode, equals the NumPy definition and the
real-valued sum requantised (within one step)."""

import numpy as np
import pytest
from cnnc import api
from cnnc.host.kernels import run_s8_kernel
from cnnc.ops import requant, s8
from cnnc.passes.quantize import float_ops_inside
from onnx import helper
from onnx_builders import make_model, run_onnxruntime

C = 6


def broadcast_add_model(rng):
    """conv -> ReLU = h; h + reduce(GAP(h)) (per channel), gate + h (per channel, the
    smaller input first), h2 + 1x1 conv to one channel (per pixel) -> 1x1 conv."""
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], name="c0", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["h"], name="relu"),
        helper.make_node("GlobalAveragePool", ["h"], ["g"], name="squeeze"),
        helper.make_node("Conv", ["g", "wg", "bg"], ["gc"], name="channel_bias"),
        helper.make_node("Add", ["h", "gc"], ["h1"], name="add_per_channel"),
        helper.make_node("Add", ["gc", "h1"], ["h2"], name="add_per_channel_swapped"),
        helper.make_node("Conv", ["h2", "wm"], ["m"], name="pixel_map"),
        helper.make_node("Add", ["h2", "m"], ["h3"], name="add_per_pixel"),
        helper.make_node("Conv", ["h3", "w1"], ["y"], name="project"),
    ]
    w = lambda co, ci, k: (rng.standard_normal((co, ci, k, k)) * 0.5).astype(np.float32)  # noqa: E731
    inits = {"w0": w(C, 3, 3), "b0": rng.standard_normal(C).astype(np.float32),
             "wg": w(C, C, 1), "bg": rng.standard_normal(C).astype(np.float32),
             "wm": w(1, C, 1), "w1": w(4, C, 1)}  # fmt: skip
    return make_model(nodes, {"x": [1, 3, 9, 7]}, {"y": None}, inits)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    rng = np.random.default_rng(29)
    model = broadcast_add_model(rng)
    x = rng.standard_normal((24, 3, 9, 7)).astype(np.float32)
    q = api.compile(model, tmp_path_factory.mktemp("badd") / "int8", precision="int8",
                    calibration=x[:16])  # fmt: skip
    return model, x, q


def test_broadcast_add_is_integer_and_bit_exact(compiled):
    model, x, q = compiled
    ops = [n.op for n in q.graph.nodes]
    assert ops.count("s8_add_broadcast") == 3, ops
    assert q.graph.metadata["cnnc.float_ops"] == ""
    y = q.run(x)
    bad = np.argwhere(y != q.reference(x))
    assert not bad.size, f"{len(bad)} values differ, first at {bad[0]}"
    want = np.concatenate([run_onnxruntime(model, {"x": xi[None]})[0] for xi in x])
    got = y.reshape(want.shape).astype(np.float64)
    cos = (want * got).sum() / np.linalg.norm(want) / np.linalg.norm(got)
    assert cos > 0.99, f"int8 cosine to onnxruntime {cos:.4f}"


# b's shape against a[rows=7, cols=5], and the C strides that read it
CASES = {"per-channel": ((5,), (0, 1)), "per-pixel": ((7, 1), (1, 0)), "scalar": ((), (0, 0))}


@pytest.mark.parametrize("rounding", ["single", "double", "onnxruntime"])
@pytest.mark.parametrize("case", list(CASES))
def test_s8_add_broadcast_kernel_equals_reference(rng, case, rounding):
    rows, cols = 7, 5
    shape, strides = CASES[case]
    a = rng.integers(-128, 128, (rows, cols), dtype=np.int8)
    b = rng.integers(-128, 128, shape, dtype=np.int8)
    s_a, s_b, s_y = 0.05, 0.11, 0.13
    if rounding == "onnxruntime":  # float32 bits of s_a / s_y and s_b / s_y
        bits = lambda m: int(np.array(m, np.float32).view(np.int32))  # noqa: E731
        mults = dict(left_shift=0, a_mult=bits(s_a / s_y), a_shift=0, b_mult=bits(s_b / s_y),
                     b_shift=0, y_mult=0, y_shift=0)  # fmt: skip
    else:
        mults = s8.add_multipliers(s_a, s_b, s_y)
    p = s8.AddBroadcastParams(rows, cols, *strides, a_zero_point=-3, b_zero_point=17,
                              y_zero_point=9, **mults, act_min=-100, act_max=120,
                              rounding=requant.ROUNDING_CODES[rounding])  # fmt: skip
    y = np.empty_like(a)
    run_s8_kernel("cnnc_s8_add_broadcast__ref", p, a, np.ascontiguousarray(b.reshape(-1)), y)
    pa = s8.AddParams(a.size, *[getattr(p, f) for f in ("a_zero_point", "b_zero_point",
                      "y_zero_point", "left_shift", "a_mult", "a_shift", "b_mult", "b_shift",
                      "y_mult", "y_shift", "act_min", "act_max", "rounding")])  # fmt: skip
    want = s8.add_s8(a, np.broadcast_to(b, a.shape), pa)
    bad = np.argwhere(y != want)
    assert not bad.size, f"at {bad[0]}: reference {want[tuple(bad[0])]}, C {y[tuple(bad[0])]}"
    real = ((a + 3.0) * s_a + (np.broadcast_to(b, a.shape) - 17.0) * s_b) / s_y + 9
    assert np.abs(np.clip(np.rint(real), -100, 120) - y).max() <= 1


def test_prequantised_broadcast_add_equals_onnxruntime(tmp_path):
    """The same graph quantised by onnxruntime's quantize_static (QDQ, int8, 7-bit weights)
    compiles without calibration; with --rounding onnxruntime its broadcast adds are
    s8_add_broadcast in onnxruntime's float32 arithmetic, and the output equals
    onnxruntime's CPU execution."""
    from qdq_models import quantize_static

    rng = np.random.default_rng(31)
    model = broadcast_add_model(rng)
    calib = rng.standard_normal((8, 3, 9, 7)).astype(np.float32)
    x = rng.standard_normal((16, 3, 9, 7)).astype(np.float32)
    qm = quantize_static(model, calib, "QDQ", "QInt8", reduce_range=True)
    cm = api.compile(qm, tmp_path / "out", precision="int8", rounding="onnxruntime")
    assert [n.op for n in cm.graph.nodes].count("s8_add_broadcast") == 3
    assert not float_ops_inside(cm.graph)
    ref = cm.reference(x)
    np.testing.assert_array_equal(cm.run(x), ref)
    theirs = np.concatenate([run_onnxruntime(qm, {"x": xi[None]})[0] for xi in x])
    same = ref.reshape(theirs.shape) == theirs
    assert same.all(), f"{int((~same).sum())} of {same.size} outputs differ from onnxruntime"
