"""The one table of kernel variants: which ISA versions of each portable ``__ref`` kernel
exist, when a build defines them and which CPU may run them.

Generated code (``cnnc.backend.codegen``) reads it to write ``select_kernels``, run once by
``cnnc_model_init``: each dispatched kernel starts as its ``__ref`` and is replaced by every
later row whose ``guard`` holds in the build and whose ``cpu`` bits the running CPU has
(``cnnc_cpu_features``, capped by ``CNNC_ISA``), so the last matching row wins and rows are
listed slowest to fastest (by measurement, not vector width). Tests (every row this host
can run, bit for bit against ``__ref``) and benchmarks read the same rows. A new ISA
variant is one row here plus its C.

Columns:
  kernel     the portable kernel it stands in for (same signature, same packed weights)
  isa        the name suffix and tier: ``cnnc_s8_pwconv__avx2``
  guard      C condition under which a build defines it (the file's own ``#if``)
  cpu        ``CNNC_CPU_*`` bits (cnnc_cpu.h) the CPU must have at run time
  cpu_flags  /proc/cpuinfo flags a host needs to run it (tests skip naming the missing one;
             empty for ARM rows, which run under qemu in tests/arm)
  fast       float32 only: True for ``--float-mode fast`` variants (FMA, any order; name
             ``cnnc_f32_pwconv_fast__avx2``), False for the exact ones (bit-identical)

int8 and binary variants are bit-exact to ``__ref`` in every float mode; float32 exact
variants are bit-identical to ``__ref`` (NaN payloads aside), fast ones within 1e-4 of the
output range.
"""

from __future__ import annotations

from dataclasses import dataclass

X86 = "defined(__x86_64__)"
NEON = "defined(__ARM_NEON)"
# ARMv8.2 dot product (s8_dot_neon.c): aarch64 builds whose -march has it, and every GCC
# aarch64 build (the file's target attribute); run only where the CPU reports it.
# (clang reports __GNUC__ 4: its arm_neon.h needs the -march)
NEONDOT = "defined(__aarch64__) && (defined(__ARM_FEATURE_DOTPROD) || __GNUC__ >= 10)"
# Cortex-M4/M7/M33 with the DSP extension (ARMv7-A also defines __ARM_FEATURE_DSP; its
# builds keep NEON, and the kernels' inline asm assumes Thumb-2 M-profile register rules).
# AArch64 NEON only: the float32 exact rows (ARMv7's Advanced SIMD flushes subnormals to
# zero, so only AArch64's IEEE vector unit can match the scalar __ref bit for bit).
NEON_A64 = "defined(__ARM_NEON) && defined(__aarch64__)"
# cnnc_cpu.h's CNNC_M_DSP: M profile, __ARM_FEATURE_DSP and an optimising build (the DSP
# kernels' asm needs registers gcc allocates only when optimising; -O0 runs __ref).
DSP = "defined(CNNC_M_DSP)"

AVX2 = ("CNNC_CPU_AVX2",)
AVX512 = ("CNNC_CPU_AVX2", "CNNC_CPU_AVX512")
FLAGS_AVX2 = ("avx2", "fma")
FLAGS_AVX512 = ("avx512f", "avx512bw", "avx512dq", "avx512vl")


@dataclass(frozen=True)
class Variant:
    kernel: str
    isa: str
    guard: str
    cpu: tuple[str, ...]
    cpu_flags: tuple[str, ...] = ()
    fast: bool = False

    @property
    def name(self) -> str:
        base = self.kernel.removesuffix("__ref")
        return f"{base}{'_fast' if self.fast else ''}__{self.isa}"

    @property
    def family(self) -> str:
        """ "s8", "b1" or "f32": the kernel's header (cnnc_<family>.h)."""
        return self.kernel.split("_")[1]


def _x86_tiers(kernel: str, tiers: tuple[str, ...], fast: bool = False) -> list[Variant]:
    cpu = {
        "avx2": (AVX2, FLAGS_AVX2),
        "avxvnni": ((*AVX2, "CNNC_CPU_AVXVNNI"), (*FLAGS_AVX2, "avx_vnni")),
        "avx512": (AVX512, FLAGS_AVX512),
        "avx512vnni": ((*AVX512, "CNNC_CPU_AVX512VNNI"), (*FLAGS_AVX512, "avx512_vnni")),
        "avx512vpopcnt": ((*AVX512, "CNNC_CPU_VPOPCNTDQ"), (*FLAGS_AVX512, "avx512_vpopcntdq")),
    }
    return [Variant(kernel, t, X86, *cpu[t], fast=fast) for t in tiers]


def _neon(kernel: str) -> list[Variant]:
    return [Variant(kernel, "neon", NEON, ("CNNC_CPU_NEON",))]


def _neondot(kernel: str) -> list[Variant]:
    return [Variant(kernel, "neondot", NEONDOT, ("CNNC_CPU_NEON", "CNNC_CPU_DOTPROD"))]


def _dsp(kernel: str) -> list[Variant]:
    return [Variant(kernel, "dsp", DSP, ("CNNC_CPU_DSP",))]


_S8_GEMM = ("avx2", "avxvnni", "avx512", "avx512vnni")  # vpdpbusd tiles where the CPU has it
_S8_LAYERS = ("add", "maxpool", "avgpool", "global_avgpool", "concat", "quantize", "dequantize")
_F32_CONV = ("pwconv", "dense", "conv_oc8", "dwconv", "dwconv3x3")

VARIANTS: tuple[Variant, ...] = tuple(
    [
        *(
            v
            for k in ("conv", "dense", "pwconv")
            for v in (*_x86_tiers(f"cnnc_s8_{k}__ref", _S8_GEMM), *_neon(f"cnnc_s8_{k}__ref"))
        ),
        *_x86_tiers("cnnc_s8_dwconv__ref", ("avx2", "avx512")),
        *_neon("cnnc_s8_dwconv__ref"),
        *(v for k in ("conv", "dense", "pwconv", "dwconv") for v in _dsp(f"cnnc_s8_{k}__ref")),
        *(v for k in _S8_LAYERS for v in _x86_tiers(f"cnnc_s8_{k}__ref", ("avx2",))),
        # AVX-512BW's conv runs 16-pixel lanes with a carry-save popcount for <= 256
        # channels (b1_conv_px_avx512.h; 3x3 at 64/128 channels with word-planar lanes,
        # b1_conv_pq_avx512.h) and AVX2's word loops above that, so it comes after AVX2;
        # VPOPCNTDQ beats both.
        *_x86_tiers("cnnc_b1_conv_bits__ref", ("avx2", "avx512", "avx512vpopcnt")),
        *_neon("cnnc_b1_conv_bits__ref"),
        *_x86_tiers("cnnc_b1_dense_bits__ref", ("avx512", "avx2", "avx512vpopcnt")),
        # lanes over output pixels (b1_conv_px_avx2.h) for the int8 / float output convs,
        # and the sign packing (b1_out_avx2.c)
        *(
            v
            for k in ("conv_s8", "conv_f32", "pack_s8", "pack")
            for v in _x86_tiers(f"cnnc_b1_{k}__ref", ("avx2",))
        ),
        *(
            v
            for k in _F32_CONV
            for fast in (False, True)
            for v in _x86_tiers(f"cnnc_f32_{k}__ref", ("avx2", "avx512"), fast)
        ),
        # 16-pixel lanes (b1_conv_px_avx512.h, b1_conv_pq_avx512.h) for the int8 / float
        # output convs
        *(v for k in ("conv_s8", "conv_f32") for v in _x86_tiers(f"cnnc_b1_{k}__ref", ("avx512",))),
        # NEON float32 (f32_conv_neon.c, f32_conv_fast_neon.c): exact on AArch64, fast on
        # every NEON build
        *(
            Variant(f"cnnc_f32_{k}__ref", "neon", NEON_A64, ("CNNC_CPU_NEON",), fast=False)
            for k in _F32_CONV
        ),
        *(
            Variant(f"cnnc_f32_{k}__ref", "neon", NEON, ("CNNC_CPU_NEON",), fast=True)
            for k in _F32_CONV
        ),
        # SDOT tiles (s8_dot_neon.c), after the SMLAL rows they beat on a dot-product CPU
        *(v for k in ("conv", "dense", "pwconv") for v in _neondot(f"cnnc_s8_{k}__ref")),
        *_neon("cnnc_s8_add__ref"),
        *_neon("cnnc_s8_quantize__ref"),
        # the int8 first layer and sign packing of a binary network in one (b1_s8conv_*.c)
        *_x86_tiers("cnnc_b1_s8conv_bits__ref", ("avx2", "avx512")),
        *_neon("cnnc_b1_s8conv_bits__ref"),
        *_dsp("cnnc_b1_s8conv_bits__ref"),
        *_dsp("cnnc_s8_add__ref"),
        *_dsp("cnnc_s8_quantize__ref"),
        *_dsp("cnnc_s8_global_avgpool__ref"),
        # the binary conv's int8 / float outputs on NEON (b1_conv_neon.c: its popcounts, the
        # __ref's scalar transform)
        *(v for k in ("conv_s8", "conv_f32") for v in _neon(f"cnnc_b1_{k}__ref")),
    ]
)

# C function-pointer type of each dispatched kernel (typedefs in cnnc_<family>.h).
FN_TYPES = {
    **{f"cnnc_s8_{k}__ref": "cnnc_s8_conv_fn" for k in ("conv", "pwconv", "dwconv")},
    "cnnc_s8_dense__ref": "cnnc_s8_dense_fn",
    "cnnc_s8_add__ref": "cnnc_s8_add_fn",
    "cnnc_s8_maxpool__ref": "cnnc_s8_pool_fn",
    "cnnc_s8_avgpool__ref": "cnnc_s8_pool_fn",
    "cnnc_s8_global_avgpool__ref": "cnnc_s8_global_avgpool_fn",
    "cnnc_s8_concat__ref": "cnnc_s8_concat_fn",
    "cnnc_s8_quantize__ref": "cnnc_s8_quantize_fn",
    "cnnc_s8_dequantize__ref": "cnnc_s8_dequantize_fn",
    "cnnc_b1_conv_bits__ref": "cnnc_b1_conv_bits_fn",
    "cnnc_b1_dense_bits__ref": "cnnc_b1_dense_bits_fn",
    "cnnc_b1_s8conv_bits__ref": "cnnc_b1_s8conv_bits_fn",
    **{f"cnnc_b1_{k}__ref": f"cnnc_b1_{k}_fn" for k in ("conv_s8", "conv_f32", "pack_s8", "pack")},
    **{f"cnnc_f32_{k}__ref": "cnnc_f32_conv_fn" for k in _F32_CONV if k != "dense"},
    "cnnc_f32_dense__ref": "cnnc_f32_dense_fn",
}

FLOAT_MODES = ("exact", "fast")


def variants_of(kernel: str, float_mode: str = "exact") -> list[Variant]:
    """The rows that may stand in for ``kernel`` in a build of the given float mode, worst
    to best (exact float builds never take a fast row, fast builds only fast rows where a
    kernel has them)."""
    rows = [v for v in VARIANTS if v.kernel == kernel]
    if kernel.startswith("cnnc_f32_"):
        fast = float_mode == "fast"
        rows = [v for v in rows if v.fast == fast]
    return rows
