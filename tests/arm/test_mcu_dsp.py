"""Cortex-M DSP int8 kernels (s8_*_dsp.c): bit-exact to __ref on an emulated Cortex-M4 over
the NEON test's grid, compiled in exactly where the target has the DSP extension, and
picked by a generated model, which then runs bit-exact and in fewer instructions (counted
per layer by cnnc.host.mcu_trace) than the same firmware capped to __ref."""

import json
import subprocess

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc import api
from cnnc import errors as cnnc_errors
from cnnc.host import cross, mcu, mcu_trace, targets
from cnnc.host.cbuild import runtime_dir
from cnnc.ops.variants import DSP, VARIANTS

from .conftest import require_target
from .mcu_run import C_RANDOM, run_driver
from .test_s8_simd_arm import CASES, DRIVER, NEON_LAYER_CASES, defined_by_build

pytestmark = pytest.mark.arm


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_equals_ref_on_emulated_cortex_m4(tmp_path, opt):
    """The NEON test's C driver (same grid: tile edges, odd sizes, strides, padding,
    groups, zero points at the range ends, both roundings, requantisation corners) with
    the __dsp kernels in place of __neon, on MPS2-AN386 with semihosting; also at -Os,
    where the GEMM row keeps one copy that picks the requantisation per output."""
    kernels = sorted(k.name for k in (runtime_dir() / "kernels").glob("s8_*.c"))
    out = run_driver(tmp_path, DRIVER.replace("__neon", "__dsp"), kernels, opt)
    assert f"{CASES - NEON_LAYER_CASES} cases, 0 failures" in out, out


# Whether a target's build defines the DSP rows (their guard, cnnc_cpu.h's CNNC_M_DSP).
DSP_BUILD = {"cortex-m4": True, "cortex-m7": True, "cortex-m33": True, "cortex-m0plus": False,
             "armv7": False, "aarch64": False, "host": False}  # fmt: skip


@pytest.mark.parametrize(
    "flags",
    [("-O1",), ("-Og",), ("-O3",), ("-Os",), ("-O2", "-g"),
     ("-O2", "-fno-omit-frame-pointer", "-DCNNC_NO_DSP")],
    ids=lambda f: " ".join(f),
)  # fmt: skip
def test_dsp_kernels_compile_at_every_optimisation_level(tmp_path, flags):
    """A user's build may pick any level: every DSP kernel file compiles for the Cortex-M4
    with it (the target's -O2 builds everywhere else; -O0 in the link test below). The
    inline asm names many registers: one statement too many fails with "impossible
    constraints" at one level only, as dsp_dw_pairs_rec2x2 once did at -O1. A frame pointer
    takes one more register: such a build leaves the kernels out with -DCNNC_NO_DSP."""
    t = require_target("cortex-m4", run=False)
    cflags = [f for f in t.cflags if not f.startswith("-O")]
    include = runtime_dir() / "include"
    for src in sorted((runtime_dir() / "kernels").glob("*_dsp.c")):
        proc = subprocess.run(
            [t.cc, *cflags, *flags, "-Wall", "-Werror", f"-I{include}", "-c", str(src),
             "-o", str(tmp_path / "k.o")],
            capture_output=True, text=True,
        )  # fmt: skip
        assert proc.returncode == 0, f"{src.name} {' '.join(flags)}:\n{proc.stderr[-2000:]}"


@pytest.mark.parametrize("target", list(DSP_BUILD))
def test_dsp_rows_compiled_in_per_target(target):
    t = require_target(target, run=False)
    rows = [v for v in VARIANTS if v.guard == DSP]
    kernels = ("conv", "dense", "pwconv", "dwconv", "add", "quantize", "global_avgpool")
    want = {f"cnnc_s8_{k}__dsp" for k in kernels} | {"cnnc_b1_s8conv_bits__dsp"}
    assert {v.name for v in rows} == want
    for v in rows:
        defined = defined_by_build(t, f"{v.family}_*_dsp.c", v.name)
        assert defined == DSP_BUILD[target], f"{target}: {v.name} defined: {defined}"


def test_debug_build_links_on_the_portable_kernels(trained_models, tmp_path):
    """At -O0 (an IDE's debug build) gcc cannot give the DSP kernels' inline asm the
    registers it names: the kernels drop out (cnnc_cpu.h's CNNC_M_DSP needs __OPTIMIZE__)
    and model.c's dispatch with them, so the firmware compiles and links on __ref; at the
    target's flags it holds the DSP kernels."""
    require_target("cortex-m4", run=False)
    t = trained_models("mobilenetv2")
    m = api.compile(t.model, tmp_path / "m4", "int8", t.calibration, embed_weights=True,
                    target="cortex-m4")  # fmt: skip
    nm = mcu.binutil("cortex-m4", "nm")

    def kernels(flags):
        elf = mcu.link_firmware(m.out_dir, "cortex-m4", flags)
        names = subprocess.run([nm, str(elf)], capture_output=True, text=True, check=True)
        return {line.split()[-1] for line in names.stdout.splitlines() if "cnnc_s8_" in line}

    assert {"cnnc_s8_pwconv__dsp", "cnnc_s8_dwconv__dsp"} <= kernels(())
    debug = kernels(("-O0",))
    assert "cnnc_s8_pwconv__ref" in debug
    assert not {k for k in debug if k.endswith("__dsp")}, debug


def test_model_picks_dsp_runs_bit_exact_and_is_counted_per_layer(trained_models, tmp_path):
    """The trained tiny MobileNetV2 (stem conv, depthwise, pointwise, dense) on MPS2-AN386:
    outputs equal the NumPy reference bit for bit, the __dsp kernels run, and the per-layer
    instruction count covers every layer, each int8 conv with at least one instruction
    per two MACs (SMLAD's two MACs are the most an instruction does)."""
    require_target("cortex-m4")
    t = trained_models("mobilenetv2")
    m = api.compile(t.model, tmp_path / "m4", "int8", t.calibration, embed_weights=True,
                    target="cortex-m4")  # fmt: skip
    assert "cnnc_s8_pwconv__dsp" in (m.out_dir / "model.c").read_text()
    x = t.x[:2]
    want = m.reference(x).reshape(len(x), -1).astype(np.float32)
    assert_bit_exact(want, cross.run(m.out_dir, "cortex-m4", x), "mobilenetv2 int8 dsp")
    count = mcu_trace.count_instructions(m.out_dir, "cortex-m4", x[:1])
    assert set(count.layers) == set(range(m.info["num_layers"]))
    used = {s for s in count.symbols if s.endswith("__dsp")}
    assert {"cnnc_s8_dwconv__dsp", "cnnc_s8_dense__dsp", "cnnc_s8_conv__dsp"} <= used, used
    assert not {s for s in count.symbols if s.endswith(("conv__ref", "dense__ref"))} - {
        "cnnc_s8_dense__ref"  # the classifier's single row runs the reference loop
    }
    for layer in json.loads((m.out_dir / "report.json").read_text())["layers"]:
        if layer["op"] == "s8_conv2d":
            assert count.layers[layer["index"]] >= layer["macs"] / 2, layer


def test_freestanding_build_runs_no_extra_memcpy(trained_models, tmp_path):
    """-ffreestanding (or -fno-builtin), usual in embedded builds, stops gcc expanding a
    memcpy inline: every fixed-size copy of the kernels (their unaligned word loads) is
    CNNC_COPY, __builtin_memcpy, so such a build executes no more of memcpy than the
    target's own flags (with plain memcpy it ran 195,332 of memcpy's instructions, +16 %)."""
    require_target("cortex-m4")
    t = trained_models("mobilenetv2")
    m = api.compile(t.model, tmp_path / "m4", "int8", t.calibration, embed_weights=True,
                    target="cortex-m4")  # fmt: skip
    plain = mcu_trace.count_instructions(m.out_dir, "cortex-m4", t.x[:1])
    free = mcu_trace.count_instructions(m.out_dir, "cortex-m4", t.x[:1], ("-ffreestanding",))
    assert free.symbols["memcpy"] == plain.symbols["memcpy"], (plain.symbols, free.symbols)
    assert free.inference < plain.inference * 1.01, (plain.inference, free.inference)


@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m33"])
def test_build_only_targets_size_a_model(tmp_path, target):
    """The boards qemu cannot run here still build a model freestanding and report its size."""
    from cnnc.host import mcu

    from .conftest import make_tiny_folder

    require_target(target, run=False)
    folder = make_tiny_folder(tmp_path / "m", weights=False, target=target)
    size = mcu.mcu_size(folder, target)
    assert size["flash"] == size["text"] + size["data"] > 18 * 4
    with pytest.raises(cnnc_errors.ToolchainError, match="no emulated board"):
        targets.check_toolchain(target, run=True)


# h, w, kernel, stride, pad of the depthwise grid below, and the DSP path each one takes
DW_GEOMETRIES = [
    (2, 2, 3, 1, 1),  # 2x2 outputs, stride 1: dsp_dw_whole (the digits model's 2x2x192)
    (4, 4, 3, 2, 1),  # 2x2 outputs, stride 2 (4x4x96)
    (3, 3, 3, 2, 1),  # 2x2 outputs from an odd image
    (1, 1, 3, 1, 1),  # 1x1 output, stride 1
    (1, 1, 3, 2, 1),  # 1x1 output, stride 2
    (2, 2, 3, 2, 1),  # 1x1 output of a 2x2 image (every window holds the image: dsp_dw_whole)
    (3, 3, 5, 1, 2),  # 3x3 outputs, each window the whole 3x3 image
    (4, 4, 3, 1, 1),  # 4x4 outputs, stride 1 (too narrow for the planes)
    (1, 5, 3, 2, 1),  # 1x3 outputs: too few pixels to double the sums
    (8, 8, 3, 2, 1),  # 4x4 outputs, stride 2
    (7, 5, 3, 2, 0),  # odd sizes, no padding
    (9, 7, 3, 2, 2),  # padding 2
    (5, 9, 3, 1, 0),  # 3x7 outputs
    (16, 16, 3, 2, 1),  # 8x8 outputs: >= 32 pixels, the doubled sums
    (12, 11, 3, 1, 1),  # the planes (dsp_dw3x3_planar): row pairs, an odd last column
    (9, 8, 3, 1, 1),  # the planes: an odd last row
    (3, 10, 3, 1, 0),  # the planes, one row of 8
    (5, 21, 3, 2, 1),  # padded rows wider than the buffer's fixed pitch (DSP_DW_PITCH)
    (29, 5, 3, 2, 1),  # more padded rows than the fixed pitch leaves room for
    (24, 24, 3, 2, 1),  # padded image past the buffer: bands of output rows
    (7, 6, 5, 2, 2),  # 5x5: the generic windows over the buffer
    (6, 5, 1, 1, 0),  # 1x1 kernel
    (1, 9, 3, 2, 1),  # 1x5 outputs: the 3x3 groups' doubled sums, kernel rows 0 and 2 padding
]  # fmt: skip
DW_CHANNELS = (1, 4, 5, 8, 13)
# (x_zero_point, y_zero_point, act_min, act_max): the full clamp at both zero-point ends,
# then a narrow one
DW_OUTS = ((-128, 127, -128, 127), (127, -128, -128, 127), (5, -3, -3, 97))
# (rounding, requantisation kind): single and double with kind 0 (fast forms), 1 (the
# contract's corners: slow and mixed forms per group), 2 (fast forms, biases near 2^30 on
# every other channel: groups that may not double their sums); onnxruntime once
DW_REQUANTS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 1))
DW_CASES = len(DW_GEOMETRIES) * len(DW_CHANNELS) * len(DW_OUTS) * len(DW_REQUANTS)

DW_DRIVER = (
    r"""
#include <stdio.h>
#include <string.h>
#include "cnnc_s8.h"
"""
    + C_RANDOM
    + r"""
#define GUARD 16
#define MAX_C 13
static int8_t x[2 * 24 * 24 * MAX_C], w[25 * MAX_C], y_ref[2 * 12 * 12 * MAX_C + GUARD],
    y_dsp[2 * 12 * 12 * MAX_C + GUARD];
static int32_t bias[MAX_C], mult[MAX_C], shift[MAX_C];
static const int32_t geo[][5] = {@GEO}, chans[] = {@CHANS}, outs[][4] = {@OUTS},
                     requants[][2] = {@REQUANTS};
int main(void) {
    int g, ci, o, r, i, cases = 0, failures = 0;
    for (g = 0; g < (int)(sizeof geo / sizeof geo[0]); ++g)
    for (ci = 0; ci < (int)(sizeof chans / sizeof chans[0]); ++ci)
    for (o = 0; o < (int)(sizeof outs / sizeof outs[0]); ++o)
    for (r = 0; r < (int)(sizeof requants / sizeof requants[0]); ++r) {
        cnnc_s8_conv_params p;
        int32_t size;
        const int32_t kind = requants[r][1];
        memset(&p, 0, sizeof p);
        p.n = 2; p.h = geo[g][0]; p.w = geo[g][1]; p.c = p.out_c = p.groups = chans[ci];
        p.kernel_h = p.kernel_w = geo[g][2]; p.stride_h = p.stride_w = geo[g][3];
        p.pad_top = p.pad_left = geo[g][4]; p.dilation_h = p.dilation_w = 1;
        p.out_h = (p.h + 2 * p.pad_top - p.kernel_h) / p.stride_h + 1;
        p.out_w = (p.w + 2 * p.pad_left - p.kernel_w) / p.stride_w + 1;
        p.x_zero_point = outs[o][0]; p.y_zero_point = outs[o][1];
        p.act_min = outs[o][2]; p.act_max = outs[o][3]; p.rounding = requants[r][0];
        for (i = 0; i < p.n * p.h * p.w * p.c; ++i) x[i] = (int8_t)uniform(-128, 127);
        for (i = 0; i < p.kernel_h * p.kernel_w * p.c; ++i) w[i] = (int8_t)uniform(-128, 127);
        for (i = 0; i < p.c; ++i) {
            const int32_t corner = kind == 1 ? uniform(0, 3) : 1;
            bias[i] = uniform(-5000, 5000);
            mult[i] = (int32_t)((1u << 30) + next_word() % (1u << 30));
            shift[i] = kind == 1 ? uniform(-31, 30) : -uniform(2, 14);
            if (corner == 0) { mult[i] = 1 << 30; shift[i] = -uniform(0, 8); }
            if (corner == 2) { mult[i] = 0; shift[i] = 0; }
            if (corner == 3) { mult[i] = INT32_MAX; shift[i] = uniform(0, 1) ? 30 : -31; }
            if (kind == 2 && (i & 1)) bias[i] = (i & 2 ? -1 : 1) * ((1 << 30) - (1 << 17));
        }
        size = p.n * p.out_h * p.out_w * p.c;
        cnnc_s8_dwconv__ref(&p, x, w, bias, mult, shift, y_ref);
        for (i = 0; i < size; ++i) y_dsp[i] = (int8_t)~y_ref[i]; /* unwritten bytes differ */
        memset(y_dsp + size, 0x5A, GUARD);
        cnnc_s8_dwconv__dsp(&p, x, w, bias, mult, shift, y_dsp);
        ++cases;
        for (i = 0; i < size + GUARD; ++i)
            if (i >= size ? y_dsp[i] != 0x5A : y_ref[i] != y_dsp[i]) {
                printf("MISMATCH geometry %d c %d out %d requant %d byte %d: ref %d dsp %d\n",
                       g, (int)p.c, o, r, i, i < size ? y_ref[i] : 0x5A, y_dsp[i]);
                ++failures;
                break;
            }
    }
    printf("%d cases, %d failures\n", cases, failures);
    return 0;
}
"""
)


def c_rows(rows) -> str:
    return ", ".join("{" + ", ".join(map(str, row)) + "}" for row in rows)


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_dwconv_grid_equals_ref(tmp_path, opt):
    """cnnc_s8_dwconv__dsp against __ref bit for bit on every path it has (the 3x3 groups
    over the padded buffer, the planes, the bounds-checked windows, other kernels, the
    channels past the last multiple of 4) and their edges: 1x1 and 2x2 outputs, strides 1
    and 2, odd sizes, paddings 0-2, channel counts not a multiple of 4, two images, every
    rounding, fast, slow and mixed requantisation forms, sums that may or may not be
    doubled, full and narrow clamps; output bytes past the tensor must stay untouched."""
    driver = DW_DRIVER
    for name, rows in (("@GEO", DW_GEOMETRIES), ("@OUTS", DW_OUTS), ("@REQUANTS", DW_REQUANTS)):
        driver = driver.replace(name, c_rows(rows))
    driver = driver.replace("@CHANS", ", ".join(map(str, DW_CHANNELS)))
    kernels = ["s8_dwconv.c", "s8_dwconv_dsp.c"]
    out = run_driver(tmp_path, driver, kernels, opt)
    assert f"{DW_CASES} cases, 0 failures" in out, out
