"""The x86-64 SIMD variants of the float32 conv/dense kernels: the one table the tests
(tests/runtime/test_f32_simd.py) and the benchmark (bench/bench_f32_kernels.py) read, and
run-time dispatch will (the DESIGN's kernel table; it belongs in host/ once that exists).

Each variant of kernel K is the C function ``cnnc_f32_<K>_<suffix>`` (suffix ``_avx2``
gives ``cnnc_f32_pwconv__avx2``), defined in runtime_c/kernels/f32_conv_<mode>_<isa>.c,
declared in cnnc_f32.h, with the same signature and weight layout as ``cnnc_f32_<K>__ref``.
Exact variants are bit-identical to __ref (the default float mode); fast ones use FMA
(``--float-mode fast``, 1e-4 of the output range). A new variant is one row here plus its
C file.
"""

from __future__ import annotations

from dataclasses import dataclass

# the kernels every variant provides, each mirroring cnnc_f32_<kernel>__ref
F32_SIMD_KERNELS = ("pwconv", "dense", "conv_oc8", "dwconv", "dwconv3x3")


@dataclass(frozen=True)
class F32Variant:
    suffix: str  # C name: cnnc_f32_<kernel>_<suffix>
    cpu_flags: tuple[str, ...]  # /proc/cpuinfo flags the CPU needs to run it
    lanes: int  # float lanes per vector
    exact: bool  # bit-identical to __ref (no FMA, __ref's order)


_AVX512 = ("avx512f", "avx512bw", "avx512dq", "avx512vl")

F32_SIMD_VARIANTS = {
    "avx2": F32Variant("_avx2", ("avx2",), 8, True),
    "fast_avx2": F32Variant("fast__avx2", ("avx2", "fma"), 8, False),
    "avx512": F32Variant("_avx512", _AVX512, 16, True),
    "fast_avx512": F32Variant("fast__avx512", _AVX512, 16, False),
}


def c_name(kernel: str, variant: str) -> str:
    """e.g. c_name("pwconv", "fast_avx2") == "cnnc_f32_pwconv_fast__avx2"; "ref" gives __ref."""
    suffix = "_ref" if variant == "ref" else F32_SIMD_VARIANTS[variant].suffix
    return f"cnnc_f32_{kernel}_{suffix}"
