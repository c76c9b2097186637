"""The trained zoo networks on ARM under qemu: MobileNetV2 (float32, int8) and XNOR-Net
(binary), on aarch64 and armv7, against the NumPy reference, layer by layer, and through
the one command a user runs (`cnnc verify --target`)."""

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc import cli
from cnnc.host import cross

from .conftest import assert_float_close, require_target

pytestmark = [pytest.mark.arm, pytest.mark.slow]

# (network, precision, calibrated). Exact end to end: int8, and binary with calibration
# (int8 first/last layers). Binary without calibration has float32 first/last layers:
# tolerance at the output, its binary layers bit-exact in the per-layer test.
CASES = [
    ("mobilenetv2", "float32", False),
    ("mobilenetv2", "int8", True),
    ("xnornet", "binary", True),
    ("xnornet", "binary", False),
]
CASE_IDS = ["mobilenetv2-float32", "mobilenetv2-int8", "xnornet-binary-int8", "xnornet-binary-f32"]
KERNEL_PREFIX = {"float32": "", "int8": "s8_", "binary": "b1_"}


@pytest.mark.parametrize("target", ["aarch64", "armv7"])
@pytest.mark.parametrize("name, precision, calibrated", CASES, ids=CASE_IDS)
def test_trained_model_matches_reference(
    compiled_models, trained_models, name, precision, calibrated, target
):
    require_target(target)
    m = compiled_models(name, precision, calibrated)
    assert any(node.op.startswith(KERNEL_PREFIX[precision]) for node in m.graph.nodes)
    x = trained_models(name).x
    want = m.reference(x).reshape(len(x), -1).astype(np.float32)
    got = cross.run(m.out_dir, target, x)
    what = f"{name} {precision} on {target}"
    if precision == "float32" or not calibrated:
        assert_float_close(want, got, what)
    else:
        assert_bit_exact(want, got, what)


@pytest.mark.parametrize("name, precision, calibrated", CASES, ids=CASE_IDS)
def test_every_layer_identical_to_the_host_build(
    compiled_models, trained_models, name, precision, calibrated
):
    """Each layer's raw output bytes on aarch64 equal the host C's (cffi) bytes: integer and
    binary layers by contract, float32 layers because no target fuses multiply-adds."""
    require_target("aarch64")
    m = compiled_models(name, precision, calibrated)
    x = trained_models(name).x[:2]
    arm = cross.run_all_layers(m.out_dir, "aarch64", x)
    assert len(arm) == len(m.graph.nodes)
    for n, node in enumerate(m.graph.nodes, start=1):
        host = m.run_layers(x, n)
        for s in range(len(x)):
            if arm[n - 1][s] != host[s]:
                a, h = np.frombuffer(arm[n - 1][s], np.uint8), np.frombuffer(host[s], np.uint8)
                first = int(np.argmax(a != h)) if len(a) == len(h) else min(len(a), len(h))
                sizes = f"sizes {len(a)}, {len(h)}"
                pytest.fail(f"layer {n - 1} ({node.op} '{node.name}'), sample {s}: aarch64 "
                            f"bytes differ from byte {first} ({sizes})")  # fmt: skip


@pytest.mark.parametrize("target", ["aarch64", "armv7", "cortex-m4"])
@pytest.mark.parametrize("name, precision", [("mobilenetv2", "int8"), ("xnornet", "binary")])
def test_cnnc_verify_command_on_arm(
    compiled_models, trained_models, tmp_path, capsys, name, precision, target
):
    """The user's one command: `cnnc verify OUT --inputs X.npz --target T --per-layer`
    (cortex-m4: the same runner on an emulated MPS2 board, weights.bin via semihosting)."""
    require_target(target)
    m = compiled_models(name, precision, True)
    np.savez(tmp_path / "x.npz", x=trained_models(name).x[:3])
    argv = ["verify", str(m.out_dir), "--inputs", str(tmp_path / "x.npz"), "--target", target,
            "--per-layer"]  # fmt: skip
    status = cli.main(argv)
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"on {target}, 3 sample(s), precision {precision}" in out
    assert f"all {len(m.graph.nodes)} layers match" in out
