"""float32 dense and pooling kernels against NumPy (float64 sums, ONNX pooling rules)."""

import numpy as np
import pytest
from f32_kernels import ACT_CASES, act_struct, apply_act, assert_close, fptr, kernels


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("act", list(ACT_CASES))
@pytest.mark.parametrize("n,k,m", [(1, 1, 1), (3, 17, 7), (2, 65, 33), (1, 3, 8), (2, 7, 17)])
def test_dense(rng, n, k, m, act, bias):
    ffi, lib = kernels()
    x, w, b = rand(rng, n, k), rand(rng, m, k), rand(rng, m)
    expected = x.astype(np.float64) @ w.T.astype(np.float64) + (b if bias else 0)
    y = np.full((n, m), np.nan, dtype=np.float32)
    params = ffi.new("cnnc_f32_dense_params *", {"n": n, "k": k, "m": m,
                                                 "act": act_struct(**ACT_CASES[act])})  # fmt: skip
    wt = np.ascontiguousarray(w.T)  # the kernel reads w[K,M]
    lib.cnnc_f32_dense__ref(params, fptr(ffi, x), fptr(ffi, wt),
                            fptr(ffi, b) if bias else ffi.NULL, fptr(ffi, y))  # fmt: skip
    assert_close(y, apply_act(expected, **ACT_CASES[act]))


def pool_out(size, k, s, lo, hi, ceil):
    span = size + lo + hi - k
    return (-(-span // s) if ceil else span // s) + 1


def numpy_pool(x, k, s, pads, out_hw, kind, count_include_pad):
    """ONNX pooling with explicit loops over output positions (float64)."""
    n, h, w, c = x.shape
    top, left, bottom, right = pads
    y = np.zeros((n, *out_hw, c))
    for oy in range(out_hw[0]):
        for ox in range(out_hw[1]):
            ys, xs = oy * s[0] - top, ox * s[1] - left
            ye, xe = min(ys + k[0], h + bottom), min(xs + k[1], w + right)
            win = x[:, max(ys, 0) : min(ye, h), max(xs, 0) : min(xe, w)].astype(np.float64)
            if kind == "max":
                y[:, oy, ox] = win.max(axis=(1, 2))
            else:
                count = (ye - ys) * (xe - xs) if count_include_pad else win.shape[1] * win.shape[2]
                y[:, oy, ox] = win.sum(axis=(1, 2)) / count
    return y


POOLS = {
    "k2s2": ((2, 2), (2, 2), (0, 0, 0, 0)),
    "k3s2p1": ((3, 3), (2, 2), (1, 1, 1, 1)),
    "k3s1p-asym": ((3, 2), (1, 1), (1, 0, 0, 1)),
    "k5s3p2": ((5, 5), (3, 3), (2, 2, 2, 2)),
}


@pytest.mark.parametrize("ceil", [False, True], ids=["floor", "ceil"])
@pytest.mark.parametrize("kind", ["max", "avg", "avg-include-pad"])
@pytest.mark.parametrize("pool", list(POOLS))
@pytest.mark.parametrize("h,w,c", [(7, 7, 1), (17, 9, 3), (8, 33, 17)])
def test_pool(rng, h, w, c, pool, kind, ceil):
    ffi, lib = kernels()
    k, s, pads = POOLS[pool]
    oh = pool_out(h, k[0], s[0], pads[0], pads[2], ceil)
    ow = pool_out(w, k[1], s[1], pads[1], pads[3], ceil)
    include = kind == "avg-include-pad"
    x = rand(rng, 2, h, w, c)
    expected = numpy_pool(x, k, s, pads, (oh, ow), kind[:3], include)
    y = np.full(expected.shape, np.nan, dtype=np.float32)
    params = ffi.new("cnnc_f32_pool_params *", {
        "n": 2, "h": h, "w": w, "c": c, "out_h": oh, "out_w": ow,
        "kernel_h": k[0], "kernel_w": k[1],
        "stride_h": s[0], "stride_w": s[1], "pad_top": pads[0], "pad_left": pads[1],
        "pad_bottom": pads[2], "pad_right": pads[3], "count_include_pad": int(include),
    })  # fmt: skip
    fn = lib.cnnc_f32_maxpool__ref if kind == "max" else lib.cnnc_f32_avgpool__ref
    fn(params, fptr(ffi, x), fptr(ffi, y))
    assert_close(y, expected)


def test_avgpool_divisor_counts_pads_not_ceil_overhang():
    """Hand-computed: 1-D row [1,2,3], k=2, s=2, pad_left=1, ceil: windows [pad,1], [2,3]
    -> with count_include_pad: 1/2 and 5/2; the second window's overhang never counts."""
    ffi, lib = kernels()
    x = np.array([1, 2, 3], dtype=np.float32).reshape(1, 1, 3, 1)
    y = np.zeros((1, 1, 2, 1), dtype=np.float32)
    params = ffi.new("cnnc_f32_pool_params *", {
        "n": 1, "h": 1, "w": 3, "c": 1, "out_h": 1, "out_w": 2, "kernel_h": 1, "kernel_w": 2,
        "stride_h": 1, "stride_w": 2,
        "pad_top": 0, "pad_left": 1, "pad_bottom": 0, "pad_right": 0, "count_include_pad": 1,
    })  # fmt: skip
    lib.cnnc_f32_avgpool__ref(params, fptr(ffi, x), fptr(ffi, y))
    np.testing.assert_array_equal(y.ravel(), [0.5, 2.5])


@pytest.mark.parametrize("n,h,w,c", [(1, 1, 1, 1), (2, 7, 5, 17), (1, 17, 17, 65)])
def test_global_avgpool(rng, n, h, w, c):
    ffi, lib = kernels()
    x = rand(rng, n, h, w, c)
    y = np.full((n, c), np.nan, dtype=np.float32)
    params = ffi.new("cnnc_f32_global_avgpool_params *", {"n": n, "hw": h * w, "c": c})
    lib.cnnc_f32_global_avgpool__ref(params, fptr(ffi, x), fptr(ffi, y))
    assert_close(y, x.astype(np.float64).mean(axis=(1, 2)))
