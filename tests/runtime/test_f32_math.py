"""cnnc's own float32 exp / sigmoid / tanh (runtime_c/include/cnnc_math.h) against their
NumPy twins (cnnc.ops.fmath): equal bit for bit on a large grid including the extremes,
subnormal results, NaN and +-inf; and exp within 1e-6 relative of the true exp (float64)
wherever the result is a normal float32. The act kernel's sigmoid, tanh, silu and
hard_swish read the same functions and equal cnnc.ops.f32.apply_act bit for bit."""

import numpy as np
import pytest
from cnnc.host.cbuild import build_shared, load_shared, runtime_dir
from cnnc.ops import f32, fmath
from f32_kernels import fptr, kernels

SHIM = """
#include "cnnc_math.h"
#define SHIM(name, fn) \\
    void name(const float *x, float *y, int n) { int i; for (i = 0; i < n; ++i) y[i] = fn(x[i]); }
SHIM(shim_exp, cnnc_expf)
SHIM(shim_sigmoid, cnnc_sigmoidf)
SHIM(shim_tanh, cnnc_tanhf)
"""
CDEF = """
void shim_exp(const float *x, float *y, int n);
void shim_sigmoid(const float *x, float *y, int n);
void shim_tanh(const float *x, float *y, int n);
"""
ACT_KIND = {"sigmoid": 5, "tanh": 7, "silu": 8, "hard_swish": 9}


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    src = tmp_path_factory.mktemp("fmath") / "fmath_shim.c"
    src.write_text(SHIM)
    lib = build_shared([src], include_dirs=[runtime_dir() / "include"],
                       cflags=["-ffp-contract=off"])  # fmt: skip
    return load_shared(lib, CDEF)


def grid() -> np.ndarray:
    """Dense steps over [-110, 110], every 8191st float32 bit pattern of both signs (all
    magnitudes from subnormal to FLT_MAX), the overflow/underflow edges, NaN and +-inf."""
    dense = np.linspace(-110, 110, 100_001, dtype=np.float32)
    bits = np.arange(0, 0x7F800000, 8191, dtype=np.uint32).view(np.float32)
    edges = np.array([88.72283, 88.72284, 88.7229, 89.0, -87.33655, -103.9721, -103.97209,
                      -104.0, -104.5, 0.0, -0.0, 1e-45, np.finfo(np.float32).max],
                     np.float32)  # fmt: skip
    special = np.array([np.nan, np.inf, -np.inf], np.float32)
    return np.concatenate([dense, bits, -bits, edges, -edges, special])


def run(shim, name, x):
    ffi, lib = shim
    y = np.empty_like(x)
    getattr(lib, f"shim_{name}")(fptr(ffi, x), fptr(ffi, y), x.size)
    return y


def assert_same_bits(c, py, x, what):
    same = (c.view(np.uint32) == py.view(np.uint32)) | (np.isnan(c) & np.isnan(py))
    if not same.all():
        i = int(np.argmin(same))
        raise AssertionError(f"{what}: {int((~same).sum())} differ; first x={x[i]!r}: "
                             f"C {c[i]!r}, NumPy {py[i]!r}")  # fmt: skip


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_c_equals_numpy_bit_for_bit(shim, name):
    x = grid()
    py = {"exp": fmath.expf, "sigmoid": fmath.sigmoidf, "tanh": fmath.tanhf}[name](x)
    assert_same_bits(run(shim, name, x), py, x, f"cnnc_{name}f")


def test_exp_within_1e6_relative_of_true_exp(shim):
    x = grid()
    y = run(shim, "exp", x).astype(np.float64)
    with np.errstate(over="ignore"):
        true = np.exp(x.astype(np.float64))
    normal = (
        np.isfinite(x) & (true >= np.finfo(np.float32).tiny) & (true <= np.finfo(np.float32).max)
    )
    rel = np.abs(y[normal] - true[normal]) / true[normal]
    worst = int(np.argmax(rel))
    assert rel[worst] <= 1e-6, f"x={x[normal][worst]!r}: rel. error {rel[worst]:.3g}"
    assert np.isinf(y[x > 88.7229]).all() and (y[x < -103.98] == 0).all()
    assert np.isnan(y[np.isnan(x)]).all() and (y[x == -np.inf] == 0).all()
    tiny = ~normal & np.isfinite(x) & (x < 0) & (x > -103.9)  # subnormal results
    assert np.allclose(y[tiny], true[tiny], rtol=0, atol=1.5e-45)


def test_sigmoid_and_tanh_close_to_true_values(shim):
    x = grid()
    x = x[np.isfinite(x)]
    xd = x.astype(np.float64)
    with np.errstate(over="ignore"):
        sig = 1 / (1 + np.exp(-xd))
    assert np.abs(run(shim, "sigmoid", x) - sig).max() <= 2e-7
    assert np.abs(run(shim, "tanh", x) - np.tanh(xd)).max() <= 2.5e-7


@pytest.mark.parametrize("act", list(ACT_KIND))
def test_act_kernel_equals_reference_bit_for_bit(act):
    ffi, lib = kernels()
    x = grid()
    y = np.empty_like(x)
    params = ffi.new("cnnc_f32_act_params *", {"size": x.size, "act": {"kind": ACT_KIND[act]}})
    lib.cnnc_f32_act__ref(params, fptr(ffi, x), fptr(ffi, y))
    assert_same_bits(y, f32.apply_act(x, {"act": act}), x, act)


def test_softmax_kernel_equals_reference_bit_for_bit(rng):
    ffi, lib = kernels()
    x = (rng.standard_normal((37, 19)) * 8).astype(np.float32)
    y = np.empty_like(x)
    params = ffi.new("cnnc_f32_softmax_params *", {"outer": 37, "c": 19})
    lib.cnnc_f32_softmax__ref(params, fptr(ffi, x), fptr(ffi, y))
    assert_same_bits(y.ravel(), f32.softmax_last(x).ravel(), x.ravel(), "softmax")
