"""The one variants table (cnnc.ops.variants.VARIANTS) matches the C runtime: every row's
function is declared in its family header (cnnc_<family>.h) and defined under its guard in a
runtime_c/kernels file, with the signature of its kernel's FN_TYPES entry; every __ref
kernel that has rows has an FN_TYPES entry whose typedef the header declares.

x86-64 rows: a probe that assigns every row (and its __ref) to a pointer of the FN_TYPES
type is compiled with gcc against the headers and linked with the objects of every
runtime_c/kernels/*.c (cnnc's per-source object cache; a missing or mis-typed definition
fails the build). NEON rows: the definition is found
by its text in a kernels file whose code sits under the row's guard (qemu runs them in
tests/arm)."""

import re
import subprocess

import pytest
from cnnc.host.cbuild import compile_objects, runtime_dir
from cnnc.ops.variants import DSP, FN_TYPES, NEON, NEON_A64, NEONDOT, VARIANTS, X86

KERNELS = runtime_dir() / "kernels"
INCLUDE = runtime_dir() / "include"
X86_ROWS = [v for v in VARIANTS if v.guard == X86]
NEON_ROWS = [v for v in VARIANTS if v.guard in (NEON, NEON_A64, NEONDOT)]
DSP_ROWS = [v for v in VARIANTS if v.guard == DSP]  # Cortex-M: qemu-system-arm runs them


def header(family: str) -> str:
    return (INCLUDE / f"cnnc_{family}.h").read_text()


def test_table_has_only_known_guards():
    assert {v.guard for v in VARIANTS} <= {X86, NEON, NEON_A64, NEONDOT, DSP}, {
        v.guard for v in VARIANTS
    }
    names = [v.name for v in VARIANTS]
    assert len(names) == len(set(names)), "a variant is listed twice"


@pytest.mark.parametrize("row", VARIANTS, ids=lambda v: v.name)
def test_row_is_declared_in_its_header(row):
    assert re.search(rf"\bvoid {row.name}\(", header(row.family)), (
        f"{row.name} is not declared in cnnc_{row.family}.h"
    )


def test_every_kernel_with_rows_has_a_fn_type():
    for kernel in sorted({v.kernel for v in VARIANTS}):
        assert kernel in FN_TYPES, f"{kernel} has variant rows but no FN_TYPES entry"
        family = kernel.split("_")[1]
        fn_type = FN_TYPES[kernel]
        assert re.search(rf"\btypedef void {fn_type}\(", header(family)), (
            f"FN_TYPES[{kernel}] = {fn_type}, not a function typedef in cnnc_{family}.h"
        )


def test_x86_rows_are_defined_with_their_kernel_type(tmp_path):
    """One probe, linked with every kernel file: each x86 row and its __ref converts to a
    pointer of the kernel's FN_TYPES type (-Werror: a signature mismatch fails) and links."""
    families = sorted({v.family for v in VARIANTS})
    lines = [f'#include "cnnc_{f}.h"' for f in families]
    lines.append("void *volatile sink;")
    lines.append("int main(void) {")
    for i, v in enumerate(X86_ROWS):
        fn_type = FN_TYPES[v.kernel]
        lines.append(f"    {{ {fn_type} *f{i} = {v.name}, *r{i} = {v.kernel};")
        lines.append(f"      sink = (void *)f{i}; sink = (void *)r{i}; }}")
    lines.append("    return 0;\n}")
    probe = tmp_path / "probe.c"
    probe.write_text("\n".join(lines) + "\n")
    objects = [str(p) for p in compile_objects(sorted(KERNELS.glob("*.c")), [KERNELS], [])]
    cmd = ["gcc", "-std=c99", "-Werror=incompatible-pointer-types",
           "-Werror=implicit-function-declaration", f"-I{INCLUDE}", f"-I{KERNELS}",
           str(probe), *objects, "-o", str(tmp_path / "probe"), "-lm"]  # fmt: skip
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, f"probe of {len(X86_ROWS)} x86 rows:\n{build.stderr[-4000:]}"
    assert subprocess.run([str(tmp_path / "probe")]).returncode == 0


def guarded_definition_file(name: str, guard: str):
    """The kernels file that defines ``name`` after an ``#if`` on ``guard``, or None."""
    for path in sorted(KERNELS.glob("*.c")):
        text = path.read_text()
        m = re.search(rf"^void {name}\(", text, re.M)
        if m and f"#if {guard}" in text[: m.start()]:
            return path
    return None


@pytest.mark.parametrize("row", NEON_ROWS + DSP_ROWS, ids=lambda v: v.name)
def test_neon_row_is_defined_under_its_guard(row):
    assert guarded_definition_file(row.name, row.guard), (
        f"no runtime_c/kernels/*.c defines {row.name} under #if {row.guard}"
    )
