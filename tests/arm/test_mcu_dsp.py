"""Cortex-M DSP int8 kernels (s8_*_dsp.c): bit-exact to __ref on an emulated Cortex-M4 over
the NEON test's grid, compiled in exactly where the target has the DSP extension, and
picked by a generated model, which then runs bit-exact and in fewer instructions (counted
per layer by cnnc.host.mcu_trace) than the same firmware capped to __ref."""

import json

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc import api
from cnnc import errors as cnnc_errors
from cnnc.host import cross, mcu_trace, targets
from cnnc.host.cbuild import runtime_dir
from cnnc.ops.variants import DSP, VARIANTS

from .conftest import require_target
from .mcu_run import run_driver
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


# Whether a target's build defines the DSP rows (their guard, defined(__ARM_FEATURE_DSP)).
DSP_BUILD = {"cortex-m4": True, "cortex-m7": True, "cortex-m33": True, "cortex-m0plus": False,
             "armv7": False, "aarch64": False, "host": False}  # fmt: skip


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
