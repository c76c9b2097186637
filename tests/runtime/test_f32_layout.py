"""float32 concat, softmax and transpose kernels against NumPy."""

import itertools

import numpy as np
import pytest
from f32_kernels import assert_close, fptr, kernels


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("widths", [(1,), (3, 17), (1, 33, 2, 65)], ids=["one", "two", "four"])
@pytest.mark.parametrize("outer", [1, 7, 33])
def test_concat(rng, outer, widths):
    ffi, lib = kernels()
    xs = [rand(rng, outer, ci) for ci in widths]
    y = np.full((outer, sum(widths)), np.nan, dtype=np.float32)
    offset = 0
    for x in xs:
        params = ffi.new(
            "cnnc_f32_concat_params *",
            {"outer": outer, "c_in": x.shape[1], "c_out": y.shape[1], "c_offset": offset},
        )
        lib.cnnc_f32_concat__ref(params, fptr(ffi, x), fptr(ffi, y))
        offset += x.shape[1]
    np.testing.assert_array_equal(y, np.concatenate(xs, axis=1))


@pytest.mark.parametrize("inplace", [False, True], ids=["out", "in-place"])
@pytest.mark.parametrize("scale", [1.0, 100.0], ids=["unit", "large-logits"])
@pytest.mark.parametrize("outer,c", [(1, 1), (3, 10), (7, 65)])
def test_softmax(rng, outer, c, scale, inplace):
    ffi, lib = kernels()
    x = (rand(rng, outer, c) * scale).astype(np.float32)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(axis=1, keepdims=True))
    expected = e / e.sum(axis=1, keepdims=True)
    y = x if inplace else np.full_like(x, np.nan)
    params = ffi.new("cnnc_f32_softmax_params *", {"outer": outer, "c": c})
    lib.cnnc_f32_softmax__ref(params, fptr(ffi, x), fptr(ffi, y))
    assert_close(y, expected, rtol=1e-5, atol=1e-7)


PERMS = {
    "nchw-to-nhwc": ((1, 3, 7, 5), (0, 2, 3, 1)),
    "nhwc-to-nchw": ((2, 7, 5, 17), (0, 3, 1, 2)),
    "rank1": ((33,), (0,)),
    "rank2": ((3, 17), (1, 0)),
    "shuffle5d": ((1, 2, 3, 5, 7), (0, 2, 1, 3, 4)),
    "rank6": ((2, 1, 3, 2, 5, 3), (5, 0, 4, 2, 3, 1)),
}


@pytest.mark.parametrize("case", list(PERMS))
def test_transpose(rng, case):
    shape, perm = PERMS[case]
    run_transpose(rng, shape, perm)


@pytest.mark.parametrize("perm", list(itertools.permutations(range(4))), ids=str)
def test_transpose_every_rank4_perm(rng, perm):
    run_transpose(rng, (3, 1, 5, 7), perm)


def run_transpose(rng, shape, perm):
    ffi, lib = kernels()
    x = rand(rng, *shape)
    expected = x.transpose(perm)
    y = np.full(expected.shape, np.nan, dtype=np.float32)
    pad = 6 - len(shape)
    params = ffi.new("cnnc_f32_transpose_params *", {
        "rank": len(shape), "in_shape": list(shape) + [1] * pad, "perm": list(perm) + [0] * pad,
    })  # fmt: skip
    lib.cnnc_f32_transpose__ref(params, fptr(ffi, x), fptr(ffi, y))
    np.testing.assert_array_equal(y, expected)
