"""XNOR-Net layers: sign(0) = +1, forward against loops, and the straight-through
estimator checked against independently computed formulas (the sign makes the
functions non-differentiable, so plain gradchecks apply only to the smooth parts)."""

import numpy as np
import pytest
from cnnc.models import layers as L
from cnnc.models.binary import BinaryConv2D, BinaryDense, Sign, sign
from cnnc.models.gradcheck import gradcheck, max_error, numeric_grad, relative_error

from .test_layers import Chain, assert_close, conv_ref

F64 = np.float64
GRAD_TOL = 1e-6


def ref_sign(v: float) -> float:
    return 1.0 if v >= 0 else -1.0


def test_sign_of_zero_is_plus_one():
    x = np.array([-2.0, -1e-30, -0.0, 0.0, 1e-30, 3.0], np.float32)
    y = sign(x)
    np.testing.assert_array_equal(y, [-1, -1, 1, 1, 1, 1])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(Sign().forward(x, False), y)


def test_sign_ste_passes_gradient_where_abs_x_at_most_one(rng):
    x = np.array([-1.5, -1.0, -0.999, 0.0, 0.3, 1.0, 1.0000001, 7.0])
    dy = rng.standard_normal(x.shape)
    layer = Sign()
    layer.forward(x, True)
    expected = np.array([dy[i] if abs(x[i]) <= 1 else 0.0 for i in range(len(x))])
    np.testing.assert_array_equal(layer.backward(dy), expected)


# ---------------------------------------------------------------------------
# forward


def loop_alpha_conv(w):
    kh, kw, cin, cout = w.shape
    return np.array(
        [sum(abs(float(v)) for v in w[..., o].ravel()) / (kh * kw * cin) for o in range(cout)]
    )


@pytest.mark.parametrize(
    "stride,padding",
    [
        pytest.param(1, "same", id="s1-same"),
        pytest.param(2, "valid", id="s2-valid"),
        pytest.param((2, 1), (1, 0, 2, 1), id="s2x1-asym"),
    ],
)
@pytest.mark.parametrize(
    "cin", [pytest.param(1, id="cin1"), pytest.param(3, id="cin3"), pytest.param(5, id="cin5")]
)
def test_binary_conv_forward_matches_loops(cin, stride, padding, rng):
    conv = BinaryConv2D(cin, 4, 3, stride, padding, rng=rng, dtype=F64)
    conv.params["w"][0, 0, 0, 0] = 0.0  # sign(0) = +1 must hold for weights too
    x = sign(rng.standard_normal((2, 7, 7, cin)))
    s = np.vectorize(ref_sign)(conv.params["w"])
    alpha = loop_alpha_conv(conv.params["w"])
    expected = conv_ref(x, s, None, conv.stride, conv.padding) * alpha
    y = conv.forward(x, False)
    assert_close(y, expected, 1e-12, 1e-12, "binary conv")
    assert_close(conv.alpha(), alpha, 1e-12, 0, "alpha")
    np.testing.assert_array_equal(conv.binary_weight(), s)
    # alpha multiplies the exact integer count after the sum (as the exported Conv -> Mul)
    counts = conv_ref(x, s, None, conv.stride, conv.padding)
    np.testing.assert_array_equal(counts, np.rint(counts))
    np.testing.assert_array_equal(y, counts * conv.alpha())
    np.testing.assert_array_equal(conv.forward(x, True), y)


def test_binary_dense_forward_matches_loops(rng):
    dense = BinaryDense(7, 3, rng=rng, dtype=F64)
    x = rng.standard_normal((5, 7))
    w = dense.params["w"]
    expected = np.array(
        [
            [
                sum(x[n, k] * ref_sign(w[k, m]) for k in range(7)) * sum(abs(w[:, m])) / 7
                for m in range(3)
            ]
            for n in range(5)
        ]
    )
    assert_close(dense.forward(x, False), expected, 1e-12, 1e-12, "binary dense")


def test_latent_weights_are_clipped_he_init(rng):
    conv = BinaryConv2D(2, 8, 3, rng=rng)
    assert np.abs(conv.params["w"]).max() <= 1
    conv.params["w"][...] *= 5
    w_id = id(conv.params["w"])
    conv.clip_latent()
    assert id(conv.params["w"]) == w_id
    assert np.abs(conv.params["w"]).max() == 1.0


# ---------------------------------------------------------------------------
# backward: input gradient is exact, latent weight gradient follows the STE formula


def conv_wgrad_loops(x, dy, kh, kw, stride, pads):
    """G[i,j,c,o] = sum_{n,a,b} xpad[n, a*sh+i, b*sw+j, c] * dy[n,a,b,o], by loops."""
    n_, h, wd, cin = x.shape
    _, oh, ow, cout = dy.shape
    g = np.zeros((kh, kw, cin, cout))
    for i in range(kh):
        for j in range(kw):
            for c in range(cin):
                for o in range(cout):
                    acc = 0.0
                    for n in range(n_):
                        for a in range(oh):
                            for b in range(ow):
                                r, q = a * stride[0] + i - pads[0], b * stride[1] + j - pads[1]
                                if 0 <= r < h and 0 <= q < wd:
                                    acc += x[n, r, q, c] * dy[n, a, b, o]
                    g[i, j, c, o] = acc
    return g


def ste_latent_grad_loops(w, g):
    """dL/dw_i = 1{|w_i|<=1} (alpha_o G_i + sign(w_i)/n sum_j G_j sign(w_j)), per channel o."""
    out = np.zeros_like(w)
    cout = w.shape[-1]
    wf, gf, of = w.reshape(-1, cout), g.reshape(-1, cout), out.reshape(-1, cout)
    n = wf.shape[0]
    for o in range(cout):
        alpha = sum(abs(wf[k, o]) for k in range(n)) / n
        corr = sum(gf[k, o] * ref_sign(wf[k, o]) for k in range(n)) / n
        for k in range(n):
            if abs(wf[k, o]) <= 1:
                of[k, o] = alpha * gf[k, o] + ref_sign(wf[k, o]) * corr
    return out


def with_saturated_weights(layer):
    w = layer.params["w"].reshape(-1)
    w[0], w[3], w[-1] = 1.5, -2.0, 1.0  # |w| > 1 gets no gradient; |w| = 1 still does


@pytest.mark.parametrize(
    "stride,padding",
    [pytest.param(1, "same", id="s1-same"), pytest.param((2, 3), (1, 0, 2, 1), id="s2x3-asym")],
)
def test_binary_conv_backward_equals_ste_formula(stride, padding, rng):
    conv = BinaryConv2D(3, 4, 3, stride, padding, rng=rng, dtype=F64)
    with_saturated_weights(conv)
    x = sign(rng.standard_normal((2, 7, 7, 3)))
    y = conv.forward(x, True)
    dy = rng.standard_normal(y.shape)
    dx = conv.backward(dy)
    g = conv_wgrad_loops(x, dy, 3, 3, conv.stride, conv.padding)
    expected = ste_latent_grad_loops(conv.params["w"], g)
    assert_close(conv.grads["w"], expected, 1e-10, 1e-12, "latent grad")
    flat = conv.grads["w"].reshape(-1)
    assert flat[0] == 0 and flat[3] == 0 and flat[-1] != 0
    # the input gradient is that of a real conv with the effective weight alpha * sign(w)
    eff = L.Conv2D(3, 4, 3, stride, padding, use_bias=False, dtype=F64)
    eff.params["w"][...] = conv.alpha() * conv.binary_weight()
    eff.forward(x, True)
    assert_close(dx, eff.backward(dy), 1e-12, 1e-12, "dx")


def test_binary_conv_input_gradcheck(rng):
    conv = BinaryConv2D(3, 4, 3, 2, "same", rng=rng, dtype=F64)
    assert gradcheck(conv, rng.standard_normal((2, 7, 7, 3)), rng)["x"] <= GRAD_TOL


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda rng: (BinaryConv2D(3, 4, 3, 2, 1, rng=rng, dtype=F64), (2, 5, 5, 3)), id="conv"
        ),
        pytest.param(lambda rng: (BinaryDense(7, 3, rng=rng, dtype=F64), (4, 7)), id="dense"),
    ],
)
def test_latent_grad_is_the_derivative_of_a_smooth_surrogate(make, rng):
    """At w0, dL/dw of L(alpha(w) * sign(w0) + alpha(w0) * (w - w0)) equals the STE gradient
    (where |w0| <= 1): the first term carries d alpha / dw, the second the STE through sign."""
    layer, shape = make(rng)
    w = layer.params["w"]
    w[np.abs(w) < 1e-3] = 0.05  # keep |w| differentiable at the probe points
    x = rng.standard_normal(shape)
    y = layer.forward(x, True)
    r = rng.standard_normal(y.shape)
    layer.backward(r)
    w0 = w.copy()
    s0, alpha0 = sign(w0), layer.alpha()
    axes = tuple(range(w.ndim - 1))
    real = (
        L.Conv2D(3, 4, 3, 2, 1, use_bias=False, dtype=F64)
        if w.ndim == 4
        else L.Dense(7, 3, False, dtype=F64)
    )

    def surrogate_loss():
        real.params["w"][...] = np.mean(np.abs(w), axis=axes) * s0 + alpha0 * (w - w0)
        return float(np.sum(real.forward(x, False) * r))

    numeric = numeric_grad(surrogate_loss, w, 1e-6)
    assert relative_error(layer.grads["w"], numeric) <= GRAD_TOL


def test_binary_dense_backward_equals_ste_formula(rng):
    dense = BinaryDense(7, 3, rng=rng, dtype=F64)
    with_saturated_weights(dense)
    x = rng.standard_normal((5, 7))
    dense.forward(x, True)
    dy = rng.standard_normal((5, 3))
    dx = dense.backward(dy)
    g = np.array([[sum(x[n, k] * dy[n, m] for n in range(5)) for m in range(3)] for k in range(7)])
    assert_close(dense.grads["w"], ste_latent_grad_loops(dense.params["w"], g), 1e-10, 1e-12, "dw")
    eff = dense.alpha() * dense.binary_weight()
    assert_close(dx, dy @ eff.T, 1e-12, 1e-12, "dx")
    assert gradcheck(dense, x, rng)["x"] <= GRAD_TOL


class HardTanh(L.ReLU):
    """clip(x, -1, 1): smooth surrogate whose derivative is exactly the Sign STE mask."""

    def forward(self, x, train):
        return np.clip(x, -1, 1)


def test_bn_sign_binary_conv_chain_input_gradient(rng):
    """BN -> Sign -> BinaryConv: the chain's dx (STE through sign) equals the numeric gradient
    of BN -> hardtanh -> BinaryConv, because the binary conv's dx does not depend on its input
    and hardtanh' is the STE mask. The BN part is checked by real central differences."""
    bn = L.BatchNorm(3, dtype=F64)
    bn.params["gamma"][...] = rng.uniform(0.5, 1.5, 3)
    bn.params["beta"][...] = rng.standard_normal(3) * 0.3
    conv = BinaryConv2D(3, 4, 3, 1, "same", rng=rng, dtype=F64)
    x = rng.standard_normal((2, 5, 5, 3)) * 2 + 0.3
    sgn = Sign()
    y = conv.forward(sgn.forward(bn.forward(x, True), True), True)
    r = rng.standard_normal(y.shape)
    dx = bn.backward(sgn.backward(conv.backward(r)))
    dgamma = bn.grads["gamma"].copy()
    surrogate = HardTanh()

    def loss():
        return float(np.sum(conv.forward(surrogate.forward(bn.forward(x, True), True), True) * r))

    assert relative_error(dx, numeric_grad(loss, x, 1e-6)) <= GRAD_TOL
    assert relative_error(dgamma, numeric_grad(loss, bn.params["gamma"], 1e-6)) <= GRAD_TOL
    # and the chain is really binary in the middle
    assert set(np.unique(sgn.forward(bn.forward(x, False), False))) == {-1.0, 1.0}


def test_float32_binary_layers_stay_float32(rng):
    conv = BinaryConv2D(3, 4, 3, rng=rng)
    x = sign(rng.standard_normal((2, 5, 5, 3)).astype(np.float32))
    y = conv.forward(x, True)
    dx = conv.backward(rng.standard_normal(y.shape).astype(np.float32))
    assert y.dtype == dx.dtype == conv.grads["w"].dtype == np.float32
    assert np.any(dx != 0) and np.any(conv.grads["w"] != 0)


def xnor_chain(rng):
    """Real conv -> (BN -> Sign -> BinaryConv) x 2 -> GAP -> BN -> Sign -> BinaryDense."""
    return Chain(
        [
            L.Conv2D(1, 3, 3, 1, "same", use_bias=False, rng=rng, dtype=F64),
            L.BatchNorm(3, dtype=F64),
            Sign(),
            BinaryConv2D(3, 4, 3, 1, "same", rng=rng, dtype=F64),
            L.BatchNorm(4, dtype=F64),
            Sign(),
            BinaryConv2D(4, 5, 3, 2, "same", rng=rng, dtype=F64),
            L.GlobalAvgPool(),
            L.BatchNorm(5, dtype=F64),
            Sign(),
            BinaryDense(5, 3, rng=rng, dtype=F64),
        ]
    )


def test_ste_gradcheck_of_an_xnor_network(rng):
    """With ste=True the numeric side differentiates the STE linearisation of every Sign and
    binary layer, so the whole network's STE backward is checked to float64 precision."""
    net = xnor_chain(rng)
    with_saturated_weights(net.layers[3])
    x = rng.standard_normal((4, 6, 6, 1))
    errors = gradcheck(net, x, rng, ste=True)
    assert len(errors) == 1 + 1 + 3 * 2 + 3
    assert max_error(errors) <= GRAD_TOL, errors
    # without the STE stand-ins the sign is flat almost everywhere: the plain check fails
    assert max_error(gradcheck(net, x, rng)) > 0.1


def test_ste_gradcheck_catches_a_latent_gradient_without_the_alpha_term(rng, monkeypatch):
    from cnnc.models import binary

    def without_alpha_term(w, g, alpha):
        return (np.abs(w) <= 1) * alpha * g

    monkeypatch.setattr(binary, "latent_grad", without_alpha_term)
    net = xnor_chain(rng)
    errors = gradcheck(net, rng.standard_normal((4, 6, 6, 1)), rng, ste=True)
    assert errors["x"] <= GRAD_TOL  # input gradients do not involve the latent formula
    assert max(errors["3.w"], errors["6.w"], errors["10.w"]) > 1e-3
