"""x86 SIMD tiers of the int8 layers around the convolutions (pooling, residual add,
concat's requantisation, the model boundary's quantise/dequantise: the x86 rows of
cnnc.ops.variants.VARIANTS) are bit-exact to their __ref kernels (which
test_s8_pool_concat.py / test_s8_dense_add.py pin to NumPy). Grids: channel and element
counts around the 8- and 32-lane blocks, windows with padding (valid-tap counts that
change per pixel), both count_include_pad values, zero points at the ends of int8, fused
clamps, both roundings; quantise also gets NaN, infinities and exact .5 ties. A tier this
CPU lacks skips, naming the missing flags."""

import numpy as np
import pytest
from cnnc.host.kernels import host_runs, load_s8_kernels
from cnnc.ops.requant import quantize_multiplier
from cnnc.ops.s8 import add_multipliers
from test_s8_simd import tiers_of

CHANNELS = [1, 3, 8, 15, 16, 31, 32, 33, 63, 64, 65, 128]
ZERO_POINTS = {"zp-128": -128, "zp5": 5, "zp127": 127}
GUARD = 16


@pytest.fixture(scope="module")
def variant(request):
    """(tier, ffi, lib) for an indirect `variant` parameter holding a cnnc.ops.variants row."""
    reason = host_runs(request.param)
    if reason:
        pytest.skip(reason)
    ffi, lib = load_s8_kernels()
    return request.param.isa, ffi, lib


CTYPES = {"int8": "int8_t[]", "float32": "float[]"}


def run_both(variant, kernel, struct_name, fields, inputs, out_shape, out_dtype=np.int8):
    """Runs cnnc_s8_<kernel>__ref and __<tier>; asserts equal outputs (bytes, incl. float
    bit patterns) and untouched guard elements; the tier's buffer starts as the NOT of
    ref's output, so an element it leaves unwritten shows."""
    name, ffi, lib = variant
    params = ffi.new(f"{struct_name} *", fields)
    size = int(np.prod(out_shape))
    outs = {}
    for suffix in ("ref", name):
        y = np.zeros(size + GUARD, out_dtype)
        if suffix != "ref":
            y.view(np.uint8)[: size * y.itemsize] = ~outs["ref"].view(np.uint8)
        y[size:] = 7
        bufs = [ffi.from_buffer(CTYPES[a.dtype.name], a) for a in [*inputs, y]]
        getattr(lib, f"cnnc_s8_{kernel}__{suffix}")(params, *bufs)
        assert (y[size:] == 7).all(), f"{kernel}__{suffix} wrote past its output"
        outs[suffix] = y[:size].copy()
    want, got = outs["ref"].view(np.uint8), outs[name].view(np.uint8)
    bad = np.flatnonzero(want != got)
    i = bad[0] // outs["ref"].itemsize if bad.size else 0
    assert not bad.size, (
        f"{kernel}__{name} != __ref at flat index {i}: expected {outs['ref'][i]}, "
        f"got {outs[name][i]}"
    )


# (h, w, kernel, stride, pad): MobileNet-like 3x3 s2 p1, 2x2 s2, a 3x3 s1 p1 (edges see 4
# or 6 valid taps), a window larger than the image with padding
POOL_GEOMETRY = {
    "7x5-k3-s2-p1": (7, 5, 3, 2, 1),
    "8x6-k2-s2-p0": (8, 6, 2, 2, 0),
    "5x4-k3-s1-p1": (5, 4, 3, 1, 1),
    "2x3-k4-s1-p1": (2, 3, 4, 1, 1),
}
CLAMPS = {"none": (-128, 127), "relu6": (-3, 60)}


def pool_fields(geometry, c, zp, clamp, include_pad=0):
    h, w, k, s, pad = POOL_GEOMETRY[geometry]
    oh, ow = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
    lo, hi = CLAMPS[clamp]
    fields = dict(n=2, h=h, w=w, c=c, out_h=oh, out_w=ow, kernel_h=k, kernel_w=k, stride_h=s,
                  stride_w=s,
                  pad_top=pad, pad_left=pad, count_include_pad=include_pad, zero_point=zp,
                  act_min=lo, act_max=hi)  # fmt: skip
    return fields, (2, oh, ow, c)


@tiers_of("maxpool")
@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("geometry", list(POOL_GEOMETRY))
@pytest.mark.parametrize("clamp", list(CLAMPS))
def test_maxpool(variant, rng, c, geometry, clamp):
    fields, out_shape = pool_fields(geometry, c, 0, clamp)
    x = rng.integers(-128, 128, (2, fields["h"], fields["w"], c)).astype(np.int8)
    run_both(variant, "maxpool", "cnnc_s8_pool_params", fields, [x], out_shape)


@tiers_of("avgpool")
@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("geometry", list(POOL_GEOMETRY))
@pytest.mark.parametrize("include_pad", [0, 1], ids=["valid-count", "pad-count"])
@pytest.mark.parametrize("zp", list(ZERO_POINTS))
def test_avgpool(variant, rng, c, geometry, include_pad, zp):
    fields, out_shape = pool_fields(geometry, c, ZERO_POINTS[zp], "relu6", include_pad)
    x = rng.integers(-128, 128, (2, fields["h"], fields["w"], c)).astype(np.int8)
    run_both(variant, "avgpool", "cnnc_s8_pool_params", fields, [x], out_shape)


@tiers_of("global_avgpool")
@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("hw", [1, 7, 49], ids=lambda v: f"hw{v}")
@pytest.mark.parametrize("rounding", [0, 1], ids=["single", "double"])
@pytest.mark.parametrize("zp", list(ZERO_POINTS))
def test_global_avgpool(variant, rng, c, hw, rounding, zp):
    x = rng.integers(-128, 128, (2, hw, c)).astype(np.int8)
    mult, shift = quantize_multiplier(float(rng.uniform(0.5, 3.0)) / hw)
    fields = dict(n=2, hw=hw, c=c, x_zero_point=ZERO_POINTS[zp], y_zero_point=-ZERO_POINTS[zp] // 2,
                  mult=mult, shift=shift, act_min=-100, act_max=120, rounding=rounding)  # fmt: skip
    run_both(variant, "global_avgpool", "cnnc_s8_global_avgpool_params", fields, [x], (2, c))


SIZES = [1, 7, 8, 9, 31, 32, 33, 1003]


@tiers_of("add")
@pytest.mark.parametrize("size", SIZES, ids=lambda v: f"n{v}")
@pytest.mark.parametrize("rounding", [0, 1], ids=["single", "double"])
@pytest.mark.parametrize("zp", list(ZERO_POINTS))
@pytest.mark.parametrize("clamp", list(CLAMPS))
def test_add(variant, rng, size, rounding, zp, clamp):
    a, b = (rng.integers(-128, 128, size).astype(np.int8) for _ in range(2))
    s_a, s_b, s_y = rng.uniform(0.01, 0.1, 3)
    lo, hi = CLAMPS[clamp]
    fields = dict(size=size, a_zero_point=ZERO_POINTS[zp], b_zero_point=-3,
                  y_zero_point=ZERO_POINTS[zp] // 3, act_min=lo, act_max=hi, rounding=rounding,
                  **add_multipliers(s_a, s_b, s_y))  # fmt: skip
    run_both(variant, "add", "cnnc_s8_add_params", fields, [a, b], (size,))


@tiers_of("concat")
@pytest.mark.parametrize("c_in", [1, 7, 8, 9, 33, 64], ids=lambda v: f"C{v}")
@pytest.mark.parametrize("scale", ["same", "real"])
@pytest.mark.parametrize("rounding", [0, 1], ids=["single", "double"])
def test_concat(variant, rng, c_in, scale, rounding):
    outer, c_out, offset = 6, c_in + 5, 3
    x = rng.integers(-128, 128, (outer, c_in)).astype(np.int8)
    mult, shift = (2**30, 1) if scale == "same" else quantize_multiplier(rng.uniform(0.3, 3.0))
    fields = dict(outer=outer, c_in=c_in, c_out=c_out, c_offset=offset, x_zero_point=-7,
                  y_zero_point=11, mult=mult, shift=shift, rounding=rounding)  # fmt: skip
    # the kernel writes only its channel slice: y's other channels must survive
    name, ffi, lib = variant
    params = ffi.new("cnnc_s8_concat_params *", fields)
    outs = {}
    for suffix in ("ref", name):
        y = np.full((outer, c_out), 99, np.int8)
        fn = getattr(lib, f"cnnc_s8_concat__{suffix}")
        fn(params, ffi.from_buffer("int8_t[]", x), ffi.from_buffer("int8_t[]", y))
        outs[suffix] = y
    bad = np.argwhere(outs["ref"] != outs[name])
    assert not bad.size, (
        f"concat__{name} != __ref at {tuple(bad[0])}: expected {outs['ref'][tuple(bad[0])]}, "
        f"got {outs[name][tuple(bad[0])]}"
    )


@tiers_of("quantize")
@pytest.mark.parametrize("size", SIZES, ids=lambda v: f"n{v}")
@pytest.mark.parametrize("zp", list(ZERO_POINTS))
def test_quantize(variant, rng, size, zp):
    scale = np.float32(rng.uniform(0.005, 0.05))
    x = (rng.standard_normal(size) * 2).astype(np.float32)
    ties = (rng.integers(-300, 300, size) + np.float32(0.5)) * scale  # near-exact .5 ties
    x = np.where(rng.random(size) < 0.3, ties.astype(np.float32), x)
    special = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0, -0.0], np.float32)
    x[: min(size, special.size)] = special[: min(size, special.size)]
    fields = dict(size=size, scale=float(scale), zero_point=ZERO_POINTS[zp])
    run_both(variant, "quantize", "cnnc_s8_quant_params", fields, [x], (size,))


@tiers_of("dequantize")
@pytest.mark.parametrize("size", SIZES, ids=lambda v: f"n{v}")
@pytest.mark.parametrize("zp", list(ZERO_POINTS))
def test_dequantize(variant, rng, size, zp):
    x = rng.integers(-128, 128, size).astype(np.int8)
    fields = dict(size=size, scale=float(rng.uniform(0.001, 0.1)), zero_point=ZERO_POINTS[zp])
    run_both(variant, "dequantize", "cnnc_s8_quant_params", fields, [x], (size,), np.float32)
