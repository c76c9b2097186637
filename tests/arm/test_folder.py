"""The output folder alone: copied away from the checkout it builds with make (host and
cross), and its demo prints the top-5 classes of a PGM image or a raw float32 file."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cnnc.models.data import resize
from toolchains import MAKE_CCWRAP

from .conftest import (
    make_fixture_folder,
    make_tiny_folder,
    require_target,
    require_tool,
    tiny_expected,
)

pytestmark = pytest.mark.arm

CHECKOUT = Path(__file__).resolve().parents[2]
TOP_LINE = re.compile(r"^\s+(\d)\. class (\d+)\s+score (\S+)$", re.M)


def make(folder: Path, *args: str) -> None:
    require_tool("make", "make")
    proc = subprocess.run(
        ["make", "CFLAGS=-Werror", MAKE_CCWRAP, *args], cwd=folder, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"make {' '.join(args)} in {folder}:\n{proc.stdout}{proc.stderr}"


def run_program(cmd: list[str], folder: Path, stdin: bytes = b"") -> bytes:
    proc = subprocess.run(cmd, cwd=folder, input=stdin, capture_output=True)
    assert proc.returncode == 0, f"{cmd}: {proc.stderr.decode()}"
    return proc.stdout


def top5(stdout: bytes) -> tuple[list[int], np.ndarray]:
    rows = TOP_LINE.findall(stdout.decode())
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1)), stdout.decode()
    return [int(r[1]) for r in rows], np.array([float(r[2]) for r in rows])


def expected_top5(scores: np.ndarray) -> tuple[list[int], np.ndarray]:
    order = np.argsort(-scores, kind="stable")[:5]  # ties: lower class first, as demo.c
    return order.tolist(), scores[order]


def copy_alone(folder: Path, tmp_path: Path) -> Path:
    """Copies the folder elsewhere and checks nothing in it points back into the checkout."""
    copy = tmp_path / "elsewhere" / "model"
    shutil.copytree(folder, copy)
    for path in copy.rglob("*"):
        if path.is_file():
            assert str(CHECKOUT).encode() not in path.read_bytes(), f"{path} names the checkout"
    return copy


@pytest.mark.parametrize("target", ["host", "aarch64"])
def test_copied_folder_builds_and_runs(tmp_path, tiny_inputs, target):
    run_target = require_target(target)
    copy = copy_alone(make_tiny_folder(tmp_path / "out", target="armv7"), tmp_path)
    make(copy, f"TARGET={target}")
    build = copy / "build" / target
    assert (build / "libcnnc_model.a").is_file()
    qemu = [run_target.qemu] if run_target.qemu else []
    raw = run_program([*qemu, str(build / "runner")], copy, tiny_inputs.tobytes())
    got = np.frombuffer(raw, dtype=np.float32).reshape(7, 3)
    np.testing.assert_array_equal(got, tiny_expected(tiny_inputs)[1].astype(np.float32))
    tiny_inputs[2].tofile(copy / "x.f32")
    stdout = run_program([*qemu, str(build / "demo"), "-n", "3", "x.f32"], copy)
    classes, scores = top5(stdout)
    want_classes, want_scores = expected_top5(tiny_expected(tiny_inputs[2])[1][0])
    assert classes == want_classes, stdout.decode()
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5)
    assert re.search(rb"time per inference: \d+\.\d+ ms \(mean of 3 runs", stdout)


def test_default_target_is_the_compile_target(tmp_path):
    require_target("armv7")
    folder = make_tiny_folder(tmp_path / "out", target="armv7")
    make(folder)
    assert (folder / "build" / "armv7" / "runner").is_file()
    header = (folder / "build" / "armv7" / "runner").read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and header[4] == 1  # ELF, 32-bit
    assert int.from_bytes(header[18:20], "little") == 40  # e_machine EM_ARM


@pytest.mark.parametrize("maxval", [255, 1000], ids=["8bit", "16bit"])
@pytest.mark.parametrize("target", ["host", "aarch64"])
def test_demo_reads_pgm_like_training_preprocessing(tmp_path, rng, maxval, target):
    """The identity model echoes the demo's input: PGM pixels / maxval, bilinear resize
    (the training data's resize), per-channel (x - mean) / std, copied to both channels."""
    run_target = require_target(target)
    mean, std = [0.1, 0.3], [0.5, 0.25]
    meta = {"cnnc.norm_mean": json.dumps(mean), "cnnc.norm_std": json.dumps(std)}
    info = {"name": "echo", "input_shape": [1, 2, 3, 3], "metadata": meta}
    folder = make_fixture_folder(tmp_path / "echo", "identity_model", info)
    make(folder, f"TARGET={target}")
    pixels = rng.integers(0, maxval + 1, size=(5, 7))  # H=5, W=7
    dtype = ">u2" if maxval > 255 else "u1"
    header = f"P5\n# a comment\n7 5\n{maxval}\n".encode()
    (folder / "img.pgm").write_bytes(header + pixels.astype(dtype).tobytes())
    qemu = [run_target.qemu] if run_target.qemu else []
    stdout = run_program([*qemu, f"build/{target}/demo", "-n", "1", "img.pgm"], folder)
    image = resize((pixels / maxval).astype(np.float32)[None, :, :, None], 3)[0, :, :, 0]
    expected = np.stack([(image - m) / s for m, s in zip(mean, std, strict=True)]).ravel()
    classes, scores = top5(stdout)
    want_classes, want_scores = expected_top5(expected)
    assert classes == want_classes, stdout.decode()
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)


def test_demo_rejects_a_raw_file_of_the_wrong_size(tmp_path):
    require_target("host")
    folder = make_tiny_folder(tmp_path / "out")
    make(folder, "TARGET=host")
    np.zeros(4, dtype=np.float32).tofile(folder / "short.f32")
    proc = subprocess.run(["build/host/demo", "short.f32"], cwd=folder, capture_output=True)
    assert proc.returncode == 3
    assert b"not a P5 PGM, and not 5 raw float32 values" in proc.stderr


@pytest.mark.slow
def test_trained_int8_folder_copied_alone_builds_and_classifies(
    compiled_models, trained_models, tmp_path
):
    """A real compiled folder (trained MobileNetV2, int8), copied away from the checkout:
    `make` (host) and `make TARGET=aarch64` build it, and both demos print the reference's
    top-5 for a test image."""
    require_target("aarch64")
    m = compiled_models("mobilenetv2", "int8", True)
    copy = copy_alone(m.out_dir, tmp_path)
    x = trained_models("mobilenetv2").x[:1]
    x.astype("<f4").tofile(copy / "x.f32")
    want_classes, want_scores = expected_top5(m.reference(x).ravel())
    for target, prefix in (("host", []), ("aarch64", ["qemu-aarch64"])):
        make(copy, f"TARGET={target}")
        stdout = run_program([*prefix, f"build/{target}/demo", "-n", "2", "x.f32"], copy)
        classes, scores = top5(stdout)
        assert classes == want_classes, stdout.decode()
        np.testing.assert_allclose(scores, want_scores, rtol=1e-5)


@pytest.mark.parametrize(
    "target, machine", [("aarch64", "aarch64"), ("armv7", "armv7l")], ids=["pi64", "pi32"]
)
def test_make_on_the_board_uses_its_own_gcc(tmp_path, target, machine):
    """On a Pi (`uname -m` = machine) the Makefile calls plain gcc, dynamically linked; on
    this host the same TARGET calls the cross compiler, statically linked."""
    require_tool("make", "make")
    folder = make_tiny_folder(tmp_path / "out", target=target)
    dry = ["make", "-n", "-B", f"TARGET={target}"]
    on_board = subprocess.run([*dry, f"MACHINE={machine}"], cwd=folder, capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
    here = subprocess.run([*dry, "MACHINE=x86_64"], cwd=folder, capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    cross_cc = {"aarch64": "aarch64-linux-gnu-gcc", "armv7": "arm-linux-gnueabihf-gcc"}[target]
    assert re.search(r"^gcc .*-c model\.c", on_board, re.M), on_board
    assert cross_cc not in on_board and "-static" not in on_board
    assert re.search(rf"^{cross_cc} .*-static .*-o build/{target}/demo", here, re.M), here
