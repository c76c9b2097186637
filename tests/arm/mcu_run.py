"""Build a C test driver with some runtime sources for an emulated Cortex-M board and run
it under qemu-system-arm with semihosting: the DSP kernel tests' shared harness."""

import subprocess
from pathlib import Path

from cnnc.host import cross, targets
from cnnc.host.cbuild import runtime_dir

from .conftest import require_target

# The drivers' random source: xorshift32 and a uniform integer in [lo, hi].
C_RANDOM = r"""
static uint32_t state = 2463534242u;
static uint32_t next_word(void) { /* xorshift32 */
    state ^= state << 13; state ^= state >> 17; state ^= state << 5;
    return state;
}
static int32_t uniform(int32_t lo, int32_t hi) { /* lo..hi */
    return lo + (int32_t)(next_word() % (uint32_t)(hi - lo + 1));
}
"""
C_FILL8 = r"""
static void fill8(int8_t *v, int32_t n, int32_t lo) { /* uniform in lo..127 */
    int32_t i;
    for (i = 0; i < n; ++i) v[i] = (int8_t)uniform(lo, 127);
}
"""


def run_driver(tmp_path: Path, driver: str, kernels: list[str], opt=(), target="cortex-m4",
               timeout=600) -> str:  # fmt: skip
    """Compiles driver (C text) with runtime_c/kernels/<kernels> at the target's flags plus
    opt, runs it on the target's board and returns its output; a failed build or a
    non-zero exit fails the calling test."""
    t = require_target(target)
    kdir = runtime_dir() / "kernels"
    src = tmp_path / "driver.c"
    src.write_text(driver)
    elf = tmp_path / "driver.elf"
    sources = [*(kdir / k for k in kernels), src, targets.templates_dir() / "mcu_semihost.c"]
    cmd = [targets.target_cc(t), *cross.build_flags(t), *opt, *cross.SEMIHOST_LINK,
           f"-I{runtime_dir() / 'include'}", f"-I{kdir}", *map(str, sources), "-o", str(elf),
           "-lm"]  # fmt: skip
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert not cross.build_failure(build), build.stderr
    run = subprocess.run(
        [targets.QEMU_SYSTEM, "-M", t.board, "-nographic", "-monitor", "none",
         "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout
