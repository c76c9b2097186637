/* ARMv8.2 dot-product (SDOT) variants of the int8 dense, pointwise and general conv
 * (cnnc_s8_*__neondot), bit-exact to their __ref kernels, for cores with the dot product
 * (Cortex-A55/A76: Raspberry Pi 5). Selected at run time where the CPU reports it
 * (cnnc_cpu.h: CNNC_CPU_DOTPROD from getauxval(AT_HWCAP) & HWCAP_ASIMDDP on Linux), or
 * always where the build targets it (__ARM_FEATURE_DOTPROD). GCC compiles the functions
 * for armv8.2-a+dotprod through the target attribute whatever the build's -march; clang 14's
 * arm_neon.h offers the dot intrinsics only where the build targets them, so there the file
 * is empty unless -march has +dotprod (the row's guard in cnnc.ops.variants says the same).
 *
 * Tile: 5 rows of x (pixels) by 16 outputs, 20 int32x4 accumulators (4 weight and 5 x
 * registers besides: 29 of the 32; a fifth row shares the weight loads and the block's
 * constants among more outputs than 4 rows did). SDOT by element adds
 * to each int32 lane the dot product of 4 weights (4 consecutive inputs of one output) with
 * 4 bytes of x (the same 4 inputs of one row): per 16 inputs and row one load of x, per 4
 * inputs one load of 4 weight vectors shared by the rows, and 4 SDOT per row (64 MACs).
 * The weights (blob layout w[K][ldw], unchanged) are transposed per block of 16 outputs
 * into a panel on the stack, [K/4][16 outputs][4 inputs], zero past K and past the block's
 * outputs, reused by every row. Blocks of 16 outputs with the _NEG roundings (shifts < 0)
 * and at least 16 inputs run their tiles in one inline-assembly block (s8da_tiles); the C
 * kernel (s8d_kernel) runs the others.
 *
 * Exactness. SDOT multiplies int8 by int8, so x enters raw (x - zp spans [-255, 255]):
 * the kernel computes init[o] + sum_i x[i] * w[i][o] with init[o] = bias[o] - zp * sum_i
 * w[i][o], every addition modulo 2^32 (NEON integer adds wrap; each SDOT's 4 products are
 * at most 4 * 128 * 127 in magnitude). Modulo 2^32 that equals bias[o] + sum_i (x[i] - zp) *
 * w[i][o], __ref's sum, which the compiler proved to lie in int32 (cnnc.passes.quantize,
 * check_accumulator). Two int32 values congruent modulo 2^32 are equal, so the accumulator
 * is __ref's exactly whatever the intermediate wrap-arounds. Conv padding taps gather x's
 * zero point (from the padded input window, s8_win_neon.h), which adds zp * w here and
 * - zp * w through init: 0, as __ref skips them. Zero weights past K or past the outputs add
 * nothing. The conv gathers its pixels band by band from that window, in batches of rows
 * that every packed block of outputs then reads.
 *
 * Convs whose K does not fit the panel or gather buffers or whose pixel's window does not
 * fit its buffer, and dense layers of fewer than 4 rows (the transposition would cost more
 * than it saves) run cnnc_s8_conv__neon / cnnc_s8_dense__neon. */
#include <stddef.h>

#include "cnnc_s8.h"
#include "s8_conv_loops.h" /* s8_pwconv_as_dense only: no tile hooks defined */
#include "s8_gemm_neon.h"
#include "s8_win_neon.h"

/* the row's guard, cnnc.ops.variants.NEONDOT (clang reports __GNUC__ 4) */
#if defined(__aarch64__) && (defined(__ARM_FEATURE_DOTPROD) || __GNUC__ >= 10)
#include <arm_neon.h>

#if defined(__ARM_FEATURE_DOTPROD)
#define S8D_TARGET
#else
#define S8D_TARGET __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

#define S8D_ROWS 5
#define S8D_COLS 16
#define S8D_PANEL 32768 /* bytes: K up to 2037 per block of 16 outputs */
/* past k * 16 bytes: the weights to a multiple of 4 inputs (48), the multipliers and shifts */
#define S8D_PANEL_EXTRA (3 * S8D_COLS + 128)
#define S8D_GATHER 16384 /* bytes of gathered pixels (rows of K rounded up to 16) */
#define S8D_WINDOW 16384 /* bytes of the padded input window (s8_win_neon.h) */
#define S8D_BLOCKS 4     /* blocks of 16 outputs a conv's gathered pixels serve at once */

/* One block of up to 16 outputs: its zero-point-folded start values and requantisation
 * constants (derived once per block, s8g_rq_init where the C kernel runs), padded to 16 lanes. */
typedef struct {
    int32_t init[S8D_COLS], mult[S8D_COLS], shift[S8D_COLS];
    int16_t zp[8];                     /* the output zero point, for the assembly (s8da_tiles) */
    int8_t lo[S8D_COLS], hi[S8D_COLS]; /* the clamp bounds, likewise */
    int64_t full;   /* bytes of the panel's whole groups of 16 inputs (k / 16 * 256) */
    int64_t steps;  /* lane steps of the last k % 16 inputs: ceil(k % 16 / 4) */
    int64_t read;   /* bytes of x read per row: k rounded up to 16 */
    int64_t rewind; /* -(the panel's bytes + 64): back to its start from its multipliers */
    s8g_rq q[2];    /* lanes 0..7 and 8..15, for the block's rounding rnd */
    int32_t rnd;    /* the rounding, or the shorter form its shifts allow (as s8g_rounding) */
    int clamp;      /* 0: the clamp is the int8 range, which the narrowing to int8 applies */
    int q_ready;    /* q made (s8d_block_q) */
} s8d_block;

/* Weight row i of a block of nb outputs, zeros past nb or past k. */
S8D_TARGET static int8x16_t s8d_row(const int8_t *w, size_t ldw, int32_t i, int32_t k, int32_t nb) {
    int8_t t[S8D_COLS];
    if (nb == S8D_COLS && i < k) return vld1q_s8(w + (size_t)i * ldw);
    memset(t, 0, sizeof t);
    if (i < k) memcpy(t, w + (size_t)i * ldw, (size_t)nb);
    return vld1q_s8(t);
}

/* panel[(i / 4) * 64 + o * 4 + i % 4] = w[i * ldw + o] (0 past k or nb), i < round4(k),
 * o < 16: 4 rows at a time, interleaved by ST4; then b->init[o] = bias[o] - zp * sum_i
 * w[i][o] modulo 2^32 (0 past nb), the sums by SDOT of the panel with ones, 4 outputs per
 * vector; the block's constants. */
S8D_TARGET static void s8d_pack(const int8_t *w, size_t ldw, int32_t k, int32_t nb,
                                const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                const s8g_out *o, int8_t *panel, s8d_block *b) {
    const int8x16_t ones = vdupq_n_s8(1);
    const int32x4_t zp = vdupq_n_s32(o->x_zero_point);
    int32x4_t sum0 = vdupq_n_s32(0), sum1 = sum0, sum2 = sum0, sum3 = sum0;
    int8_t *pp = panel, *const end = panel + (size_t)(k + 3) / 4 * 64;
    int32_t i = 0, j;
    int8x16x4_t r;
/* the group just stored at pp, read back as 4 vectors of 4 outputs: their weight sums */
#define S8D_SUMS                                                          \
    do {                                                                  \
        const int8x16x4_t q = vld1q_s8_x4(pp);                            \
        sum0 = vdotq_s32(sum0, q.val[0], ones);                           \
        sum1 = vdotq_s32(sum1, q.val[1], ones);                           \
        sum2 = vdotq_s32(sum2, q.val[2], ones);                           \
        sum3 = vdotq_s32(sum3, q.val[3], ones); /* |sum| <= 2048 * 128 */ \
    } while (0)
    if (nb == S8D_COLS)
        for (; i + 4 <= k; i += 4, pp += 64) {
            const int8_t *wr = w + (size_t)i * ldw;
            r.val[0] = vld1q_s8(wr);
            r.val[1] = vld1q_s8(wr + ldw);
            r.val[2] = vld1q_s8(wr + 2 * ldw);
            r.val[3] = vld1q_s8(wr + 3 * ldw);
            vst4q_s8(pp, r);
            S8D_SUMS;
        }
    for (; i < k; i += 4, pp += 64) {
        r.val[0] = s8d_row(w, ldw, i, k, nb);
        r.val[1] = s8d_row(w, ldw, i + 1, k, nb);
        r.val[2] = s8d_row(w, ldw, i + 2, k, nb);
        r.val[3] = s8d_row(w, ldw, i + 3, k, nb);
        vst4q_s8(pp, r);
        S8D_SUMS;
    }
#undef S8D_SUMS
    if (nb == S8D_COLS) {
        memcpy(b->init, bias, sizeof b->init);
        memcpy(b->mult, mult, sizeof b->mult);
        memcpy(b->shift, shift, sizeof b->shift);
    } else {
        for (j = 0; j < S8D_COLS; ++j) {
            b->init[j] = j < nb ? bias[j] : 0;
            b->mult[j] = j < nb ? mult[j] : 0;
            b->shift[j] = j < nb ? shift[j] : -1; /* any shift < 0: no output */
        }
    }
    b->clamp = o->lo != -128 || o->hi != 127;
    b->full = (int64_t)(k / 16) * 256;
    b->steps = (k % 16 + 3) / 4;
    b->read = ((int64_t)k + 15) / 16 * 16;
    b->rewind = -(int64_t)(end - panel) - 64;
    memcpy(end, b->mult, sizeof b->mult); /* for the assembly, which reads them in its stream */
    memcpy(end + sizeof b->mult, b->shift, sizeof b->shift);
    vst1q_s32(b->init, vmlsq_s32(vld1q_s32(b->init), sum0, zp)); /* wraps: see above */
    vst1q_s32(b->init + 4, vmlsq_s32(vld1q_s32(b->init + 4), sum1, zp));
    vst1q_s32(b->init + 8, vmlsq_s32(vld1q_s32(b->init + 8), sum2, zp));
    vst1q_s32(b->init + 12, vmlsq_s32(vld1q_s32(b->init + 12), sum3, zp));
    vst1q_s16(b->zp, vdupq_n_s16((int16_t)o->zero_point));
    vst1q_s8(b->lo, vdupq_n_s8((int8_t)o->lo));
    vst1q_s8(b->hi, vdupq_n_s8((int8_t)o->hi));
    if ((o->rounding == CNNC_ROUND_SINGLE || o->rounding == CNNC_ROUND_DOUBLE) &&
        vmaxvq_s32(vmaxq_s32(vmaxq_s32(vld1q_s32(b->shift), vld1q_s32(b->shift + 4)),
                             vmaxq_s32(vld1q_s32(b->shift + 8), vld1q_s32(b->shift + 12)))) < 0)
        b->rnd = o->rounding == CNNC_ROUND_SINGLE ? S8G_ROUND_SINGLE_NEG : S8G_ROUND_DOUBLE_NEG;
    else
        b->rnd = o->rounding;
    b->q_ready = 0; /* s8d_block_q, where the C kernel runs */
}

/* The C kernel's requantisation constants of the block, made once (lanes past nb: the
 * shift -1 s8d_pack gives them suits every code). */
S8D_TARGET static void s8d_block_q(s8d_block *b, const s8g_out *o) {
    if (b->q_ready) return;
    b->q_ready = 1;
    if (b->rnd == S8G_ROUND_DOUBLE_NEG) {
        s8g_rq_init(&b->q[0], b->mult, b->shift, o, S8G_ROUND_DOUBLE_NEG);
        s8g_rq_init(&b->q[1], b->mult + 8, b->shift + 8, o, S8G_ROUND_DOUBLE_NEG);
    } else if (b->rnd == S8G_ROUND_SINGLE_NEG) {
        s8g_rq_init(&b->q[0], b->mult, b->shift, o, S8G_ROUND_SINGLE_NEG);
        s8g_rq_init(&b->q[1], b->mult + 8, b->shift + 8, o, S8G_ROUND_SINGLE_NEG);
    } else if (b->rnd == CNNC_ROUND_DOUBLE || b->rnd == CNNC_ROUND_SINGLE) {
        s8g_rq_init(&b->q[0], b->mult, b->shift, o, b->rnd);
        s8g_rq_init(&b->q[1], b->mult + 8, b->shift + 8, o, b->rnd);
    }
}

/* Lane L of the x vectors (inputs 4L .. 4L + 3 of the current 16) against the panel's
 * group at wp: four weight vectors (one LD1 of four registers), four SDOT per row. */
#define S8D_ROW(R, L)                                           \
    if (rows > (R)) {                                           \
        a[R][0] = vdotq_laneq_s32(a[R][0], w.val[0], xv[R], L); \
        a[R][1] = vdotq_laneq_s32(a[R][1], w.val[1], xv[R], L); \
        a[R][2] = vdotq_laneq_s32(a[R][2], w.val[2], xv[R], L); \
        a[R][3] = vdotq_laneq_s32(a[R][3], w.val[3], xv[R], L); \
    }
#define S8D_STEP(WP, L)                                         \
    do {                                                        \
        w = vld1q_s8_x4(WP);                                    \
        S8D_ROW(0, L)                                           \
        S8D_ROW(1, L) S8D_ROW(2, L) S8D_ROW(3, L) S8D_ROW(4, L) \
    } while (0)

/* Row R's 16 (nb) outputs from its accumulators. */
#define S8D_STORE(R, RND)                                                   \
    if (rows > (R)) {                                                       \
        int8_t *const yo = y + (R)*ldy;                                     \
        if (nb == S8D_COLS && !clamp) {                                     \
            s8g_rq16n(q0, q1, a[R][0], a[R][1], a[R][2], a[R][3], RND, yo); \
        } else if (nb == S8D_COLS) {                                        \
            s8g_rq16(q0, q1, a[R][0], a[R][1], a[R][2], a[R][3], RND, yo);  \
        } else if (nb == 8) {                                               \
            s8g_rq8(q0, a[R][0], a[R][1], RND, yo);                         \
        } else {                                                            \
            int8_t t[S8D_COLS];                                             \
            s8g_rq16(q0, q1, a[R][0], a[R][1], a[R][2], a[R][3], RND, t);   \
            memcpy(yo, t, (size_t)nb);                                      \
        }                                                                   \
    }

/* Row R's start values, loaded for every row (two LDP; the empty volatile asm keeps GCC
 * from loading them once and copying them to every row, a MOV per register), its 16
 * inputs from i, its last 1..15 inputs. */
#define S8D_INIT(R)                          \
    if (rows > (R)) {                        \
        const int32_t *ip = b->init;         \
        __asm__ __volatile__("" : "+r"(ip)); \
        a[R][0] = vld1q_s32(ip);             \
        a[R][1] = vld1q_s32(ip + 4);         \
        a[R][2] = vld1q_s32(ip + 8);         \
        a[R][3] = vld1q_s32(ip + 12);        \
    }
#define S8D_XLOAD(R) \
    if (rows > (R)) xv[R] = vld1q_s8(x + (R)*ldx + i);
#define S8D_XTAIL(R) \
    if (rows > (R)) xv[R] = padded ? vld1q_s8(x + (R)*ldx + i) : s8d_xtail(x + (R)*ldx + i, k - i);

/* x[0..n) (1 <= n <= 15) and zeros: eight bytes as one load (the pointwise layers of 8 or
 * 24 inputs), other lengths by fixed-size copies (no call to memcpy for the few bytes). */
S8G_ALWAYS_INLINE int8x16_t s8d_xtail(const int8_t *x, int32_t n) {
    int8_t t[16];
    int32_t j = 0;
    if (n == 8) return vcombine_s8(vld1_s8(x), vdup_n_s8(0));
    memset(t, 0, sizeof t);
    if (n >= 8) {
        memcpy(t, x, 8);
        j = 8;
    }
    if (n - j >= 4) {
        memcpy(t + j, x + j, 4);
        j += 4;
    }
    if (n - j >= 1) t[j] = x[j];
    if (n - j >= 2) t[j + 1] = x[j + 1];
    if (n - j >= 3) t[j + 2] = x[j + 2];
    return vld1q_s8(t);
}

/* y[r * ldy + 0..nb) = requant(init + sum_i x[r * ldx + i] * w[i][.]), r < rows (a
 * constant once inlined, so the accumulators are registers), rounding RND (a constant). */
S8D_TARGET S8G_ALWAYS_INLINE void s8d_kernel(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                             const int8_t *panel, const s8d_block *b, int32_t nb,
                                             const s8g_out *o, int8_t *y, size_t ldy, int32_t rnd,
                                             int padded, int clamp) {
    int32x4_t a[S8D_ROWS][4];
    int8x16_t xv[S8D_ROWS];
    int8x16x4_t w;
    const int8_t *wp = panel;
    int32_t r, j, i;
    S8D_INIT(0) S8D_INIT(1) S8D_INIT(2) S8D_INIT(3) S8D_INIT(4);
    for (i = 0; i + 16 <= k; i += 16, wp += 4 * 64) {
        S8D_XLOAD(0) S8D_XLOAD(1) S8D_XLOAD(2) S8D_XLOAD(3) S8D_XLOAD(4);
        S8D_STEP(wp, 0);
        S8D_STEP(wp + 64, 1);
        S8D_STEP(wp + 128, 2);
        S8D_STEP(wp + 192, 3);
    }
    if (i < k) { /* 1..15 inputs left: x padded with zeros (the panel's weights are 0) */
        S8D_XTAIL(0) S8D_XTAIL(1) S8D_XTAIL(2) S8D_XTAIL(3) S8D_XTAIL(4);
        S8D_STEP(wp, 0);
        if (k - i > 4) S8D_STEP(wp + 64, 1);
        if (k - i > 8) S8D_STEP(wp + 128, 2);
        if (k - i > 12) S8D_STEP(wp + 192, 3);
    }
    if (rnd != CNNC_ROUND_ONNXRUNTIME) {
        /* s8d_pack's constants as locals: the int8 stores may alias *b */
        const s8g_rq q0v = b->q[0], q1v = b->q[1];
        const s8g_rq *const q0 = &q0v, *const q1 = &q1v;
        S8D_STORE(0, rnd) S8D_STORE(1, rnd) S8D_STORE(2, rnd) S8D_STORE(3, rnd) S8D_STORE(4, rnd)
    } else { /* the onnxruntime rounding: scalar, as __ref */
        int32_t acc[S8D_COLS];
        for (r = 0; r < rows; ++r) {
            for (j = 0; j < 4; ++j) vst1q_s32(acc + 4 * j, a[r][j]);
            for (j = 0; j < nb; ++j)
                y[r * ldy + j] = cnnc_requant_s8(acc[j], b->mult[j], b->shift[j], o->rounding,
                                                 o->zero_point, o->lo, o->hi);
        }
    }
}

/* n rows of x (ldx apart) into n rows of y (ldy apart): tiles of 5 rows, then the rest. */
S8D_TARGET S8G_ALWAYS_INLINE void s8d_rows(const int8_t *x, size_t ldx, int32_t n, int32_t k,
                                           const int8_t *panel, const s8d_block *b, int32_t nb,
                                           const s8g_out *o, int8_t *y, size_t ldy, int32_t rnd,
                                           int padded, int clamp) {
    for (; n >= S8D_ROWS; n -= S8D_ROWS, x += S8D_ROWS * ldx, y += S8D_ROWS * ldy)
        s8d_kernel(x, ldx, S8D_ROWS, k, panel, b, nb, o, y, ldy, rnd, padded, clamp);
    if (n == 4)
        s8d_kernel(x, ldx, 4, k, panel, b, nb, o, y, ldy, rnd, padded, clamp);
    else if (n == 3)
        s8d_kernel(x, ldx, 3, k, panel, b, nb, o, y, ldy, rnd, padded, clamp);
    else if (n == 2)
        s8d_kernel(x, ldx, 2, k, panel, b, nb, o, y, ldy, rnd, padded, clamp);
    else if (n == 1)
        s8d_kernel(x, ldx, 1, k, panel, b, nb, o, y, ldy, rnd, padded, clamp);
}

/* s8d_rows for clamp CL and rounding code R (constants). */
#define S8D_ROWS_AT(CL, R) s8d_rows(x, ldx, n, k, panel, b, nb, o, y, ldy, R, padded, CL)
/* The switch over the block's rounding b->rnd. */
#define S8D_ROUNDINGS(CL) S8G_BY_ROUNDING(b->rnd, S8D_ROWS_AT, CL)

/* ---- Whole tiles in one inline-assembly block (GCC and clang) ----
 * The C kernel above leaves GCC to allocate 29 of the 32 vector registers and schedule
 * around them; its loop costs a few moves and address computations per 16 inputs, its
 * start values and constants are loaded pairwise, and per tile it re-derives pointers. This
 * block runs every tile of a block of 16 outputs (5 rows each, then one of 1..4 rows) with
 * the registers named: v12..v31 the accumulators (row r, outputs 4j..4j+3: v(12 + 4r + j)),
 * v4..v8 the x rows, v0..v3 the weight group; after the inputs v0..v7 the multipliers and
 * shifts (stored past the panel by s8d_pack: the weight pointer reads on into them, then
 * steps back to the panel's start by a register post-index), and for the whole call v9..v11
 * the clamp bounds and zero point. Per 16 inputs: 5 loads of x (row 0's post-indexed, the
 * others at register offsets from it), 4 loads of 4 weight vectors (post-indexed), 80 SDOT;
 * the groups of 16 inputs run in rounds of 4 (2 instructions of loop a round), the first
 * round entered part-way by a computed branch (BR; a landing pad per group where the build
 * enables branch target identification) so that k / 16 groups run; per tile one LD1 of 4 registers
 * per row's start values (init is contiguous in s8d_block) and the requantisation in place in the
 * accumulators: the _NEG forms of s8g_rq4 (s8_gemm_neon.h states why they are
 * cnnc_requant's), narrowed to int16 with saturation, the zero point added with saturation,
 * narrowed to int8, clamped where the clamp is not the int8 range: the instructions of
 * s8g_rq16 / s8g_rq16n. Pointwise 12x12 48->96 (bench/bench_neon_kernels.py): 368
 * instructions per 5-row tile of 3840 MACs, 240 of them SDOT.
 *
 * Operands: the pointers and counts, bound to the registers the text names (local register
 * variables, which GCC and clang honour for asm operands), the block (fixed offsets,
 * checked below) and compile-time selectors; every other register is named and clobbered.
 * The last 1..15 inputs (k % 16) run ceil((k % 16) / 4) lane steps of one more 16-byte
 * load per row: the bytes of x read past k are the next row's (or the zero padding of a
 * gathered row) and meet zero weights (the panel is 0 from k to a multiple of 4); the
 * caller runs a tile here only where those 16 bytes lie inside x (s8da_fits). */
/* the block's offsets the assembly reads (a negative array size breaks the build otherwise) */
typedef char
    s8da_layout_check[(offsetof(s8d_block, mult) == 64 && offsetof(s8d_block, shift) == 128 &&
                       offsetof(s8d_block, zp) == 192 && offsetof(s8d_block, lo) == 208 &&
                       offsetof(s8d_block, hi) == 224 && offsetof(s8d_block, full) == 240 &&
                       offsetof(s8d_block, steps) == 248 && offsetof(s8d_block, read) == 256 &&
                       offsetof(s8d_block, rewind) == 264)
                          ? 1
                          : -1];

/* Builds with branch target identification (-mbranch-protection) get a landing pad (BTI j,
 * a hint: a no-op elsewhere) at each group, where the computed entry may land. */
#if defined(__ARM_FEATURE_BTI_DEFAULT)
#define S8DA_BTI "hint #36\n\t"
#else
#define S8DA_BTI
#endif

/* The assembly's macros (GAS syntax, which clang's integrated assembler reads too), defined
 * and purged inside each block so that several blocks can share a translation unit: a row's
 * 4 SDOT (accumulators A0..A3, x register X, lane L), a lane step of `rows` rows with 4 new
 * weight vectors, the rows' next 16 bytes of x (row 0's pointer x0 moves on by 16, the
 * others are register offsets from it), a row's requantisation in place (up to the int8
 * vector in its first register; %c[dbl] and %c[clamp] select), and a whole tile. */
#define S8DA_MACROS                                                                            \
    ".macro s8da_dots a0, a1, a2, a3, x, l\n\t"                                                \
    "sdot v\\a0\\().4s, v0.16b, v\\x\\().4b[\\l]\n\t"                                          \
    "sdot v\\a1\\().4s, v1.16b, v\\x\\().4b[\\l]\n\t"                                          \
    "sdot v\\a2\\().4s, v2.16b, v\\x\\().4b[\\l]\n\t"                                          \
    "sdot v\\a3\\().4s, v3.16b, v\\x\\().4b[\\l]\n\t"                                          \
    ".endm\n\t"                                                                                \
    ".macro s8da_step rows, l\n\t"                                                             \
    "ld1 {v0.16b, v1.16b, v2.16b, v3.16b}, [x11], #64\n\t"                                     \
    "s8da_dots 12, 13, 14, 15, 4, \\l\n\t"                                                     \
    ".if \\rows > 1\n\ts8da_dots 16, 17, 18, 19, 5, \\l\n\t.endif\n\t"                         \
    ".if \\rows > 2\n\ts8da_dots 20, 21, 22, 23, 6, \\l\n\t.endif\n\t"                         \
    ".if \\rows > 3\n\ts8da_dots 24, 25, 26, 27, 7, \\l\n\t.endif\n\t"                         \
    ".if \\rows > 4\n\ts8da_dots 28, 29, 30, 31, 8, \\l\n\t.endif\n\t"                         \
    ".endm\n\t"                                                                                \
    ".macro s8da_x rows\n\t"                                                                   \
    ".if \\rows > 1\n\tldr q5, [x0, x1]\n\t.endif\n\t"                                         \
    ".if \\rows > 2\n\tldr q6, [x0, x2]\n\t.endif\n\t"                                         \
    ".if \\rows > 3\n\tldr q7, [x0, x3]\n\t.endif\n\t"                                         \
    ".if \\rows > 4\n\tldr q8, [x0, x4]\n\t.endif\n\t"                                         \
    "ldr q4, [x0], #16\n\t"                                                                    \
    ".endm\n\t"                                                                                \
    ".macro s8da_group rows\n\t" S8DA_BTI                                                      \
    "s8da_x \\rows\n\t"                                                                        \
    "s8da_step \\rows, 0\n\ts8da_step \\rows, 1\n\t"                                           \
    "s8da_step \\rows, 2\n\ts8da_step \\rows, 3\n\t"                                           \
    ".endm\n\t"                                                                                \
    ".macro s8da_rq a, b, c, d\n\t"                                                            \
    ".if %c[dbl]\n\t"                                                                          \
    "sqrdmulh v\\a\\().4s, v\\a\\().4s, v0.4s\n\tsqrdmulh v\\b\\().4s, v\\b\\().4s, v1.4s\n\t" \
    "sqrdmulh v\\c\\().4s, v\\c\\().4s, v2.4s\n\tsqrdmulh v\\d\\().4s, v\\d\\().4s, v3.4s\n\t" \
    "ssra v\\a\\().4s, v\\a\\().4s, #31\n\tssra v\\b\\().4s, v\\b\\().4s, #31\n\t"             \
    "ssra v\\c\\().4s, v\\c\\().4s, #31\n\tssra v\\d\\().4s, v\\d\\().4s, #31\n\t"             \
    ".else\n\t"                                                                                \
    "sqdmulh v\\a\\().4s, v\\a\\().4s, v0.4s\n\tsqdmulh v\\b\\().4s, v\\b\\().4s, v1.4s\n\t"   \
    "sqdmulh v\\c\\().4s, v\\c\\().4s, v2.4s\n\tsqdmulh v\\d\\().4s, v\\d\\().4s, v3.4s\n\t"   \
    ".endif\n\t"                                                                               \
    "srshl v\\a\\().4s, v\\a\\().4s, v4.4s\n\tsrshl v\\b\\().4s, v\\b\\().4s, v5.4s\n\t"       \
    "srshl v\\c\\().4s, v\\c\\().4s, v6.4s\n\tsrshl v\\d\\().4s, v\\d\\().4s, v7.4s\n\t"       \
    "sqxtn v\\a\\().4h, v\\a\\().4s\n\tsqxtn2 v\\a\\().8h, v\\b\\().4s\n\t"                    \
    "sqxtn v\\c\\().4h, v\\c\\().4s\n\tsqxtn2 v\\c\\().8h, v\\d\\().4s\n\t"                    \
    "sqadd v\\a\\().8h, v\\a\\().8h, v11.8h\n\tsqadd v\\c\\().8h, v\\c\\().8h, v11.8h\n\t"     \
    "sqxtn v\\a\\().8b, v\\a\\().8h\n\tsqxtn2 v\\a\\().16b, v\\c\\().8h\n\t"                   \
    ".if %c[clamp]\n\t"                                                                        \
    "smax v\\a\\().16b, v\\a\\().16b, v9.16b\n\tsmin v\\a\\().16b, v\\a\\().16b, v10.16b\n\t"  \
    ".endif\n\t"                                                                               \
    ".endm\n\t"                                                                                \
    ".macro s8da_tile rows\n\t"                                                                \
    "ld1 {v12.4s, v13.4s, v14.4s, v15.4s}, [x12]\n\t"                                          \
    ".if \\rows > 1\n\tld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [x12]\n\t.endif\n\t"              \
    ".if \\rows > 2\n\tld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [x12]\n\t.endif\n\t"              \
    ".if \\rows > 3\n\tld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [x12]\n\t.endif\n\t"              \
    ".if \\rows > 4\n\tld1 {v28.4s, v29.4s, v30.4s, v31.4s}, [x12]\n\t.endif\n\t"              \
    ".if \\rows == 5\n\t" /* 4 groups a round, entered at the first of k / 16 (x21) */         \
    "br x21\n\t"                                                                               \
    "6:\n\ts8da_group 5\n\t7:\n\ts8da_group 5\n\ts8da_group 5\n\ts8da_group 5\n\t"             \
    "cmp x11, x16\n\tb.ne 6b\n\t"                                                              \
    ".else\n\t"                                                                                \
    "2:\n\ts8da_group \\rows\n\tcmp x11, x16\n\tb.ne 2b\n\t"                                   \
    ".endif\n\t"                                                                               \
    "cbz x20, 3f\n\t" /* the last 1..15 inputs: 1..4 lane steps */                             \
    "s8da_x \\rows\n\ts8da_step \\rows, 0\n\t"                                                 \
    "cmp x20, #2\n\tb.lt 3f\n\t"                                                               \
    "s8da_step \\rows, 1\n\tb.eq 3f\n\t"                                                       \
    "s8da_step \\rows, 2\n\tcmp x20, #4\n\tb.lt 3f\n\t"                                        \
    "s8da_step \\rows, 3\n\t"                                                                  \
    "3:\n\t"                                                                                   \
    "ld1 {v0.4s, v1.4s, v2.4s, v3.4s}, [x11], #64\n\t" /* past the panel: mult, shift */       \
    "ld1 {v4.4s, v5.4s, v6.4s, v7.4s}, [x11], x24\n\t" /* and back to the panel's start */     \
    "s8da_rq 12, 13, 14, 15\n\tstr q12, [x5]\n\t"                                              \
    ".if \\rows > 1\n\ts8da_rq 16, 17, 18, 19\n\tstr q16, [x5, x6]\n\t.endif\n\t"              \
    ".if \\rows > 2\n\ts8da_rq 20, 21, 22, 23\n\tstr q20, [x5, x7]\n\t.endif\n\t"              \
    ".if \\rows > 3\n\ts8da_rq 24, 25, 26, 27\n\tstr q24, [x5, x8]\n\t.endif\n\t"              \
    ".if \\rows > 4\n\ts8da_rq 28, 29, 30, 31\n\tstr q28, [x5, x9]\n\t.endif\n\t"              \
    ".endm\n\t"
#define S8DA_PURGE                                                                       \
    ".purgem s8da_dots\n\t.purgem s8da_step\n\t.purgem s8da_x\n\t.purgem s8da_group\n\t" \
    ".purgem s8da_rq\n\t"                                                                \
    ".purgem s8da_tile\n\t"

/* `tiles` tiles of 5 rows (x rows ldx apart, y rows ldy apart), then one of `last` rows
 * (0..4); dbl: the rounding is S8G_ROUND_DOUBLE_NEG (else _SINGLE_NEG), clamp: the clamp is
 * not the int8 range (the last three constants once inlined). */
S8D_TARGET S8G_ALWAYS_INLINE void s8da_tiles(const int8_t *x, size_t ldx, int8_t *y, size_t ldy,
                                             int64_t tiles, const int8_t *panel, const s8d_block *b,
                                             int last, int dbl, int clamp) {
    register const int8_t *x0 __asm__("x0") = x;
    register size_t x1 __asm__("x1") = ldx;
    register int8_t *x5 __asm__("x5") = y;
    register size_t x6 __asm__("x6") = ldy;
    register const int8_t *x10 __asm__("x10") = panel;
    register const s8d_block *x12 __asm__("x12") = b;
    register int64_t x15 __asm__("x15") = tiles;
    __asm__ __volatile__(
        S8DA_MACROS
        "add x2, x1, x1\n\t"
        "add x3, x2, x1\n\t"
        "add x4, x2, x2\n\t"
        "add x7, x6, x6\n\t"
        "add x8, x7, x6\n\t"
        "add x9, x7, x7\n\t"
        "add x19, x9, x6\n\t" /* 5 * ldy */
        "mov x11, x10\n\t"
        "ldr x24, [x12, #264]\n\t"
        "ldr x16, [x12, #240]\n\t"
        "adr x21, 6f\n\t" /* the 5-row tiles' entry: group 4 - k / 16 % 4 of the round */
        "adr x22, 7f\n\t"
        "sub x22, x22, x21\n\t"
        "neg x23, x16, lsr #8\n\t"
        "and x23, x23, #3\n\t"
        "madd x21, x23, x22, x21\n\t"
        "add x16, x16, x10\n\t" /* the end of the whole groups of 16 inputs */
        "ldr x20, [x12, #248]\n\t"
        "ldr x17, [x12, #256]\n\t"
        "add x22, x4, x1\n\t"
        "sub x17, x22, x17\n\t"    /* 5 * ldx - the bytes read per row */
        "ldr q11, [x12, #192]\n\t" /* the zero point and clamp: v9..v11, which no tile uses */
        ".if %c[clamp]\n\tldr q9, [x12, #208]\n\tldr q10, [x12, #224]\n\t.endif\n\t"
        "cbz x15, 5f\n\t"
        "1:\n\t"
        "s8da_tile 5\n\t"
        "add x0, x0, x17\n\t"
        "add x5, x5, x19\n\t"
        "subs x15, x15, #1\n\t"
        "b.ne 1b\n\t"
        "5:\n\t"
        ".if %c[last]\n\ts8da_tile %c[last]\n\t.endif\n\t" S8DA_PURGE
        : "+r"(x0), "+r"(x5), "+r"(x15)
        : "r"(x1), "r"(x6), "r"(x10), "r"(x12), [last] "i"(last), [dbl] "i"(dbl), [clamp] "i"(clamp)
        : "x2", "x3", "x4", "x7", "x8", "x9", "x11", "x16", "x17", "x19", "x20", "x24", "x21",
          "x22", "x23", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11",
          "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",
          "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory");
}

/* Whether s8da_tiles can run a tile of `rows` rows of x from row t of n (ldx apart; padded:
 * the gathered conv rows, zero to a multiple of 16 inputs inside their buffer): a block of
 * 16 outputs with a _NEG rounding and at least 16 inputs, and unless padded, its last row's
 * read (k rounded up to 16 bytes) inside x. */
static int s8da_fits(int32_t t, int32_t rows, int32_t n, size_t ldx, const s8d_block *b, int32_t nb,
                     int padded) {
    if (nb != S8D_COLS || b->full == 0 ||
        (b->rnd != S8G_ROUND_SINGLE_NEG && b->rnd != S8G_ROUND_DOUBLE_NEG))
        return 0;
    return padded || (size_t)(t + rows - 1) * ldx + (size_t)b->read <= (size_t)n * ldx;
}

#define S8DA_CASE(L, D, C)                                    \
    case 4 * (L) + 2 * (D) + (C):                             \
        s8da_tiles(x, ldx, y, ldy, tiles, panel, b, L, D, C); \
        break;
#define S8DA_CASES(L) S8DA_CASE(L, 0, 0) S8DA_CASE(L, 0, 1) S8DA_CASE(L, 1, 0) S8DA_CASE(L, 1, 1)

/* The rows [0, done) of n that the assembly runs (s8da_tiles), done returned: whole tiles
 * while they fit, then the last 1..4 rows if they do. */
S8D_TARGET static int32_t s8da_rows(const int8_t *x, size_t ldx, int32_t n, const int8_t *panel,
                                    const s8d_block *b, int32_t nb, int8_t *y, size_t ldy,
                                    int padded) {
    int32_t tiles = n / S8D_ROWS, last = n % S8D_ROWS;
    if (!s8da_fits(0, 1, n, ldx, b, nb, padded)) return 0;
    if (!s8da_fits(S8D_ROWS * tiles, last, n, ldx, b, nb, padded)) {
        last = 0;
        while (tiles > 0 && !s8da_fits(S8D_ROWS * (tiles - 1), S8D_ROWS, n, ldx, b, nb, padded))
            --tiles;
    }
    if (tiles == 0 && last == 0) return 0;
    switch (4 * last + 2 * (b->rnd == S8G_ROUND_DOUBLE_NEG) + b->clamp) {
        S8DA_CASES(0)
        S8DA_CASES(1)
        S8DA_CASES(2)
        S8DA_CASES(3)
        S8DA_CASES(4)
        default: /* last is 0..4 */
            break;
    }
    return S8D_ROWS * tiles + last;
}

/* s8d_rows specialised per rounding (the block's rnd) and whether the clamp is needed.
 * GCC's scheduling before register allocation hoists the weight loads of later steps and
 * spills accumulators to make room (as in s8_gemm_neon.h), so it is off here. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-schedule-insns")))
#endif
S8D_TARGET static void
s8d_tile(const int8_t *x, size_t ldx, int32_t n, int32_t k, const int8_t *panel, const s8d_block *b,
         int32_t nb, const s8g_out *o, int8_t *y, size_t ldy, int padded) {
    if (b->clamp) {
        S8D_ROUNDINGS(1)
    } else {
        S8D_ROUNDINGS(0)
    }
}

static s8g_out s8d_out(int32_t x_zero_point, int32_t rounding, int32_t zero_point, int32_t lo,
                       int32_t hi) {
    s8g_out o;
    o.x_zero_point = x_zero_point;
    o.rounding = rounding;
    o.zero_point = zero_point;
    o.lo = lo;
    o.hi = hi;
    return o;
}

void cnnc_s8_dense__neondot(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift,
                            int8_t *y) {
    int8_t panel[S8D_PANEL];
    s8d_block blk;
    const s8g_out o =
        s8d_out(p->x_zero_point, p->rounding, p->y_zero_point, p->act_min, p->act_max);
    int32_t o0;
    /* the transposed panel pays only when rows reuse it (4 or more) */
    if (p->n < 4 || (size_t)p->k * S8D_COLS + S8D_PANEL_EXTRA > S8D_PANEL) {
        cnnc_s8_dense__neon(p, x, w, bias, mult, shift, y);
        return;
    }
    for (o0 = 0; o0 < p->m; o0 += S8D_COLS) {
        const int32_t nb = p->m - o0 < S8D_COLS ? p->m - o0 : S8D_COLS;
        s8d_pack(w + o0, (size_t)p->m, p->k, nb, bias + o0, mult + o0, shift + o0, &o, panel, &blk);
        const int32_t done =
            s8da_rows(x, (size_t)p->k, p->n, panel, &blk, nb, y + o0, (size_t)p->m, 0);
        if (done < p->n) {
            s8d_block_q(&blk, &o);
            s8d_tile(x + (size_t)done * p->k, (size_t)p->k, p->n - done, p->k, panel, &blk, nb, &o,
                     y + (size_t)done * p->m + o0, (size_t)p->m, 0);
        }
    }
}

void cnnc_s8_pwconv__neondot(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                             const int32_t *bias, const int32_t *mult, const int32_t *shift,
                             int8_t *y) {
    const cnnc_s8_dense_params dense = s8_pwconv_as_dense(p);
    cnnc_s8_dense__neondot(&dense, x, w, bias, mult, shift, y);
}

void cnnc_s8_conv__neondot(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift,
                           int8_t *y) {
    const int32_t cg = p->c / p->groups, og = p->out_c / p->groups;
    const int32_t k = p->kernel_h * p->kernel_w * cg;
    const size_t group_size = (size_t)k * og;
    const size_t stride = (size_t)k * S8D_COLS + S8D_PANEL_EXTRA; /* one block's panel */
    const size_t ldx = ((size_t)k + 15) / 16 * 16;                /* a gathered row, zero past k */
    int8_t cols[S8D_GATHER], win[S8D_WINDOW];
    int8_t panel[S8D_PANEL];
    s8d_block blk[S8D_BLOCKS];
    const s8g_out o =
        s8d_out(p->x_zero_point, p->rounding, p->y_zero_point, p->act_min, p->act_max);
    s8w_plan pl;
    int32_t g, o0, r, nblk, j, batch, first;
    s8w_band bd;
    if (ldx * S8D_ROWS > S8D_GATHER || stride > S8D_PANEL || !s8w_plan_for(p, S8D_WINDOW, &pl)) {
        cnnc_s8_conv__neon(p, x, w, bias, mult, shift, y);
        return;
    }
    /* blocks of 16 outputs packed side by side, as many as the panel holds (up to
     * S8D_BLOCKS): each batch of gathered pixels serves them all */
    nblk = (int32_t)(S8D_PANEL / stride) < S8D_BLOCKS ? (int32_t)(S8D_PANEL / stride) : S8D_BLOCKS;
    batch = (int32_t)(S8D_GATHER / ldx) / S8D_ROWS * S8D_ROWS;
    /* the gathered rows padded with zeros to a multiple of 16 inputs, read whole by the
     * tile (the panel's weights there are 0 anyway): the gather writes only [0, k) */
    for (r = 0; r < batch; ++r) memset(cols + r * ldx + k, 0, ldx - (size_t)k);
    for (g = 0; g < p->groups; ++g) {
        const int8_t *wg = w + (size_t)g * group_size; /* [k][og] */
        for (o0 = 0; o0 < og; o0 += S8D_COLS * nblk) {
            const int32_t span = og - o0 < S8D_COLS * nblk ? og - o0 : S8D_COLS * nblk;
            const int32_t blocks = (span + S8D_COLS - 1) / S8D_COLS;
            for (j = 0; j < blocks; ++j) {
                const int32_t first_o = g * og + o0 + S8D_COLS * j, oj = o0 + S8D_COLS * j;
                const int32_t nb = og - oj < S8D_COLS ? og - oj : S8D_COLS;
                s8d_pack(wg + oj, (size_t)og, k, nb, bias + first_o, mult + first_o,
                         shift + first_o, &o, panel + stride * j, &blk[j]);
            }
            bd = S8W_FIRST;
            while (s8w_next(p, &pl, &bd)) {
                const size_t pitch = s8w_fill(p, x, bd.b, bd.oy0, bd.ox0, bd.oh, bd.ow, win);
                int8_t *const yb = y + s8w_out(p, &bd) + (size_t)g * og;
                const int32_t pixels = bd.oh * bd.ow;
                for (first = 0; first < pixels; first += batch) {
                    const int32_t n = pixels - first < batch ? pixels - first : batch;
                    s8w_gather(p, win, pitch, bd.ow, first, n, g, cols, ldx);
                    for (j = 0; j < blocks; ++j) {
                        const int32_t oj = o0 + S8D_COLS * j;
                        const int32_t nb = og - oj < S8D_COLS ? og - oj : S8D_COLS;
                        int8_t *const yt = yb + (size_t)first * p->out_c + oj;
                        const int8_t *const pj = panel + stride * j;
                        const int32_t done =
                            s8da_rows(cols, ldx, n, pj, &blk[j], nb, yt, (size_t)p->out_c, 1);
                        if (done < n) {
                            s8d_block_q(&blk[j], &o);
                            s8d_tile(cols + (size_t)done * ldx, ldx, n - done, k, pj, &blk[j], nb,
                                     &o, yt + (size_t)done * p->out_c, (size_t)p->out_c, 1);
                        }
                    }
                }
            }
        }
    }
}
#else
typedef int cnnc_s8_dot_neon_empty; /* ISO C forbids an empty translation unit */
#endif
