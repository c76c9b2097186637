"""Layers of cnnc.models.layers: forward against plain-loop references, backward by
central-difference gradient checks in float64 (max relative error <= 1e-6), shapes,
dtypes and the protocol details the containers and the exporter rely on."""

import numpy as np
import pytest
from cnnc.errors import ShapeError
from cnnc.models import layers as L
from cnnc.models.gradcheck import gradcheck, max_error, numeric_grad, relative_error
from hypothesis import given, settings
from hypothesis import strategies as st

F64 = np.float64
GRAD_TOL = 1e-6

KERNELS = [pytest.param(1, id="k1"), pytest.param(3, id="k3"), pytest.param((3, 2), id="k3x2")]
STRIDES = [pytest.param(1, id="s1"), pytest.param(2, id="s2"), pytest.param((3, 1), id="s3x1")]
PADS = [
    pytest.param("valid", id="valid"),
    pytest.param("same", id="same"),
    pytest.param((1, 0, 2, 1), id="pad1021"),
]


def assert_close(actual, expected, rtol, atol, what=""):
    """assert_allclose that names the first failing index, expected and actual value."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what}: {bad.sum()} mismatches; first at {idx}: "
            f"expected {expected[idx]!r}, actual {actual[idx]!r}"
        )


def away_from(x, kinks, gap=1e-3):
    """Move values that lie within `gap` of a kink away from it (gradchecks straddle kinks)."""
    x = x.copy()
    for k in kinks:
        near = np.abs(x - k) < gap
        x[near] = k + np.where(x[near] >= k, 2 * gap, -2 * gap)
    return x


# ---------------------------------------------------------------------------
# plain-loop references (tiny shapes only)


def padded_get(x, n, r, q, c, pads, fill):
    h, w = x.shape[1], x.shape[2]
    r, q = r - pads[0], q - pads[1]
    if 0 <= r < h and 0 <= q < w:
        return x[n, r, q, c], True
    return fill, False


def out_size(size, k, s, p0, p1):
    return (size + p0 + p1 - k) // s + 1


def conv_ref(x, w, b, stride, pads):
    n_, h, wd, cin = x.shape
    kh, kw, _, cout = w.shape
    oh = out_size(h, kh, stride[0], pads[0], pads[2])
    ow = out_size(wd, kw, stride[1], pads[1], pads[3])
    y = np.zeros((n_, oh, ow, cout))
    for n in range(n_):
        for a in range(oh):
            for c in range(ow):
                for o in range(cout):
                    acc = 0.0 if b is None else float(b[o])
                    for i in range(kh):
                        for j in range(kw):
                            for ci in range(cin):
                                v, _ = padded_get(
                                    x, n, a * stride[0] + i, c * stride[1] + j, ci, pads, 0.0
                                )
                                acc += float(v) * float(w[i, j, ci, o])
                    y[n, a, c, o] = acc
    return y


def depthwise_ref(x, w, b, stride, pads, mult):
    n_, h, wd, cin = x.shape
    kh, kw, cout = w.shape
    oh = out_size(h, kh, stride[0], pads[0], pads[2])
    ow = out_size(wd, kw, stride[1], pads[1], pads[3])
    y = np.zeros((n_, oh, ow, cout))
    for n in range(n_):
        for a in range(oh):
            for c in range(ow):
                for o in range(cout):
                    acc = 0.0 if b is None else float(b[o])
                    for i in range(kh):
                        for j in range(kw):
                            v, _ = padded_get(
                                x, n, a * stride[0] + i, c * stride[1] + j, o // mult, pads, 0.0
                            )
                            acc += float(v) * float(w[i, j, o])
                    y[n, a, c, o] = acc
    return y


def pool_ref(x, k, stride, pads, mode, count_include_pad=False):
    n_, h, wd, ch = x.shape
    oh = out_size(h, k[0], stride[0], pads[0], pads[2])
    ow = out_size(wd, k[1], stride[1], pads[1], pads[3])
    y = np.zeros((n_, oh, ow, ch))
    for n in range(n_):
        for a in range(oh):
            for c in range(ow):
                for cc in range(ch):
                    vals = []
                    for i in range(k[0]):
                        for j in range(k[1]):
                            v, real = padded_get(
                                x, n, a * stride[0] + i, c * stride[1] + j, cc, pads, 0.0
                            )
                            if real or (mode == "avg" and count_include_pad):
                                vals.append(float(v))
                    y[n, a, c, cc] = max(vals) if mode == "max" else sum(vals) / len(vals)
    return y


# ---------------------------------------------------------------------------
# padding and geometry


@pytest.mark.parametrize(
    "spec,kernel,expected",
    [
        pytest.param("valid", (3, 3), (0, 0, 0, 0), id="valid"),
        pytest.param("same", (3, 3), (1, 1, 1, 1), id="same-k3"),
        pytest.param("same", (4, 1), (1, 0, 2, 0), id="same-k4x1"),
        pytest.param(2, (3, 3), (2, 2, 2, 2), id="int"),
        pytest.param((1, 2), (3, 3), (1, 2, 1, 2), id="pair"),
        pytest.param((0, 1, 2, 3), (3, 3), (0, 1, 2, 3), id="four"),
    ],
)
def test_resolve_padding(spec, kernel, expected):
    assert L.resolve_padding(spec, kernel) == expected


@pytest.mark.parametrize("spec", ["full", (1, 2, 3), -1])
def test_resolve_padding_rejects_bad_specs(spec):
    with pytest.raises(ShapeError, match="padding"):
        L.resolve_padding(spec, (3, 3))


@pytest.mark.parametrize("size", [pytest.param(s, id=f"h{s}") for s in (1, 7, 17, 33)])
def test_same_padding_keeps_size_at_stride_1_and_halves_at_stride_2(size, rng):
    x = rng.standard_normal((1, size, size, 3)).astype(np.float32)
    assert L.Conv2D(3, 4, 3, 1, "same", rng=rng).forward(x, False).shape[1:3] == (size, size)
    half = (size + 1) // 2
    assert L.Conv2D(3, 4, 3, 2, "same", rng=rng).forward(x, False).shape[1:3] == (half, half)


def test_window_larger_than_padded_input_is_a_shape_error(rng):
    conv = L.Conv2D(3, 4, 5, 1, "valid", rng=rng)
    with pytest.raises(ShapeError, match="does not fit"):
        conv.forward(rng.standard_normal((1, 3, 3, 3)).astype(np.float32), False)


# ---------------------------------------------------------------------------
# convolutions


@pytest.mark.parametrize("bias", [pytest.param(True, id="bias"), pytest.param(False, id="nobias")])
@pytest.mark.parametrize("padding", PADS)
@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("kernel", KERNELS)
def test_conv2d_forward_matches_loops(kernel, stride, padding, bias, rng):
    conv = L.Conv2D(3, 5, kernel, stride, padding, use_bias=bias, rng=rng, dtype=F64)
    if bias:
        conv.params["b"][...] = rng.standard_normal(5)
    x = rng.standard_normal((2, 7, 7, 3))
    y = conv.forward(x, False)
    expected = conv_ref(x, conv.params["w"], conv.params.get("b"), conv.stride, conv.padding)
    assert_close(y, expected, 1e-12, 1e-12, "conv2d")
    assert y.shape[1:] == conv.output_shape((7, 7, 3))


@pytest.mark.parametrize("padding", PADS)
@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("kernel", KERNELS)
def test_conv2d_gradcheck(kernel, stride, padding, rng):
    conv = L.Conv2D(3, 4, kernel, stride, padding, rng=rng, dtype=F64)
    conv.params["b"][...] = rng.standard_normal(4)
    errors = gradcheck(conv, rng.standard_normal((2, 7, 7, 3)), rng)
    assert set(errors) == {"x", "w", "b"}
    assert max_error(errors) <= GRAD_TOL, errors


@pytest.mark.parametrize("mult", [pytest.param(1, id="m1"), pytest.param(2, id="m2")])
@pytest.mark.parametrize("padding", PADS)
@pytest.mark.parametrize("stride", [pytest.param(1, id="s1"), pytest.param(2, id="s2")])
@pytest.mark.parametrize("kernel", [pytest.param(3, id="k3"), pytest.param((5, 3), id="k5x3")])
def test_depthwise_forward_matches_loops(kernel, stride, padding, mult, rng):
    dw = L.DepthwiseConv2D(
        3, kernel, stride, padding, multiplier=mult, use_bias=True, rng=rng, dtype=F64
    )
    dw.params["b"][...] = rng.standard_normal(3 * mult)
    x = rng.standard_normal((2, 7, 7, 3))
    y = dw.forward(x, False)
    expected = depthwise_ref(x, dw.params["w"], dw.params["b"], dw.stride, dw.padding, mult)
    assert_close(y, expected, 1e-12, 1e-12, "depthwise")
    assert y.shape[1:] == dw.output_shape((7, 7, 3))


@pytest.mark.parametrize("mult", [pytest.param(1, id="m1"), pytest.param(2, id="m2")])
@pytest.mark.parametrize("padding", PADS)
@pytest.mark.parametrize("stride", [pytest.param(1, id="s1"), pytest.param(2, id="s2")])
@pytest.mark.parametrize("kernel", [pytest.param(3, id="k3"), pytest.param((5, 3), id="k5x3")])
def test_depthwise_gradcheck(kernel, stride, padding, mult, rng):
    dw = L.DepthwiseConv2D(
        3, kernel, stride, padding, multiplier=mult, use_bias=True, rng=rng, dtype=F64
    )
    dw.params["b"][...] = rng.standard_normal(3 * mult)
    errors = gradcheck(dw, rng.standard_normal((2, 7, 7, 3)), rng)
    assert set(errors) == {"x", "w", "b"}
    assert max_error(errors) <= GRAD_TOL, errors


def test_depthwise_weight_layout_is_hwc_with_onnx_group_order(rng):
    dw = L.DepthwiseConv2D(3, 3, multiplier=2, rng=rng)
    assert dw.params["w"].shape == (3, 3, 6)
    assert "b" not in dw.params  # MobileNetV2 depthwise convs are followed by BN


def test_pointwise_conv_is_a_matmul_over_channels(rng):
    conv = L.Conv2D(5, 3, 1, rng=rng, dtype=F64)
    x = rng.standard_normal((2, 5, 3, 5))
    expected = np.einsum("nhwc,co->nhwo", x, conv.params["w"][0, 0]) + conv.params["b"]
    assert_close(conv.forward(x, False), expected, 1e-12, 1e-12, "pointwise")


# ---------------------------------------------------------------------------
# dense, batch norm


@pytest.mark.parametrize("bias", [pytest.param(True, id="bias"), pytest.param(False, id="nobias")])
def test_dense_forward_and_gradcheck(bias, rng):
    dense = L.Dense(7, 3, use_bias=bias, rng=rng, dtype=F64)
    if bias:
        dense.params["b"][...] = rng.standard_normal(3)
    x = rng.standard_normal((5, 7))
    expected = np.array(
        [
            [sum(x[n, k] * dense.params["w"][k, m] for k in range(7)) for m in range(3)]
            for n in range(5)
        ]
    )
    if bias:
        expected += dense.params["b"]
    assert_close(dense.forward(x, False), expected, 1e-12, 1e-12, "dense")
    assert max_error(gradcheck(dense, x, rng)) <= GRAD_TOL


@pytest.mark.parametrize(
    "shape", [pytest.param((4, 5, 3, 3), id="nhwc"), pytest.param((7, 3), id="nc")]
)
def test_batchnorm_train_forward_uses_batch_stats_and_updates_running(shape, rng):
    bn = L.BatchNorm(3, dtype=F64)
    bn.params["gamma"][...] = rng.uniform(0.5, 2, 3)
    bn.params["beta"][...] = rng.standard_normal(3)
    x = rng.standard_normal(shape) * 3 + 1
    y = bn.forward(x, True)
    flat = x.reshape(-1, 3)
    for c in range(3):
        col = flat[:, c]
        mean = sum(col) / len(col)
        var = sum((v - mean) ** 2 for v in col) / len(col)
        expected = bn.params["gamma"][c] * (col - mean) / np.sqrt(var + 1e-5) + bn.params["beta"][c]
        assert_close(y.reshape(-1, 3)[:, c], expected, 1e-10, 1e-10, f"bn channel {c}")
        assert bn.state["running_mean"][c] == pytest.approx(0.1 * mean)
        assert bn.state["running_var"][c] == pytest.approx(0.9 + 0.1 * var)


def test_batchnorm_eval_uses_running_stats(rng):
    bn = L.BatchNorm(3, dtype=F64)
    bn.state["running_mean"][...] = [0.5, -1.0, 2.0]
    bn.state["running_var"][...] = [4.0, 0.25, 1.0]
    bn.params["gamma"][...] = [1.0, 2.0, -1.0]
    bn.params["beta"][...] = [0.0, 1.0, 0.5]
    x = rng.standard_normal((2, 3, 3, 3))
    expected = (x - [0.5, -1.0, 2.0]) / np.sqrt(np.array([4.0, 0.25, 1.0]) + 1e-5) * [1, 2, -1] + [
        0,
        1,
        0.5,
    ]
    before = bn.state["running_mean"].copy()
    assert_close(bn.forward(x, False), expected, 1e-12, 1e-12, "bn eval")
    np.testing.assert_array_equal(bn.state["running_mean"], before)


@pytest.mark.parametrize(
    "shape", [pytest.param((2, 5, 5, 3), id="nhwc"), pytest.param((7, 3), id="nc")]
)
def test_batchnorm_gradcheck(shape, rng):
    bn = L.BatchNorm(3, dtype=F64)
    bn.params["gamma"][...] = rng.uniform(0.5, 2, 3)
    bn.params["beta"][...] = rng.standard_normal(3)
    errors = gradcheck(bn, rng.standard_normal(shape) * 2 + 0.5, rng)
    assert set(errors) == {"x", "gamma", "beta"}
    assert max_error(errors) <= GRAD_TOL, errors


# ---------------------------------------------------------------------------
# activations


def test_activation_forwards_match_scalar_formulas(rng):
    x = rng.standard_normal((2, 3, 3, 5)) * 5
    x.flat[:3] = [0.0, 6.0, -0.0]
    cases = [
        (L.ReLU(), lambda v: v if v > 0 else 0.0),
        (L.ReLU6(), lambda v: min(max(v, 0.0), 6.0)),
        (L.ELU(0.7), lambda v: v if v > 0 else 0.7 * (np.exp(v) - 1)),
    ]
    for layer, f in cases:
        expected = np.vectorize(f)(x)
        assert_close(layer.forward(x, False), expected, 1e-12, 1e-12, type(layer).__name__)


@pytest.mark.parametrize(
    "layer,kinks",
    [
        pytest.param(L.ReLU(), [0.0], id="relu"),
        pytest.param(L.ReLU6(), [0.0, 6.0], id="relu6"),
        pytest.param(L.ELU(), [0.0], id="elu"),
        pytest.param(L.ELU(0.3), [0.0], id="elu-0.3"),
    ],
)
def test_activation_gradcheck(layer, kinks, rng):
    x = away_from(rng.standard_normal((2, 5, 5, 3)) * 4, kinks)
    assert max_error(gradcheck(layer, x, rng)) <= GRAD_TOL


# ---------------------------------------------------------------------------
# pooling and shape layers


POOLS = [
    pytest.param((2, 2), None, 0, id="k2"),
    pytest.param((3, 3), 2, 1, id="k3s2p1"),
    pytest.param((3, 2), (1, 2), (0, 1, 2, 1), id="k3x2-asym"),
]


def distinct_values(rng, shape):
    """No ties and every gap >= 0.01, so max-pool gradients are well defined under h=1e-5."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 1.0).astype(F64)


@pytest.mark.parametrize("kernel,stride,padding", POOLS)
def test_maxpool_forward_matches_loops_and_gradcheck(kernel, stride, padding, rng):
    pool = L.MaxPool(kernel, stride, padding)
    x = distinct_values(rng, (2, 7, 7, 3))
    y = pool.forward(x, False)
    assert_close(
        y, pool_ref(x, pool.kernel_size, pool.stride, pool.padding, "max"), 0, 0, "maxpool"
    )
    assert y.shape[1:] == pool.output_shape((7, 7, 3))
    assert max_error(gradcheck(pool, x, rng)) <= GRAD_TOL


@pytest.mark.parametrize(
    "include", [pytest.param(False, id="exclude-pad"), pytest.param(True, id="include-pad")]
)
@pytest.mark.parametrize("kernel,stride,padding", POOLS)
def test_avgpool_forward_matches_loops_and_gradcheck(kernel, stride, padding, include, rng):
    pool = L.AvgPool(kernel, stride, padding, count_include_pad=include)
    x = rng.standard_normal((2, 7, 7, 3))
    y = pool.forward(x, False)
    expected = pool_ref(x, pool.kernel_size, pool.stride, pool.padding, "avg", include)
    assert_close(y, expected, 1e-12, 1e-12, "avgpool")
    assert y.shape[1:] == pool.output_shape((7, 7, 3))
    assert max_error(gradcheck(pool, x, rng)) <= GRAD_TOL


def test_global_avg_pool_and_flatten(rng):
    x = rng.standard_normal((2, 5, 3, 4))
    gap = L.GlobalAvgPool()
    expected = np.array([[x[n, :, :, c].sum() / 15 for c in range(4)] for n in range(2)])
    assert_close(gap.forward(x, False), expected, 1e-12, 1e-12, "gap")
    assert gap.output_shape((5, 3, 4)) == (4,)
    assert max_error(gradcheck(gap, x, rng)) <= GRAD_TOL
    flat = L.Flatten()
    y = flat.forward(x, False)
    assert y[1, 1 * 12 + 2 * 4 + 3] == x[1, 1, 2, 3]  # NHWC order: (h, w, c), c fastest
    assert flat.output_shape((5, 3, 4)) == (60,)
    assert max_error(gradcheck(flat, x, rng)) <= GRAD_TOL


def test_add_two_input_protocol(rng):
    a, b = rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((2, 3, 3, 4))
    add = L.Add()
    np.testing.assert_array_equal(add.forward2(a, b, True), a + b)
    dy = rng.standard_normal(a.shape)
    da, db = add.backward2(dy)
    np.testing.assert_array_equal(da, dy)
    np.testing.assert_array_equal(db, dy)
    with pytest.raises(ShapeError, match="Add"):
        add.forward2(a, b[:, :2], True)


def test_dropout_inverted_seeded_and_identity_in_eval(rng):
    x = rng.standard_normal((64, 9, 9, 3)) + 3
    drop = L.Dropout(0.3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(drop.forward(x, False), x)
    y = drop.forward(x, True)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    assert_close(y[kept], x[kept] / 0.7, 1e-12, 0, "dropout scale")
    y2 = L.Dropout(0.3, rng=np.random.default_rng(5)).forward(x, True)
    np.testing.assert_array_equal(y, y2)
    dy = rng.standard_normal(x.shape)
    assert_close(drop.backward(dy), np.where(kept, dy / 0.7, 0), 1e-15, 0, "dropout backward")


def test_dropout_gradcheck_with_a_fixed_mask(rng):
    drop = L.Dropout(0.4)
    errors = gradcheck(
        drop,
        rng.standard_normal((2, 5, 5, 3)),
        rng,
        before_forward=lambda: setattr(drop, "rng", np.random.default_rng(9)),
    )
    assert max_error(errors) <= GRAD_TOL


# ---------------------------------------------------------------------------
# protocol: dtypes, in-place grads, errors, and the checker itself


def float32_layers(rng):
    return [
        (L.Conv2D(3, 4, 3, 2, "same", rng=rng), (2, 7, 7, 3)),
        (L.Conv2D(3, 4, 1, rng=rng), (2, 7, 7, 3)),
        (L.DepthwiseConv2D(3, 3, 2, rng=rng), (2, 7, 7, 3)),
        (L.Dense(6, 4, rng=rng), (2, 6)),
        (L.BatchNorm(3), (2, 7, 7, 3)),
        (L.ReLU(), (2, 7, 7, 3)),
        (L.ReLU6(), (2, 7, 7, 3)),
        (L.ELU(), (2, 7, 7, 3)),
        (L.MaxPool(3, 2, 1), (2, 7, 7, 3)),
        (L.AvgPool(3, 2, 1), (2, 7, 7, 3)),
        (L.GlobalAvgPool(), (2, 7, 7, 3)),
        (L.Flatten(), (2, 7, 7, 3)),
        (L.Dropout(0.2), (2, 7, 7, 3)),
    ]


def test_float32_in_float32_out_and_grads_written_in_place(rng):
    for layer, shape in float32_layers(rng):
        name = type(layer).__name__
        before = {k: id(g) for k, g in layer.grads.items()}
        x = rng.standard_normal(shape).astype(np.float32)
        y = layer.forward(x, True)
        dx = layer.backward(rng.standard_normal(y.shape).astype(np.float32))
        assert y.dtype == np.float32, name
        assert dx.dtype == np.float32 and dx.shape == x.shape, name
        assert y.shape[1:] == tuple(layer.output_shape(shape[1:])), name
        for k, g in layer.grads.items():
            assert id(g) == before[k], f"{name}.grads[{k}] was replaced, not written in place"
            assert g.dtype == np.float32 and np.any(g != 0), f"{name}.grads[{k}]"


def test_grads_follow_params_cast_to_float64(rng):
    conv = L.Conv2D(3, 4, 3, rng=rng)
    for k in conv.params:
        conv.params[k] = conv.params[k].astype(F64)
    assert max_error(gradcheck(conv, rng.standard_normal((2, 5, 5, 3)), rng)) <= GRAD_TOL
    assert conv.grads["w"].dtype == F64


def test_wrong_channel_count_names_the_layer(rng):
    with pytest.raises(ShapeError, match="Conv2D.*4 input channels"):
        L.Conv2D(4, 2, rng=rng).forward(np.zeros((1, 5, 5, 3), np.float32), False)
    with pytest.raises(ShapeError, match="BatchNorm"):
        L.BatchNorm(4).forward(np.zeros((1, 5, 5, 3), np.float32), True)
    with pytest.raises(ShapeError, match="Dense"):
        L.Dense(4, 2, rng=rng).forward(np.zeros((1, 5), np.float32), False)


def test_backward_without_training_forward_is_refused(rng):
    conv = L.Conv2D(3, 4, rng=rng)
    conv.forward(rng.standard_normal((1, 5, 5, 3)).astype(np.float32), False)
    with pytest.raises(RuntimeError, match="forward"):
        conv.backward(np.zeros((1, 5, 5, 4), np.float32))


def test_he_init_scale(rng):
    conv = L.Conv2D(16, 64, 3, rng=rng)
    assert conv.params["w"].std() == pytest.approx(np.sqrt(2 / 144), rel=0.05)
    np.testing.assert_array_equal(conv.params["b"], 0)


class _BrokenReLU(L.ReLU):
    def backward(self, dy):
        return super().backward(dy) * 1.001  # a 0.1 % error in every gradient


def test_gradcheck_catches_a_wrong_backward(rng):
    x = away_from(rng.standard_normal((2, 5, 5, 3)), [0.0])
    assert max_error(gradcheck(L.ReLU(), x, rng)) <= GRAD_TOL
    assert max_error(gradcheck(_BrokenReLU(), x, rng)) > 1e-4


def test_relative_error_and_numeric_grad():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 2.2)
    w = np.array([1.0, -2.0, 3.0])
    g = numeric_grad(lambda: float(np.sum(w**3)), w, 1e-5)
    assert_close(g, 3 * np.array([1.0, 4.0, 9.0]), 1e-8, 0, "d/dw sum w^3")


# ---------------------------------------------------------------------------
# blocks: the gradcheck walks containers through params/grads and children()


class Chain:
    """A minimal container (the protocol B2's Sequential follows), private to these tests."""

    def __init__(self, layers, residual=False):
        self.layers, self.residual, self.add = layers, residual, L.Add()

    def children(self):
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    @property
    def params(self):
        return {
            f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()
        }

    @property
    def grads(self):
        return {
            f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()
        }

    def forward(self, x, train):
        y = x
        for layer in self.layers:
            y = layer.forward(y, train)
        return self.add.forward2(x, y, train) if self.residual else y

    def backward(self, dy):
        da, db = self.add.backward2(dy) if self.residual else (0, dy)
        for layer in reversed(self.layers):
            db = layer.backward(db)
        return da + db


def inverted_residual_block(c, rng):
    """MobileNetV2's expand 1x1 -> BN -> ReLU6 -> depthwise -> BN -> ReLU6 -> 1x1 -> BN, + x."""
    hidden = 3 * c
    layers = [
        L.Conv2D(c, hidden, 1, use_bias=False, rng=rng, dtype=F64),
        L.BatchNorm(hidden, dtype=F64),
        L.ReLU6(),
        L.DepthwiseConv2D(hidden, 3, 1, "same", rng=rng, dtype=F64),
        L.BatchNorm(hidden, dtype=F64),
        L.ReLU6(),
        L.Conv2D(hidden, c, 1, use_bias=False, rng=rng, dtype=F64),
        L.BatchNorm(c, dtype=F64),
    ]
    return Chain(layers, residual=True)


def test_inverted_residual_block_gradcheck(rng):
    block = inverted_residual_block(3, rng)
    errors = gradcheck(block, rng.standard_normal((2, 5, 5, 3)), rng)
    assert len(errors) == 1 + 3 + 2 * 3  # x, three conv weights, three BN gamma/beta
    assert max_error(errors) <= GRAD_TOL, errors


def test_gradient_floor_only_matters_for_near_zero_arrays():
    a, n = np.array([1e-6, -2e-6]), np.array([1.1e-6, -2e-6])
    assert relative_error(a, n) == pytest.approx(0.1e-6 / 2e-6)
    assert relative_error(a, n, floor=1e-3) == pytest.approx(0.1e-6 / 1e-3)
    assert relative_error(np.array([5.0]), np.array([5.5]), floor=1e-3) == pytest.approx(0.5 / 5.5)


def test_vgg_like_block_gradcheck(rng):
    x = distinct_values(rng, (2, 6, 6, 2)) * 3
    block = Chain(
        [
            L.Conv2D(2, 3, 3, 1, "same", rng=rng, dtype=F64),
            L.ELU(),
            L.MaxPool(2),
            L.Flatten(),
            L.Dropout(0.0),
            L.Dense(27, 4, rng=rng, dtype=F64),
        ]
    )
    assert max_error(gradcheck(block, x, rng)) <= GRAD_TOL


@pytest.mark.parametrize(
    "channels", [pytest.param((1, 17), id="c1-17"), pytest.param((17, 3), id="c17-3")]
)
@pytest.mark.parametrize(
    "hw",
    [
        pytest.param((1, 1), id="1x1"),
        pytest.param((1, 17), id="1x17"),
        pytest.param((17, 3), id="17x3"),
    ],
)
def test_odd_shapes_forward_match_loops(hw, channels, rng):
    cin, cout = channels
    x = rng.standard_normal((1, *hw, cin))
    conv = L.Conv2D(cin, cout, 3, 2, "same", rng=rng, dtype=F64)
    conv.params["b"][...] = rng.standard_normal(cout)
    expected = conv_ref(x, conv.params["w"], conv.params["b"], conv.stride, conv.padding)
    assert_close(conv.forward(x, False), expected, 1e-12, 1e-12, "conv")
    dw = L.DepthwiseConv2D(cin, 3, 2, "same", rng=rng, dtype=F64)
    expected = depthwise_ref(x, dw.params["w"], None, dw.stride, dw.padding, 1)
    assert_close(dw.forward(x, False), expected, 1e-12, 1e-12, "depthwise")
    pool = L.MaxPool(3, 2, 1)
    expected = pool_ref(x, pool.kernel_size, pool.stride, pool.padding, "max")
    assert_close(pool.forward(x, False), expected, 0, 0, "maxpool")


# ---------------------------------------------------------------------------
# random geometries: every window/stride/padding combination that fits


@st.composite
def geometries(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    h = draw(st.integers(max(1, kh - pads[0] - pads[2]), 7))
    w = draw(st.integers(max(1, kw - pads[1] - pads[3]), 7))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return (kh, kw), stride, pads, (h, w)


@settings(max_examples=40, deadline=None)
@given(geom=geometries(), cin=st.integers(1, 3), seed=st.integers(0, 2**31))
def test_random_geometries_match_loops(geom, cin, seed):
    kernel, stride, pads, (h, w) = geom
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, h, w, cin))
    conv = L.Conv2D(cin, 2, kernel, stride, pads, rng=rng, dtype=F64)
    expected = conv_ref(x, conv.params["w"], conv.params["b"], stride, pads)
    assert_close(conv.forward(x, False), expected, 1e-12, 1e-12, f"conv {geom}")
    dw = L.DepthwiseConv2D(cin, kernel, stride, pads, rng=rng, dtype=F64)
    expected = depthwise_ref(x, dw.params["w"], None, stride, pads, 1)
    assert_close(dw.forward(x, False), expected, 1e-12, 1e-12, f"depthwise {geom}")
    if max(pads[0], pads[2]) < kernel[0] and max(pads[1], pads[3]) < kernel[1]:
        # (ONNX requires pads < kernel for pooling, so no window is all padding)
        for mode, pool in (
            ("max", L.MaxPool(kernel, stride, pads)),
            ("avg", L.AvgPool(kernel, stride, pads)),
        ):
            expected = pool_ref(x, kernel, stride, pads, mode)
            assert_close(pool.forward(x, False), expected, 1e-12, 1e-12, f"{mode}pool {geom}")
