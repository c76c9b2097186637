"""ARM test helpers: toolchain gating and a hand-written tiny model folder.

Missing cross compilers or qemu FAIL the tests when CNNC_REQUIRE_ARM=1 (CI sets
it after installing them), and skip them with the Debian packages to install
otherwise, so a laptop without the toolchains still runs the rest of the suite.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from cnnc.host import targets
from cnnc.host.cbuild import runtime_dir
from toolchains import require_target, unavailable  # noqa: F401  (re-exported to tests/arm)

FIXTURES = Path(__file__).parent / "fixtures"

# The tiny model's parameters (tests/arm/fixtures/tiny_model/model.c embeds the same):
# layer 0 dense y = W x + b, layer 1 relu.
TINY_W = np.array(
    [[1, -2, 0, 3, 1], [2, 1, -1, 0, -3], [-1, 0, 2, 1, 1]], dtype=np.float32
)  # [3, 5]
TINY_B = np.array([0.5, -4, 1], dtype=np.float32)  # [3]


def require_tool(tool: str, package: str) -> str:
    if shutil.which(tool) is None:
        unavailable(f"'{tool}' not found; {targets.install_hint((package,))}")
    return tool


def tiny_blob() -> bytes:
    return b"TINY" + np.concatenate([TINY_W.ravel(), TINY_B]).astype("<f4").tobytes()


def tiny_expected(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dense output, relu output) per sample, in float64 (exact: the test inputs are small
    integers and halves, so every float32 sum in C is exact too)."""
    dense = x.reshape(-1, 5).astype(np.float64) @ TINY_W.T.astype(np.float64) + TINY_B
    return dense, np.maximum(dense, 0.0)


def make_fixture_folder(folder: Path, fixture: str, info: dict) -> Path:
    """An output folder laid out as codegen does, with a hand-written model from fixtures/."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model.c", "model.h"):
        shutil.copy(FIXTURES / fixture / name, folder / name)
    (folder / "cnnc_runtime" / "include").mkdir(parents=True, exist_ok=True)
    shutil.copy(runtime_dir() / "include" / "cnnc.h", folder / "cnnc_runtime" / "include")
    targets.write_build_files(folder, info)
    return folder


def make_tiny_folder(folder: Path, weights: bool = True, target: str = "host") -> Path:
    """The tiny dense+relu model's folder, with weights.bin or (weights=False) embedded ones."""
    info = {"name": "tiny", "input_shape": [1, 5], "target": target}
    make_fixture_folder(folder, "tiny_model", info)
    if weights:
        (folder / "weights.bin").write_bytes(tiny_blob())
    return folder


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    return make_tiny_folder(tmp_path / "tiny")


@pytest.fixture
def tiny_inputs(rng) -> np.ndarray:
    """7 samples of 5 small integers and halves (exact in float32 through the dense layer)."""
    return (rng.integers(-8, 9, size=(7, 5)) / 2).astype(np.float32)


def assert_float_close(expected: np.ndarray, actual: np.ndarray, what: str) -> None:
    """DESIGN.md's float32 contract: |error| <= 1e-4 of the reference output range."""
    expected = np.asarray(expected, dtype=np.float64)
    tol = 1e-4 * max(float(np.ptp(expected)), 1e-6)
    err = np.abs(np.asarray(actual, dtype=np.float64) - expected)
    if err.max() > tol:
        i = np.unravel_index(err.argmax(), err.shape)
        pytest.fail(f"{what}: error {err[i]:.3g} > {tol:.3g} (1e-4 of the range) at {i}: "
                    f"expected {expected[i]!r}, actual {actual[i]!r}")  # fmt: skip


@dataclass
class Trained:
    """A zoo network trained briefly on digits and exported, with inputs preprocessed for it."""

    name: str
    model: object  # onnx.ModelProto
    x: np.ndarray  # [8, 1, S, S] test images, NCHW float32
    calibration: np.ndarray  # [64, 1, S, S] training images


# (input size, width multiplier, training steps): small enough for CI, trained enough that
# weights and activations have realistic, non-random distributions.
TRAINED = {"mobilenetv2": (16, 0.35, 30), "xnornet": (16, 0.5, 30)}


def train_tiny(name: str) -> Trained:
    from cnnc.models import data, export, train, zoo

    size, width, steps = TRAINED[name]
    dataset = data.load("digits", size)
    net = zoo.MODELS[name](size, dataset.num_classes, width, np.random.default_rng(0))
    config = train.TrainConfig(epochs=1, seed=0)
    _, pre = train.fit(net, dataset, config, progress=False, max_steps=steps)
    meta = export.metadata(name, "digits", size, pre.mean, pre.std, dataset.num_classes)
    model = export.to_onnx(net, (size, size, 1), meta)
    nchw = lambda x: np.ascontiguousarray(pre(x).transpose(0, 3, 1, 2), dtype=np.float32)  # noqa: E731
    return Trained(name, model, nchw(dataset.x_test[:8]), nchw(dataset.x_train[:64]))


@pytest.fixture(scope="session")
def trained_models():
    """Trains each zoo network once per session (a few seconds each), on first use."""
    cache: dict[str, Trained] = {}

    def get(name: str) -> Trained:
        if name not in cache:
            cache[name] = train_tiny(name)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def compiled_models(trained_models, tmp_path_factory):
    """Compiles (network, precision, calibrated) once per session; returns the CompiledModel.

    Calibrated binary models run their first and last layers in int8 (the whole network is
    integer, so bit-exact end to end); uncalibrated ones keep those layers in float32."""
    from cnnc import api

    cache = {}

    def get(name: str, precision: str, calibrated: bool):
        key = (name, precision, calibrated)
        if key not in cache:
            t = trained_models(name)
            calibration = t.calibration if calibrated else None
            out = tmp_path_factory.mktemp(f"{name}-{precision}")
            cache[key] = api.compile(t.model, out, precision, calibration)
        return cache[key]

    return get
