"""cnnc's own exp / sigmoid / tanh (cnnc_math.h) compiled for aarch64 and armv7 and run under
qemu-user give the same bits as the NumPy twins (cnnc.ops.fmath) on x86-64: the float
contract "identical on every target" for transcendental functions, which libm's expf
does not keep."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cnnc.host import targets
from cnnc.host.cbuild import runtime_dir
from cnnc.ops import fmath

from .conftest import require_target

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from test_f32_math import grid  # noqa: E402

PROGRAM = r"""
#include <stdio.h>
#include "cnnc_math.h"
int main(int argc, char **argv) {
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    float x, y[3];
    if (argc != 3 || !in || !out) return 2;
    while (fread(&x, sizeof x, 1, in) == 1) {
        y[0] = cnnc_expf(x);
        y[1] = cnnc_sigmoidf(x);
        y[2] = cnnc_tanhf(x);
        fwrite(y, sizeof y[0], 3, out);
    }
    return fclose(in) || fclose(out);
}
"""


@pytest.mark.parametrize("target", ["aarch64", "armv7"])
def test_cnnc_math_same_bits_under_qemu(tmp_path, target):
    t = require_target(target)
    (tmp_path / "math.c").write_text(PROGRAM)
    exe = tmp_path / "math"
    cmd = [t.cc, *t.cflags, *targets.FP_FLAGS, "-std=c99", "-static",
           f"-I{runtime_dir() / 'include'}", str(tmp_path / "math.c"), "-o", str(exe)]  # fmt: skip
    subprocess.run(cmd, check=True)
    x = grid()[::12].copy()  # ~50k inputs: every region of the grid, seconds under qemu
    x.tofile(tmp_path / "in.bin")
    subprocess.run([t.qemu, str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")],
                   check=True, timeout=120)  # fmt: skip
    got = np.fromfile(tmp_path / "out.bin", np.float32).reshape(-1, 3)
    want = np.stack([fmath.expf(x), fmath.sigmoidf(x), fmath.tanhf(x)], axis=1)
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    bad = np.argwhere(~same)
    assert not bad.size, f"{len(bad)} differ; first x={x[bad[0][0]]!r}: {got[tuple(bad[0])]!r}"
