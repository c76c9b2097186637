"""Cortex-M: the model builds freestanding with embedded weights, calls no heap or stdio,
its flash/RAM come from arm-none-eabi-size, and it runs bit-exact on an emulated board."""

import subprocess

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc import api
from cnnc.errors import ToolchainError
from cnnc.host import cross, mcu
from toolchains import MAKE_CCWRAP

from .conftest import make_tiny_folder, require_target, tiny_expected

pytestmark = pytest.mark.arm


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7"])
def test_model_objects_call_no_heap_or_stdio(tmp_path, target):
    require_target(target, run=False)
    folder = make_tiny_folder(tmp_path / "mcu", weights=False, target=target)
    calls = mcu.undefined_symbols(folder, target)
    assert "00_model.o" in calls
    for obj, symbols in calls.items():
        assert not symbols & mcu.FORBIDDEN_SYMBOLS, f"{obj} calls {symbols & mcu.FORBIDDEN_SYMBOLS}"


def test_a_model_that_mallocs_is_caught(tmp_path):
    """The check above can fail: a model.c that calls malloc and printf is reported."""
    require_target("cortex-m4", run=False)
    folder = make_tiny_folder(tmp_path / "bad", weights=False, target="cortex-m4")
    source = (folder / "model.c").read_text()
    source = source.replace(
        "#include <string.h>", "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>"
    )
    source = source.replace("ctx->blob = NULL;", 'ctx->blob = malloc(4); printf("x");')
    (folder / "model.c").write_text(source)
    symbols = mcu.undefined_symbols(folder, "cortex-m4")["00_model.o"]
    assert {"malloc", "printf"} <= symbols & mcu.FORBIDDEN_SYMBOLS


def test_size_counts_embedded_weights_and_arena(tmp_path):
    require_target("cortex-m4", run=False)
    folder = make_tiny_folder(tmp_path / "mcu", weights=False, target="cortex-m4")
    size = mcu.mcu_size(folder, "cortex-m4")
    assert size["flash"] == size["text"] + size["data"]
    assert size["ram"] == size["data"] + size["bss"]
    assert size["arena"] == 64
    assert size["bss"] >= 64 + 4 * (5 + 3)  # static arena, input and output buffers
    assert 18 * 4 < size["flash"] < 64 * 1024  # the 18 embedded floats, no stdio pulled in


@pytest.mark.slow
def test_trained_int8_model_builds_for_cortex_m4(trained_models, tmp_path):
    """A real generated model with --embed-weights: freestanding objects without heap or
    stdio, the folder's own `make` builds it, and flash holds at least the weights."""
    require_target("cortex-m4", run=False)
    t = trained_models("mobilenetv2")
    m = api.compile(t.model, tmp_path / "m4", "int8", t.calibration, embed_weights=True,
                    target="cortex-m4")  # fmt: skip
    assert not (m.out_dir / "weights.bin").exists()
    for obj, symbols in mcu.undefined_symbols(m.out_dir, "cortex-m4").items():
        assert not symbols & mcu.FORBIDDEN_SYMBOLS, f"{obj} calls {symbols & mcu.FORBIDDEN_SYMBOLS}"
    size = mcu.mcu_size(m.out_dir, "cortex-m4")
    assert size["flash"] > m.info["weights_bytes"]
    assert size["ram"] > m.info["arena_bytes"] == size["arena"]
    proc = subprocess.run(
        ["make", "CFLAGS=-Werror", MAKE_CCWRAP], cwd=m.out_dir, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (m.out_dir / "build" / "cortex-m4" / "libcnnc_model.a").is_file()
    assert not (m.out_dir / "build" / "cortex-m4" / "demo").exists()


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7"])
def test_runner_on_emulated_board(tmp_path, tiny_inputs, target):
    """runner.c on an MPS2 board under qemu-system-arm with semihosting: outputs and
    per-layer bytes equal the NumPy expectation, from weights.bin and from embedded weights."""
    require_target(target)
    dense, relu = tiny_expected(tiny_inputs)
    for weights in (True, False):
        folder = make_tiny_folder(tmp_path / f"w{weights}", weights=weights, target=target)
        got = cross.run(folder, target, tiny_inputs)
        np.testing.assert_array_equal(got, relu.astype(np.float32), err_msg=f"weights={weights}")
    records = cross.run_layers(folder, target, tiny_inputs, 1)
    np.testing.assert_array_equal(
        np.stack([np.frombuffer(r, "<f4") for r in records]), dense.astype(np.float32)
    )


def test_board_fault_is_reported_not_hung(tmp_path, tiny_inputs):
    """A crash in model code ends the emulation with a clear error (the fault handler exits)."""
    require_target("cortex-m4")
    folder = make_tiny_folder(tmp_path / "crash", weights=False, target="cortex-m4")
    source = (folder / "model.c").read_text()
    crash = "ctx->w = (const float *)0x3fffffff; /* unmapped, misaligned */"
    (folder / "model.c").write_text(source.replace("ctx->w = embedded_params;", crash))
    with pytest.raises(ToolchainError, match="processor fault"):
        cross.run(folder, "cortex-m4", tiny_inputs)


@pytest.mark.slow
@pytest.mark.parametrize("name, precision", [("mobilenetv2", "int8"), ("xnornet", "binary")])
def test_trained_model_bit_exact_on_emulated_cortex_m4(trained_models, tmp_path, name, precision):
    require_target("cortex-m4")
    t = trained_models(name)
    m = api.compile(t.model, tmp_path / "m4", precision, t.calibration, embed_weights=True,
                    target="cortex-m4")  # fmt: skip
    x = t.x[:4]
    want = m.reference(x).reshape(len(x), -1).astype(np.float32)
    assert_bit_exact(want, cross.run(m.out_dir, "cortex-m4", x), f"{name} {precision} cortex-m4")
