"""The target table drives the generated Makefile and the toolchain errors."""

import dataclasses
import re

import pytest
from cnnc.errors import ToolchainError
from cnnc.host import targets

pytestmark = pytest.mark.arm


@pytest.mark.parametrize("name", list(targets.TARGETS))
def test_makefile_block_carries_the_table_flags(tmp_path, name):
    targets.write_build_files(tmp_path, {"target": name})
    makefile = (tmp_path / "Makefile").read_text()
    target = targets.TARGETS[name]
    block = re.search(rf"ifeq \(\$\(TARGET\),{re.escape(name)}\)\n(.*?)\nendif", makefile, re.S)
    assert block, f"no block for {name}"
    assert f"TARGET_CC := {target.cc}" in block.group(1)
    assert f"TARGET_CFLAGS := {' '.join(target.cflags)}" in block.group(1)
    assert f"TARGET ?= {name}" in makefile
    assert "-ffp-contract=off" in makefile


def test_pi_flags_are_the_documented_ones():
    assert targets.TARGETS["armv7"].cflags[1:] == (
        "-march=armv7-a", "-mtune=cortex-a72", "-mfpu=neon-vfpv4", "-mfloat-abi=hard",
    )  # fmt: skip
    assert "-mfloat-abi=hard" in targets.TARGETS["cortex-m4"].cflags
    assert "-mfpu=fpv4-sp-d16" in targets.TARGETS["cortex-m4"].cflags
    assert targets.TARGETS["aarch64"].qemu == "qemu-aarch64"
    assert targets.TARGETS["armv7"].qemu == "qemu-arm"


def test_missing_qemu_names_qemu_user(monkeypatch):
    fake = dataclasses.replace(targets.TARGETS["aarch64"], qemu="no-such-qemu-aarch64")
    monkeypatch.setitem(targets.TARGETS, "aarch64", fake)
    monkeypatch.setattr(targets.shutil, "which", lambda tool: None if "no-such" in tool else tool)
    monkeypatch.setattr(targets.Path, "exists", lambda self: True)
    with pytest.raises(ToolchainError, match=r"no-such-qemu-aarch64.*apt-get install qemu-user"):
        targets.check_toolchain("aarch64", run=True)


def test_missing_board_emulator_names_qemu_system_arm(monkeypatch):
    monkeypatch.setattr(targets, "QEMU_SYSTEM", "no-such-qemu-system-arm")
    with pytest.raises(ToolchainError, match=r"apt-get install qemu-system-arm"):
        targets.check_toolchain("cortex-m4", run=True)


def test_microcontroller_without_board_cannot_run(monkeypatch):
    fake = dataclasses.replace(targets.TARGETS["cortex-m7"], board=None)
    monkeypatch.setitem(targets.TARGETS, "cortex-m7", fake)
    with pytest.raises(ToolchainError, match="no emulated board"):
        targets.check_toolchain("cortex-m7", run=True)


def test_compile_help_names_every_target_and_the_guide():
    for name in targets.TARGETS:
        assert name in targets.COMPILE_TARGET_HELP
    assert "docs/deploy.md" in targets.COMPILE_TARGET_HELP


def test_demo_config_replicates_a_single_channel_norm(tmp_path):
    meta = {"cnnc.norm_mean": "[0.5]", "cnnc.norm_std": "[0.25]", "cnnc.model": "xnornet"}
    text = targets.demo_config({"input_shape": [1, 3, 32, 32], "metadata": meta})
    assert '#define DEMO_MODEL_NAME "xnornet"' in text
    assert "#define DEMO_INPUT_C 3 " in text and "#define DEMO_INPUT_W 32" in text
    assert "#define DEMO_NORM_MEAN {0.5f, 0.5f, 0.5f}" in text
    assert "#define DEMO_NORM_STD {0.25f, 0.25f, 0.25f}" in text


@pytest.mark.parametrize("required", [True, False], ids=["ci", "laptop"])
def test_missing_toolchain_fails_in_ci_and_skips_elsewhere(monkeypatch, required):
    """CNNC_REQUIRE_ARM=1 (set by .ci/run) turns a missing cross tool into a failure."""
    import toolchains

    from . import conftest

    monkeypatch.setattr(toolchains, "REQUIRE_ARM", required)
    monkeypatch.setenv("CNNC_CC_ARMV7", "no-such-arm-gcc")
    expected = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(expected, match="gcc-arm-linux-gnueabihf"):
        conftest.require_target("armv7")


def test_cortex_m_without_newlib_names_the_package(monkeypatch):
    monkeypatch.setattr(targets, "has_libc", lambda cc, cflags: False)
    with pytest.raises(ToolchainError, match="no C library.*libnewlib-arm-none-eabi"):
        targets.check_toolchain("cortex-m4")


# An LDM whose list gcc allocated out of ascending order: the assembler loads the registers
# in ascending order whatever the list says (a warning only), so the two values swap.
SWAPPED_LDM = """
unsigned f(const unsigned *p) {
    register unsigned a __asm__("r5"), b __asm__("r3");
    __asm__ volatile("ldm %[p], {%[a], %[b]}" : [a] "=r"(a), [b] "=r"(b) : [p] "r"(p));
    return a - b;
}
"""


def test_builds_fail_when_the_assembler_warns(tmp_path):
    """gcc exits 0 on this source (the assembler's warning does not count, even with
    --fatal-warnings); the host-side builds (cnnc verify, the tests, the benches) fail on it."""
    from cnnc.host import mcu
    from toolchains import require_target

    target = require_target("cortex-m4", run=False)
    src = tmp_path / "ldm.c"
    src.write_text(SWAPPED_LDM)
    cmd = [targets.target_cc(target), "-mcpu=cortex-m4", "-mthumb", "-O2", "-c", str(src),
           "-o", str(tmp_path / "ldm.o")]  # fmt: skip
    with pytest.raises(ToolchainError, match="not in ascending order"):
        mcu.run_tool(cmd, "the swapped LDM's build")
