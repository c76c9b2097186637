"""Session fixtures for the fuzz tests: seed models compiled once, blob harnesses built once.

Two small models (tests/fuzz/seeds.py) are compiled per session: int8 (the tiny conv
net, calibrated) and binary (an untrained XNOR-Net). For each, a second build of the
same architecture with other weights gives "another model's blob"; the int8 one also
gets a build with the same weights and other calibration data. Only the two main
folders are built into C (cached by cbuild across sessions).
"""

import sys
from pathlib import Path

import cnnc
import numpy as np
import onnx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import seeds  # noqa: E402


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory) -> Path:
    """tiny.onnx, xnor.onnx, cal.npz and x.npz (two good samples)."""
    root = tmp_path_factory.mktemp("fuzz_seeds")
    rng = np.random.default_rng(14)
    onnx.save(seeds.tiny_onnx(rng), root / "tiny.onnx")
    onnx.save(seeds.xnor_onnx(0), root / "xnor.onnx")
    np.savez(root / "cal.npz", x=seeds.calibration(rng))
    np.savez(root / "x.npz", x=seeds.calibration(rng, 2))
    return root


@pytest.fixture(scope="session")
def folders(seed_dir) -> dict[str, Path]:
    """Compiled folders: float32, int8, int8_other_weights, int8_other_calibration, binary,
    binary_other_weights."""
    rng = np.random.default_rng(15)
    cal = np.load(seed_dir / "cal.npz")["x"]
    tiny = onnx.load(seed_dir / "tiny.onnx")
    builds = {
        "float32": (tiny, "float32", None),
        "int8": (tiny, "int8", cal),
        "int8_other_weights": (seeds.tiny_onnx(rng), "int8", cal),
        "int8_other_calibration": (tiny, "int8", cal * 3 + 1),
        "binary": (onnx.load(seed_dir / "xnor.onnx"), "binary", None),
        "binary_other_weights": (seeds.xnor_onnx(1), "binary", None),
    }
    out = {}
    for name, (model, precision, calibration) in builds.items():
        out[name] = seed_dir / name
        cnnc.compile(model, out[name], precision=precision, calibration=calibration)
    return out


@pytest.fixture(scope="session")
def blob_harnesses(folders) -> dict[str, seeds.BlobHarness]:
    return {name: seeds.blob_harness(folders[name]) for name in ("int8", "binary")}
