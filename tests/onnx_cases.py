"""The 2-D models bundled with the onnx package (PyTorch-exported) that use ops cnnc supports.

Each case folder under ``onnx/backend/test/data/<suite>/<name>`` holds a
``model.onnx`` (opset 6 to 12; the importer upgrades it) and
``test_data_set_0/{input,output}_<i>.pb`` written by PyTorch. The reference
test (``tests/compiler/test_onnx_backend_reference.py``) and the C-level test
both run every case in ``BACKEND_CASES``:

    for case in BACKEND_CASES:
        model_path, feeds, expected = load_case(case)

Cases left out use ops or attributes cnnc does not compile (dilation, 3-D
windows, ConvTranspose, Pad, PRelu, Tanh, Exp, reductions, a MatMul/Gemm of two
activations as in test_operator_mm/addmm, ...) or float64 (``FLOAT64_CASES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

DATA_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data"


@dataclass(frozen=True)
class BackendCase:
    suite: str  # "pytorch-converted" | "pytorch-operator"
    name: str  # folder name, e.g. "test_Conv2d_depthwise"

    @property
    def path(self) -> Path:
        return DATA_DIR / self.suite / self.name

    def __str__(self) -> str:
        return self.name


_CONVERTED = [
    "test_AvgPool2d",
    "test_AvgPool2d_stride",
    "test_BatchNorm2d_eval",
    "test_BatchNorm2d_momentum_eval",
    "test_Conv2d",
    "test_Conv2d_depthwise",
    "test_Conv2d_depthwise_padded",
    "test_Conv2d_depthwise_strided",
    "test_Conv2d_depthwise_with_multiplier",
    "test_Conv2d_groups",
    "test_Conv2d_groups_thnn",
    "test_Conv2d_no_bias",
    "test_Conv2d_padding",
    "test_Conv2d_strided",
    "test_MaxPool2d",
    "test_Linear",
    "test_Linear_no_bias",
    "test_ReLU",
    "test_ELU",
    "test_LeakyReLU",
    "test_LeakyReLU_with_negval",
    "test_Sigmoid",
    "test_Softmax",
    "test_softmax_lastdim",
    "test_softmax_functional_dim3",
]
_OPERATOR = [
    "test_operator_clip",
    "test_operator_flatten",
    "test_operator_view",
    "test_operator_maxpool",
    "test_operator_concat2",
]

BACKEND_CASES: list[BackendCase] = [BackendCase("pytorch-converted", n) for n in _CONVERTED] + [
    BackendCase("pytorch-operator", n) for n in _OPERATOR
]

# The add cases are float64 models whose stored inputs are uninitialised memory (values up
# to 1e228 and denormals below 1e-308): no float32 program can reproduce them. cnnc rejects
# them with a message naming the dtype; the reference test checks that message.
FLOAT64_CASES: list[BackendCase] = [
    BackendCase("pytorch-operator", n)
    for n in (
        "test_operator_add_broadcast",
        "test_operator_add_size1_broadcast",
        "test_operator_add_size1_right_broadcast",
        "test_operator_add_size1_singleton_broadcast",
        "test_operator_addconstant",
    )
]


def read_pb(path: Path) -> np.ndarray:
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def input_names(model: onnx.ModelProto) -> list[str]:
    """Graph inputs that are not initializers (old exporters list both), in order."""
    inits = {t.name for t in model.graph.initializer}
    return [v.name for v in model.graph.input if v.name not in inits]


def load_case(case: BackendCase) -> tuple[Path, dict[str, np.ndarray], list[np.ndarray]]:
    """(model.onnx path, feeds by input name, expected outputs in graph-output order)."""
    model_path = case.path / "model.onnx"
    model = onnx.load(model_path)
    data = case.path / "test_data_set_0"
    names = input_names(model)
    inputs = [read_pb(data / f"input_{i}.pb") for i in range(len(names))]
    outputs = sorted(data.glob("output_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
    return model_path, dict(zip(names, inputs, strict=True)), [read_pb(p) for p in outputs]
