"""The NEON float32 kernels (runtime_c/kernels/f32_conv_neon.c, f32_conv_fast_neon.c) against
their __ref under qemu: a C driver runs both on the same pseudo-random data over a grid and
reports the first differing output of any case.

  * exact variants (__neon, AArch64 only): bit for bit, inf, -0 and subnormals included;
    every NaN counts as one value (C leaves a NaN's sign and payload to the compiler, see
    tests/runtime/test_f32_simd.py);
  * fast variants (_fast__neon; aarch64, armv7 with VFPv4 FMA and plain NEON's VMLA):
    within 1e-4 of the output range, with the same non-finite pattern.

Grids hit the tile edges: output channels 1..33 across the 4-lane vectors and 2-vector
strips; input channels across the 4-channel lane steps (1, 3, 4, 5, 9, 17); pixel counts
below and above the 8- and 4-pixel tiles; AArch64's assembly runs of 1x1 taps (16- and
8-channel strips: out_c 8/16/24/40, input channels 4/8/48, pixel counts off the 4-pixel
tile; the same as strided 1x1 convs); strides 1/2; pads 0/1/asymmetric; dilations 1/2;
kernels 1x1 to 5x5; with and without bias; every vector activation (and leaky ReLU's scalar
fallback). A special-values pass sprinkles NaN, inf, -0, 6, huge and subnormal values. Every
output is followed by guard floats no kernel may write. The same test disassembles the
kernel objects it links: no fused multiply-add in the exact one."""

import re
import subprocess

import pytest
from cnnc.host import cross, targets
from cnnc.host.cbuild import runtime_dir

from .conftest import require_target

pytestmark = pytest.mark.arm

DRIVER = r"""
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cnnc_f32.h"

#define GUARD 7
#define SENTINEL -12345.5f
typedef void conv_fn(const cnnc_f32_conv_params *, const float *, const float *, const float *,
                     float *);
typedef void dense_fn(const cnnc_f32_dense_params *, const float *, const float *,
                      const float *, float *);

static uint32_t state = 2463534242u;
static uint32_t next_word(void) { /* xorshift32 */
    state ^= state << 13; state ^= state >> 17; state ^= state << 5;
    return state;
}
static int special = 0; /* sprinkle special values */
static float value(void) {
    static const float sp[] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f, 6.0f, -6.0f, 1e38f,
                               -1e-45f, 3e-39f};
    const float v = (float)(int32_t)(next_word() >> 8) / 4194304.0f - 2.0f; /* [-2, 2) */
    if (special && next_word() % 9 == 0) {
        const int n = (int)(sizeof sp / sizeof sp[0]) - (special == 2 ? 3 : 0);
        const uint32_t i = next_word() % (uint32_t)n;
        return special == 2 && i == 7 ? v : sp[i]; /* fast: no 1e38 (FMA overflows less) */
    }
    return v;
}
static void fill(float *v, int32_t n) {
    int32_t i;
    for (i = 0; i < n; ++i) v[i] = value();
}

static float x[2 * 12 * 13 * 33], w[5 * 5 * 17 * 33 + 64 * 33], bias[64];
static float y_ref[2 * 12 * 13 * 33 + GUARD], y_v[2 * 12 * 13 * 33 + GUARD];
static const int32_t chans[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33};
static int cases = 0, failures = 0;

static cnnc_f32_act act_of(int i) {
    cnnc_f32_act a;
    a.kind = CNNC_ACT_NONE; a.min = 0.0f; a.max = 0.0f; a.alpha = 0.0f;
    switch (i % 6) {
        case 1: a.kind = CNNC_ACT_RELU; break;
        case 2: a.kind = CNNC_ACT_RELU6; a.max = 6.0f; break;
        case 3: a.kind = CNNC_ACT_CLIP; a.min = -0.5f; a.max = 1.25f; break;
        case 4: a.kind = CNNC_ACT_CLIP; a.min = 0.5f; a.max = -0.25f; break; /* crossed */
        case 5: a.kind = CNNC_ACT_LEAKY_RELU; a.alpha = 0.1f; break;
        default: break;
    }
    return a;
}

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* y_v against y_ref over size outputs: bit for bit (exact) or within 1e-4 of the range. */
static void compare(const char *what, int32_t size, int exact, int32_t a, int32_t b, int32_t c) {
    int32_t i;
    double range = 0.0;
    ++cases;
    for (i = 0; i < GUARD; ++i)
        if (bits(y_v[size + i]) != bits(SENTINEL)) {
            printf("GUARD %s (%d, %d, %d) written at +%d\n", what, (int)a, (int)b, (int)c, (int)i);
            ++failures;
            return;
        }
    for (i = 0; i < size; ++i)
        if (isfinite(y_ref[i])) {
            const double e = fabs((double)y_ref[i]);
            if (e > range) range = e;
        }
    for (i = 0; i < size; ++i) {
        const float e = y_ref[i], v = y_v[i];
        int bad;
        if (exact) bad = isnan(e) ? !isnan(v) : bits(e) != bits(v);
        else if (!isfinite(e) || !isfinite(v)) bad = isnan(e) ? !isnan(v) : bits(e) != bits(v);
        else bad = fabs((double)e - (double)v) > 1e-4 * (range > 1e-30 ? range : 1e-30);
        if (bad) {
            printf("MISMATCH %s %s (%d, %d, %d) at %d: ref %.9g (0x%08x) neon %.9g (0x%08x)\n",
                   what, exact ? "exact" : "fast", (int)a, (int)b, (int)c, (int)i, e, bits(e), v,
                   bits(v));
            ++failures;
            return;
        }
    }
}

static void prepare(int32_t size) {
    int32_t i;
    for (i = 0; i < size + GUARD; ++i) y_v[i] = SENTINEL;
}

static void check_conv(const char *what, conv_fn *ref, conv_fn *exact, conv_fn *fast,
                       const cnnc_f32_conv_params *p, int use_bias, int32_t a, int32_t b,
                       int32_t c) {
    const int32_t size = p->n * p->out_h * p->out_w * p->out_c;
    const float *bp = use_bias ? bias : NULL;
    ref(p, x, w, bp, y_ref);
    if (exact) { prepare(size); exact(p, x, w, bp, y_v); compare(what, size, 1, a, b, c); }
    prepare(size); fast(p, x, w, bp, y_v); compare(what, size, 0, a, b, c);
}

#if defined(__aarch64__)
#define EXACT(name) name
#else
#define EXACT(name) NULL
#endif

static void dense_cases(void) {
    static const int32_t ks[] = {1, 3, 4, 5, 9, 33}, ns[] = {1, 3, 13};
    int mi, ki, ni;
    for (mi = 0; mi < 11; ++mi) for (ki = 0; ki < 6; ++ki) for (ni = 0; ni < 3; ++ni) {
        cnnc_f32_dense_params p;
        const int32_t size = ns[ni] * chans[mi];
        p.n = ns[ni]; p.k = ks[ki]; p.m = chans[mi]; p.act = act_of(mi + ki + ni);
        fill(x, p.n * p.k); fill(w, p.k * p.m); fill(bias, p.m);
        cnnc_f32_dense__ref(&p, x, w, bias, y_ref);
#if defined(__aarch64__)
        prepare(size); cnnc_f32_dense__neon(&p, x, w, bias, y_v);
        compare("dense (m, k, n)", size, 1, p.m, p.k, p.n);
#endif
        prepare(size); cnnc_f32_dense_fast__neon(&p, x, w, bias, y_v);
        compare("dense (m, k, n)", size, 0, p.m, p.k, p.n);
    }
}

static cnnc_f32_conv_params geom(int32_t n, int32_t h, int32_t w_, int32_t c, int32_t co,
                                 const int32_t *g) {
    /* g: kh, kw, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left, pad_bottom, pad_right */
    cnnc_f32_conv_params p;
    memset(&p, 0, sizeof p);
    p.n = n; p.h = h; p.w = w_; p.c = c; p.out_c = co; p.groups = 1;
    p.kernel_h = g[0]; p.kernel_w = g[1]; p.stride_h = g[2]; p.stride_w = g[3];
    p.dilation_h = g[4]; p.dilation_w = g[5]; p.pad_top = g[6]; p.pad_left = g[7];
    p.out_h = (h + g[6] + g[8] - g[4] * (g[0] - 1) - 1) / g[2] + 1;
    p.out_w = (w_ + g[7] + g[9] - g[5] * (g[1] - 1) - 1) / g[3] + 1;
    return p;
}

static const int32_t pixels[5][3] = {{1, 1, 1}, {1, 1, 11}, {1, 1, 13}, {2, 7, 3}, {1, 5, 9}};
static const int32_t one[10] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

static void pwconv_cases(void) {
    static const int32_t cs[] = {1, 4, 5, 17};
    int oi, ci, pi;
    for (oi = 0; oi < 11; ++oi) for (ci = 0; ci < 4; ++ci) for (pi = 0; pi < 5; ++pi) {
        cnnc_f32_conv_params p =
            geom(pixels[pi][0], pixels[pi][1], pixels[pi][2], cs[ci], chans[oi], one);
        p.act = act_of(oi + ci + pi);
        fill(x, p.n * p.h * p.w * p.c); fill(w, p.c * p.out_c); fill(bias, p.out_c);
        check_conv("pwconv (oc, c, pixels)", cnnc_f32_pwconv__ref,
                   EXACT(cnnc_f32_pwconv__neon), cnnc_f32_pwconv_fast__neon, &p, (oi + pi) % 2,
                   p.out_c, p.c, pi);
    }
    { /* 24 = a 16-channel strip then an 8-channel one, both in assembly tiles (AArch64) */
        cnnc_f32_conv_params p = geom(1, 5, 9, 17, 24, one);
        p.act = act_of(2);
        fill(x, p.n * p.h * p.w * p.c); fill(w, p.c * p.out_c); fill(bias, p.out_c);
        check_conv("pwconv (oc, c, pixels)", cnnc_f32_pwconv__ref,
                   EXACT(cnnc_f32_pwconv__neon), cnnc_f32_pwconv_fast__neon, &p, 1,
                   p.out_c, p.c, 4);
    }
}

/* The AArch64 assembly runs of 1x1 taps (f32_neon_run): 16- and 8-channel strips
 * (out_c 8, 16, 24, 40), input channels a multiple of 4 up to 48 (a long k loop), pixel
 * counts below, at and off the 4-pixel tiles, every activation; and the same shapes as a
 * strided 1x1 conv through conv_oc8 (its C tiles). */
static void run_cases(void) {
    static const int32_t ocs[] = {8, 16, 24, 40}, cs[] = {4, 8, 48};
    static const int32_t px[4][3] = {{1, 1, 4}, {1, 1, 7}, {1, 3, 3}, {2, 3, 5}};
    static const int32_t s2[10] = {1, 1, 2, 2, 1, 1, 0, 0, 0, 0};
    int oi, ci, pi;
    for (oi = 0; oi < 4; ++oi) for (ci = 0; ci < 3; ++ci) for (pi = 0; pi < 4; ++pi) {
        cnnc_f32_conv_params p = geom(px[pi][0], px[pi][1], px[pi][2], cs[ci], ocs[oi], one);
        p.act = act_of(oi + ci + pi);
        fill(x, p.n * p.h * p.w * p.c); fill(w, p.c * p.out_c); fill(bias, p.out_c);
        check_conv("run pwconv (oc, c, pixels)", cnnc_f32_pwconv__ref,
                   EXACT(cnnc_f32_pwconv__neon), cnnc_f32_pwconv_fast__neon, &p, (oi + pi) % 2,
                   p.out_c, p.c, pi);
        p = geom(px[pi][0], 2 * px[pi][1], 2 * px[pi][2] + 1, cs[ci], ocs[oi], s2);
        p.act = act_of(oi + ci + pi + 1);
        fill(x, p.n * p.h * p.w * p.c);
        check_conv("run conv 1x1/2 (oc, c, pixels)", cnnc_f32_conv_oc8__ref,
                   EXACT(cnnc_f32_conv_oc8__neon), cnnc_f32_conv_oc8_fast__neon, &p, oi % 2,
                   p.out_c, p.c, pi);
    }
}

static void dwconv_cases(void) {
    static const int32_t geos[7][10] = {
        {3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
        {3, 3, 1, 1, 1, 1, 0, 0, 0, 0}, {3, 3, 2, 2, 1, 1, 0, 1, 2, 0},
        {5, 5, 2, 2, 1, 1, 2, 2, 2, 2}, {3, 3, 1, 1, 2, 2, 2, 2, 2, 2},
        {2, 3, 1, 2, 2, 1, 0, 1, 1, 0}};
    static const int32_t sizes[3][3] = {{1, 1, 1}, {1, 7, 9}, {2, 12, 11}};
    int ci, gi, si;
    for (ci = 0; ci < 11; ++ci) for (gi = 0; gi < 7; ++gi) for (si = 0; si < 3; ++si) {
        const int32_t *g = geos[gi];
        cnnc_f32_conv_params p;
        const int32_t h = sizes[si][1], wd = sizes[si][2];
        if (h + g[6] + g[8] < g[4] * (g[0] - 1) + 1 || wd + g[7] + g[9] < g[5] * (g[1] - 1) + 1)
            continue;
        p = geom(sizes[si][0], h, wd, chans[ci], chans[ci], g);
        p.groups = p.c;
        p.act = act_of(ci + gi + si);
        fill(x, p.n * p.h * p.w * p.c); fill(w, g[0] * g[1] * p.c); fill(bias, p.c);
        if (gi < 4)
            check_conv("dwconv3x3 (c, geometry, size)", cnnc_f32_dwconv3x3__ref,
                       EXACT(cnnc_f32_dwconv3x3__neon), cnnc_f32_dwconv3x3_fast__neon, &p,
                       ci % 2, p.c, gi, si);
        check_conv("dwconv (c, geometry, size)", cnnc_f32_dwconv__ref,
                   EXACT(cnnc_f32_dwconv__neon), cnnc_f32_dwconv_fast__neon, &p, ci % 2, p.c,
                   gi, si);
    }
}

static void conv_cases(void) {
    static const int32_t geos[6][10] = {
        {1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
        {3, 3, 2, 2, 1, 1, 1, 1, 1, 1}, {3, 5, 2, 1, 1, 1, 1, 2, 1, 2},
        {3, 3, 1, 1, 2, 2, 2, 2, 2, 2}, {2, 3, 1, 2, 2, 1, 0, 1, 1, 0}};
    static const int32_t sizes[3][3] = {{1, 1, 1}, {1, 5, 7}, {2, 9, 13}};
    static const int32_t cs[] = {1, 3, 4, 9};
    int oi, ci, gi, si;
    for (oi = 0; oi < 11; ++oi) for (ci = 0; ci < 4; ++ci) for (gi = 0; gi < 6; ++gi)
    for (si = 0; si < 3; ++si) {
        const int32_t *g = geos[gi];
        cnnc_f32_conv_params p;
        const int32_t h = sizes[si][1], wd = sizes[si][2];
        if (h + g[6] + g[8] < g[4] * (g[0] - 1) + 1 || wd + g[7] + g[9] < g[5] * (g[1] - 1) + 1)
            continue;
        p = geom(sizes[si][0], h, wd, cs[ci], chans[oi], g);
        p.act = act_of(oi + ci + gi + si);
        fill(x, p.n * p.h * p.w * p.c); fill(w, g[0] * g[1] * p.c * p.out_c);
        fill(bias, p.out_c);
        check_conv("conv_oc8 (oc, c, geometry)", cnnc_f32_conv_oc8__ref,
                   EXACT(cnnc_f32_conv_oc8__neon), cnnc_f32_conv_oc8_fast__neon, &p, oi % 2,
                   p.out_c, p.c, gi);
    }
}

/* NaN, inf, -0, 6, huge and subnormal values in x, w and bias, every activation. */
static void special_cases(void) {
    static const int32_t s2[10] = {3, 3, 2, 2, 1, 1, 1, 1, 1, 1};
    static const int32_t d1[10] = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
    int a, mode;
    for (mode = 1; mode <= 2; ++mode) for (a = 0; a < 6; ++a) {
        cnnc_f32_conv_params p;
        const int exact = mode == 1;
        special = mode;
#define RUN(ref, ex, fa)                                                         \
    do {                                                                         \
        const int32_t size = p.n * p.out_h * p.out_w * p.out_c;                  \
        ref(&p, x, w, bias, y_ref);                                              \
        prepare(size);                                                           \
        if (exact && EXACT(ex) == NULL) break;                                   \
        (exact ? (conv_fn *)EXACT(ex) : fa)(&p, x, w, bias, y_v);                \
        compare("special (act, mode)", size, exact, a, mode, p.kernel_h);        \
    } while (0)
        p = geom(1, 6, 7, 17, 17, one); p.act = act_of(a);
        fill(x, 6 * 7 * 17); fill(w, 17 * 17); fill(bias, 17);
        RUN(cnnc_f32_pwconv__ref, cnnc_f32_pwconv__neon, cnnc_f32_pwconv_fast__neon);
        p = geom(1, 6, 7, 16, 24, one); p.act = act_of(a); /* the assembly runs */
        fill(x, 6 * 7 * 16); fill(w, 16 * 24); fill(bias, 24);
        RUN(cnnc_f32_pwconv__ref, cnnc_f32_pwconv__neon, cnnc_f32_pwconv_fast__neon);
        p = geom(1, 6, 7, 17, 17, d1); p.groups = 17; p.act = act_of(a);
        fill(x, 6 * 7 * 17); fill(w, 9 * 17); fill(bias, 17);
        RUN(cnnc_f32_dwconv3x3__ref, cnnc_f32_dwconv3x3__neon, cnnc_f32_dwconv3x3_fast__neon);
        p = geom(1, 6, 7, 17, 17, s2); p.act = act_of(a);
        fill(x, 6 * 7 * 17); fill(w, 9 * 17 * 17); fill(bias, 17);
        RUN(cnnc_f32_conv_oc8__ref, cnnc_f32_conv_oc8__neon, cnnc_f32_conv_oc8_fast__neon);
    }
    special = 0;
}

/* Outputs of +0 and -0 (bias -0, x all signed zeros: an output is -0 when every product
 * is), where max/min instructions and the scalar comparisons could differ, through every
 * activation and a clip to [0, 6]; 16- and 8-channel strips, 3 tiles and 3 pixels. */
static void zero_cases(void) {
    int a, i;
    for (a = 0; a < 7; ++a) {
        cnnc_f32_conv_params p = geom(1, 3, 5, 4, 24, one);
        p.act = act_of(a);
        if (a == 6) { p.act.kind = CNNC_ACT_CLIP; p.act.min = 0.0f; p.act.max = 6.0f; }
        for (i = 0; i < 3 * 5 * 4; ++i) x[i] = i % 7 ? -0.0f : 0.0f;
        fill(w, 4 * 24);
        for (i = 0; i < 24; ++i) bias[i] = -0.0f;
        check_conv("signed zeros (act)", cnnc_f32_pwconv__ref, EXACT(cnnc_f32_pwconv__neon),
                   cnnc_f32_pwconv_fast__neon, &p, 1, a, 0, 0);
    }
}

int main(void) {
    dense_cases();
    pwconv_cases();
    run_cases();
    dwconv_cases();
    conv_cases();
    special_cases();
    zero_cases();
    printf("%d cases, %d failures\n", cases, failures);
    return failures != 0;
}
"""


KERNEL_FILES = ("f32_conv.c", "f32_dense.c", "f32_conv_neon.c", "f32_conv_fast_neon.c")
# fused multiply-add in a disassembly (AArch64 FMLA/FMLS/FMADD..., ARMv7 VFMA/VFMS)
FMA = {"aarch64": re.compile(r"\bfml[as]\b|\bfn?m(add|sub)\b"), "arm": re.compile(r"\bvfm[as]")}


@pytest.mark.parametrize("target", ["aarch64", "armv7", "armv7-neon"])
def test_f32_neon_equals_ref_under_qemu(tmp_path, target):
    """The grid above under qemu; the kernel objects it links are also disassembled: the
    exact one holds no fused multiply-add, the fast one does where the target has FMA
    (aarch64, armv7's VFPv4; plain armv7 NEON chains VMLA), so the check can see one."""
    t = require_target(target)
    kernels = runtime_dir() / "kernels"
    cc = [targets.target_cc(t), *cross.build_flags(t), f"-I{runtime_dir() / 'include'}"]
    objects = {}
    for name in KERNEL_FILES:
        objects[name] = tmp_path / f"{name}.o"
        proc = subprocess.run([*cc, "-c", str(kernels / name), "-o", str(objects[name])],
                              capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    driver = tmp_path / "driver.c"
    driver.write_text(DRIVER)
    exe = tmp_path / "driver"
    proc = subprocess.run([*cc, *map(str, objects.values()), str(driver), "-o", str(exe), "-lm"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr

    objdump = targets.target_cc(t).replace("gcc", "objdump")
    fma = FMA["aarch64" if target == "aarch64" else "arm"]
    asm = {name: subprocess.run([objdump, "-d", str(objects[name])], capture_output=True,
                                text=True, check=True).stdout
           for name in ("f32_conv_neon.c", "f32_conv_fast_neon.c")}  # fmt: skip
    assert not fma.search(asm["f32_conv_neon.c"]), "FMA in the exact NEON kernels"
    assert bool(fma.search(asm["f32_conv_fast_neon.c"])) == (target != "armv7-neon"), (
        "fast NEON kernels: FMA expected exactly where the target has it"
    )
    if target == "aarch64":
        assert "fmul" in asm["f32_conv_neon.c"], "the exact NEON kernels were not compiled in"

    run = subprocess.run([t.qemu, "-L", t.sysroot, str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    m = re.search(r"(\d+) cases, 0 failures", run.stdout)
    assert m, run.stdout
    # every grid point ran (exact and fast on aarch64, fast only on armv7)
    assert int(m.group(1)) > (2500 if target == "aarch64" else 1300), run.stdout
