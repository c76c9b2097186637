"""float32 elementwise kernels (add, mul, scale_shift, act, sign) against NumPy,
including the in-place use (output aliasing an input) the arena planner relies on."""

import numpy as np
import pytest
from f32_kernels import ACT_CASES, act_struct, apply_act, assert_close, fptr, kernels


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


BROADCAST = {"same": "same", "per-channel": "channel", "scalar": "scalar"}


@pytest.mark.parametrize("inplace", ["out", "into-a", "into-b"])
@pytest.mark.parametrize("act", ["none", "relu", "clip", "sigmoid"])
@pytest.mark.parametrize("broadcast", list(BROADCAST))
@pytest.mark.parametrize("op", ["add", "mul"])
@pytest.mark.parametrize("rows,cols", [(1, 1), (7, 3), (33, 17)])
def test_binary(rng, op, rows, cols, broadcast, act, inplace):
    ffi, lib = kernels()
    if inplace == "into-b" and broadcast != "same":
        inplace = "into-a"  # a broadcast b is smaller than the output: only a can alias
    a = rand(rng, rows, cols)
    b_shape = {"same": (rows, cols), "per-channel": (cols,), "scalar": (1,)}[broadcast]
    b = rand(rng, *b_shape)
    strides = {"same": (cols, 1), "per-channel": (0, 1), "scalar": (0, 0)}[broadcast]
    fn = np.add if op == "add" else np.multiply
    expected = apply_act(fn(a.astype(np.float64), b.astype(np.float64)), **ACT_CASES[act])
    y = {"out": np.full_like(a, np.nan), "into-a": a, "into-b": b}[inplace]
    params = ffi.new("cnnc_f32_binary_params *", {
        "rows": rows, "cols": cols, "b_row_stride": strides[0], "b_col_stride": strides[1],
        "act": act_struct(**ACT_CASES[act]),
    })  # fmt: skip
    getattr(lib, f"cnnc_f32_{op}__ref")(params, fptr(ffi, a), fptr(ffi, b), fptr(ffi, y))
    assert_close(y.reshape(rows, cols), expected)


@pytest.mark.parametrize("inplace", [False, True], ids=["out", "in-place"])
@pytest.mark.parametrize("act", list(ACT_CASES))
@pytest.mark.parametrize("rows,c", [(1, 1), (17, 3), (5, 65)])
def test_scale_shift(rng, rows, c, act, inplace):
    ffi, lib = kernels()
    x, scale, shift = rand(rng, rows, c), rand(rng, c), rand(rng, c)
    expected = apply_act(x.astype(np.float64) * scale + shift, **ACT_CASES[act])
    y = x if inplace else np.full_like(x, np.nan)
    params = ffi.new("cnnc_f32_scale_shift_params *",
                     {"rows": rows, "c": c, "act": act_struct(**ACT_CASES[act])})  # fmt: skip
    lib.cnnc_f32_scale_shift__ref(params, fptr(ffi, x), fptr(ffi, scale), fptr(ffi, shift),
                                  fptr(ffi, y))  # fmt: skip
    assert_close(y, expected)


@pytest.mark.parametrize("act", list(ACT_CASES))
@pytest.mark.parametrize("size", [1, 33, 1000])
def test_act(rng, size, act):
    ffi, lib = kernels()
    x = (rand(rng, size) * 8).astype(np.float32)  # spans the relu6/clip bounds
    y = np.full_like(x, np.nan)
    params = ffi.new("cnnc_f32_act_params *", {"size": size, "act": act_struct(**ACT_CASES[act])})
    lib.cnnc_f32_act__ref(params, fptr(ffi, x), fptr(ffi, y))
    assert_close(y, apply_act(x, **ACT_CASES[act]))


def test_act_large_magnitudes_stay_finite():
    """sigmoid/elu at +-100 saturate without inf/NaN (expf overflow would give NaN)."""
    ffi, lib = kernels()
    x = np.array([-100, -20, 0, 20, 100], dtype=np.float32)
    for name, expected in [("sigmoid", [0, 2.0611537e-09, 0.5, 1, 1]),
                           ("elu", [-0.7, -0.7, 0, 20, 100])]:  # fmt: skip
        y = np.zeros_like(x)
        params = ffi.new("cnnc_f32_act_params *", {"size": 5, "act": act_struct(**ACT_CASES[name])})
        lib.cnnc_f32_act__ref(params, fptr(ffi, x), fptr(ffi, y))
        assert_close(y, np.array(expected), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("inplace", [False, True], ids=["out", "in-place"])
def test_sign_zero_is_plus_one(rng, inplace):
    ffi, lib = kernels()
    x = np.concatenate([rand(rng, 31), np.array([0.0, -0.0, 1e-30, -1e-30], np.float32)])
    expected = np.where(x >= 0, 1.0, -1.0)  # -0.0 >= 0 holds: sign(-0) = +1 as well
    y = x if inplace else np.full_like(x, np.nan)
    params = ffi.new("cnnc_f32_sign_params *", {"size": x.size})
    lib.cnnc_f32_sign__ref(params, fptr(ffi, x), fptr(ffi, y))
    np.testing.assert_array_equal(y, expected)
