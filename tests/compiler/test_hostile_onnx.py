"""Hostile and broken ONNX files given to `cnnc compile`: each class of bad input ends in
exactly one `cnnc: error:` line, exit status 1, naming the tensor or node and the value,
never an internal error (issue 14; docs/robustness.md lists the classes).

Each case mutates one valid model (Conv -> BatchNormalization -> Clip -> Flatten -> Gemm)
and is run in float32 and in int8, where non-finite values used to crash the quantiser.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from cnnc import cli
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).parent.parent))
import onnx_builders  # noqa: E402

PLACEHOLDER = "UTF8PLACEHOLDER"  # replaced by invalid UTF-8 of the same length in the bytes


def base_model(
    x_shape=(1, 2, 7, 7), metadata: dict[str, str] | None = None, **conv
) -> onnx.ModelProto:
    rng = np.random.default_rng(14)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", **conv),
        helper.make_node(
            "BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["n"], name="bn"
        ),
        helper.make_node("Clip", ["n", "lo", "hi"], ["r"], name="clip"),
        helper.make_node("Flatten", ["r"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wd", "bd"], ["y"], name="fc", transB=1),
    ]
    out_hw = x_shape[2] - 2 + 2 * (conv.get("pads", [0])[0])
    init = {
        "w": rng.standard_normal((3, x_shape[1], 3, 3)).astype(np.float32),
        "b": rng.standard_normal(3).astype(np.float32),
        "gamma": rng.uniform(0.5, 1.5, 3).astype(np.float32),
        "beta": rng.standard_normal(3).astype(np.float32),
        "mean": rng.standard_normal(3).astype(np.float32),
        "var": rng.uniform(0.5, 2.0, 3).astype(np.float32),
        "lo": np.array(0.0, np.float32),
        "hi": np.array(6.0, np.float32),
        "wd": rng.standard_normal((5, 3 * out_hw * out_hw)).astype(np.float32),
        "bd": rng.standard_normal(5).astype(np.float32),
    }
    return onnx_builders.make_model(
        nodes, {"x": list(x_shape)}, {"y": [1, 5]}, init, metadata=metadata
    )


def initializer(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(t for t in model.graph.initializer if t.name == name)


def set_values(model: onnx.ModelProto, name: str, edit) -> onnx.ModelProto:
    t = initializer(model, name)
    values = numpy_helper.to_array(t).copy()
    edit(values)
    t.CopyFrom(numpy_helper.from_array(values, name))
    return model


def node(model: onnx.ModelProto, name: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.name == name)


def set_attr(model: onnx.ModelProto, node_name: str, **attrs) -> onnx.ModelProto:
    n = node(model, node_name)
    keep = [a for a in n.attribute if a.name not in attrs]
    del n.attribute[:]
    n.attribute.extend(keep + [helper.make_attribute(k, v) for k, v in attrs.items()])
    return model


def rewire(model: onnx.ModelProto, node_name: str, index: int, tensor: str) -> onnx.ModelProto:
    node(model, node_name).input[index] = tensor
    return model


def with_raw_bytes(model: onnx.ModelProto, name: str, delta: int) -> onnx.ModelProto:
    t = initializer(model, name)
    raw = t.raw_data
    t.raw_data = raw + b"\0" * delta if delta > 0 else raw[:delta]
    return model


def with_typed_values(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    t = initializer(model, name)
    values = numpy_helper.to_array(t).ravel()
    t.ClearField("raw_data")
    t.float_data.extend(values[:-1].tolist())  # one value short of the dims
    return model


def with_dims(model: onnx.ModelProto, name: str, dims: list[int]) -> onnx.ModelProto:
    t = initializer(model, name)
    del t.dims[:]
    t.dims.extend(dims)
    return model


def complex_initializer(model: onnx.ModelProto) -> onnx.ModelProto:
    t = initializer(model, "b")
    t.CopyFrom(numpy_helper.from_array(np.arange(3).astype(np.complex64), "b"))
    return model


def with_input_dim(model: onnx.ModelProto, axis: int, size: int) -> onnx.ModelProto:
    model.graph.input[0].type.tensor_type.shape.dim[axis].dim_value = size
    return model


def complex_input(model: onnx.ModelProto) -> onnx.ModelProto:
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.COMPLEX64
    return model


def gemm_k_mismatch() -> onnx.ModelProto:
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape gives the Gemm K = 8 against a
    weight of K = 64; only strict shape inference after folding the chain sees it
    (onnxruntime refuses the model: 'Dimension mismatch in unification between 64 and 8')."""
    rng = np.random.default_rng(8)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Shape", ["c"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "i0"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "ax"], ["nu"], name="unsqueeze"),
        helper.make_node("Concat", ["nu", "k"], ["shp"], name="concat", axis=0),
        helper.make_node("Reshape", ["c", "shp"], ["f"], name="reshape"),
        helper.make_node("Gemm", ["f", "wd"], ["y"], name="fc", transB=1),
    ]
    init = {
        "w": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
        "i0": np.array(0, np.int64),
        "ax": np.array([0], np.int64),
        "k": np.array([8], np.int64),
        "wd": rng.standard_normal((10, 64)).astype(np.float32),
    }
    return onnx_builders.make_model(nodes, {"x": [1, 1, 6, 6]}, {"y": [8, 10]}, init)


def metadata(**meta) -> onnx.ModelProto:
    return base_model(metadata={k.replace("_", ".", 1): v for k, v in meta.items()})


def invalid_utf8(model: onnx.ModelProto, where: str) -> bytes:
    """The model's bytes with PLACEHOLDER (set as `where`) replaced by invalid UTF-8."""
    if where == "node_name":
        node(model, "conv").name = PLACEHOLDER
    elif where == "metadata":
        onnx.helper.set_model_props(model, {"cnnc.model": PLACEHOLDER})
    elif where == "string_attr":
        set_attr(model, "conv", auto_pad=PLACEHOLDER)
    data = model.SerializeToString()
    assert data.count(PLACEHOLDER.encode()) == 1
    return data.replace(PLACEHOLDER.encode(), b"\xff\xfe" + b"\xc3" * (len(PLACEHOLDER) - 2))


# id -> (builder of the model or its bytes, fragments the one error line must contain)
CASES = {
    "nan_weight": (
        lambda: set_values(base_model(), "w", lambda v: v.__setitem__((1, 0, 2, 1), np.nan)),
        ["initializer 'w'", "nan", "[1, 0, 2, 1]", "NaN and Inf"],
    ),
    "inf_bias": (
        lambda: set_values(base_model(), "b", lambda v: v.__setitem__(2, -np.inf)),
        ["initializer 'b'", "-inf", "[2]"],
    ),
    "nan_bn_mean": (
        lambda: set_values(base_model(), "mean", lambda v: v.__setitem__(0, np.nan)),
        ["initializer 'mean'", "nan"],
    ),
    "bn_var_negative": (
        lambda: set_values(base_model(), "var", lambda v: v.__setitem__(1, -0.25)),
        ["node 'bn'", "'var'", "-0.25", "channel 1", "var >= 0"],
    ),
    "bn_var_zero_eps_zero": (
        lambda: set_attr(
            set_values(base_model(), "var", lambda v: v.__setitem__(2, 0.0)), "bn", epsilon=0.0
        ),
        ["node 'bn'", "channel 2", "epsilon=0", "var + epsilon > 0"],
    ),
    "bn_eps_negative": (
        lambda: set_attr(base_model(), "bn", epsilon=-1e-3),
        ["node 'bn'", "epsilon=-0.001"],
    ),
    "raw_data_too_long": (
        lambda: with_raw_bytes(base_model(), "w", 8),
        ["initializer 'w'", "224 bytes of raw_data", "need 54 x 4 = 216"],
    ),
    "raw_data_too_short": (
        lambda: with_raw_bytes(base_model(), "wd", -4),
        ["initializer 'wd'", "raw_data", "need"],
    ),
    "typed_data_count": (
        lambda: with_typed_values(base_model(), "b"),
        ["initializer 'b'", "2 values in float_data", "need 3"],
    ),
    "dim_negative": (
        lambda: with_dims(base_model(), "b", [-3]),
        ["initializer 'b'", "dimension -3", "[0, 2^31)"],
    ),
    "dim_2_31": (
        lambda: with_dims(base_model(), "b", [2**31]),
        ["initializer 'b'", "dimension 2147483648"],
    ),
    "elements_over_2_31": (
        lambda: with_dims(base_model(), "b", [65536, 32768]),
        ["initializer 'b'", "2147483648 elements", "below 2^31"],
    ),
    "input_dim_2_31": (
        lambda: with_input_dim(base_model(), 2, 2**31),
        ["input 'x'", "dimension 2147483648", "axis 2"],
    ),
    "activation_bytes_over_2_31": (
        lambda: onnx_builders.single_node("Relu", [1, 2, 23200, 23200]),
        ["tensor '", "4305920000 bytes", "below 2^31"],
    ),
    "complex_initializer": (
        lambda: complex_initializer(base_model()),
        ["initializer 'b'", "COMPLEX64", "real tensors only"],
    ),
    "complex_input": (
        lambda: complex_input(base_model()),
        ["tensor 'x'", "COMPLEX64"],
    ),
    "utf8_node_name": (
        lambda: invalid_utf8(base_model(), "node_name"),
        ["graph.node[0].name", "not valid UTF-8"],
    ),
    "utf8_string_attr": (
        lambda: invalid_utf8(base_model(), "string_attr"),
        ["graph.node[0].attribute", ".s", "not valid UTF-8"],
    ),
    "utf8_metadata": (
        lambda: invalid_utf8(base_model(), "metadata"),
        ["metadata_props[0].value", "not valid UTF-8"],
    ),
    "norm_mean_not_json": (
        lambda: metadata(cnnc_norm_mean="[0.5,"),
        ["cnnc.norm_mean", "JSON list of finite numbers"],
    ),
    "norm_mean_nan": (
        lambda: metadata(cnnc_norm_mean="[NaN]"),
        ["cnnc.norm_mean", "finite"],
    ),
    "norm_mean_wrong_length": (
        lambda: metadata(cnnc_norm_mean="[0.1, 0.2, 0.3]"),
        ["cnnc.norm_mean has 3 values", "2 channel(s)"],
    ),
    "norm_std_zero": (
        lambda: metadata(cnnc_norm_std="[0.5, 0]"),
        ["cnnc.norm_std", "positive"],
    ),
    "norm_std_not_a_list": (
        lambda: metadata(cnnc_norm_std='{"a": 1}'),
        ["cnnc.norm_std", "JSON list"],
    ),
    "input_size_not_int": (
        lambda: metadata(cnnc_input_size="8.5"),
        ["cnnc.input_size", "positive integer"],
    ),
    "auto_pad_valid_with_pads": (
        lambda: base_model(auto_pad="VALID", pads=[1, 1, 1, 1]),
        ["node 'conv'", "auto_pad='VALID'", "pads=[1, 1, 1, 1]"],
    ),
    "clip_min_above_max": (
        lambda: set_values(base_model(), "lo", lambda v: v.fill(7.0)),
        ["node 'clip'", "min=7.0 > max=6.0"],
    ),
    "conv_bias_shape": (
        lambda: rewire(base_model(), "conv", 2, "wd"),
        ["node 'conv'", "bias 'wd' has shape [5, 75]", "needs [3]"],
    ),
    "gemm_bias_not_broadcastable": (
        lambda: rewire(base_model(), "fc", 2, "mean"),
        ["node 'fc'", "bias 'mean' has shape [3]", "output [1, 5]"],
    ),
    "bn_param_shape": (
        lambda: rewire(base_model(), "bn", 1, "bd"),
        ["node 'bn'", "scale 'bd' has shape [5]", "needs [3]"],
    ),
    "gemm_k_mismatch_after_folding": (
        gemm_k_mismatch,
        ["after folding", "fc", "64", "8"],
    ),
}


def external_model(tmp_path: Path, location: str) -> Path:
    """A model whose 'wd' lives in external data at `location` (written there if possible)."""
    model = base_model()
    t = initializer(model, "wd")
    raw = t.raw_data
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(len(raw)))):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    outside = tmp_path / "secret.bin"
    outside.write_bytes(raw)
    if location == "link.bin":
        os.symlink(outside, folder / "link.bin")
    return path


EXTERNAL_CASES = {
    "external_absolute_path": ("{tmp}/secret.bin", ["initializer 'wd'", "relative to the model"]),
    "external_dotdot": ("../secret.bin", ["initializer 'wd'", "leaves the model's folder"]),
    "external_symlink_out": ("link.bin", ["initializer 'wd'", "outside the model's folder"]),
    "external_past_end": ("missing.bin", ["initializer 'wd'", "not found"]),
}


def cnnc(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, fragments: list[str]) -> None:
    lines = err.strip().splitlines()
    assert code == 1, f"exit {code}, stderr {err!r}"
    assert len(lines) == 1 and lines[0].startswith("cnnc: error: "), f"stderr: {err!r}"
    assert "internal error" not in lines[0], lines[0]
    missing = [f for f in fragments if f not in lines[0]]
    assert not missing, f"{missing} not in {lines[0]!r}"


@pytest.fixture(scope="module")
def calibration(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("calib") / "calib.npz"
    np.savez(path, x=np.random.default_rng(1).standard_normal((4, 2, 7, 7)).astype(np.float32))
    return path


def compile_args(path: Path, out: Path, precision: str, calibration: Path) -> list:
    extra = ["--calibration", calibration] if precision == "int8" else []
    return ["compile", path, "-o", out, "--precision", precision, *extra]


@pytest.mark.parametrize("precision", ["float32", "int8"])
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_onnx_is_one_clear_error(capsys, tmp_path, calibration, case, precision):
    build, fragments = CASES[case]
    model = build()
    data = model if isinstance(model, bytes) else model.SerializeToString()
    path = tmp_path / f"{case}.onnx"
    path.write_bytes(data)
    code, _, err = cnnc(capsys, *compile_args(path, tmp_path / "out", precision, calibration))
    assert_one_line_error(code, err, [str(path), *fragments])


@pytest.mark.parametrize("case", list(EXTERNAL_CASES))
def test_external_data_stays_in_the_model_folder(capsys, tmp_path, case):
    location, fragments = EXTERNAL_CASES[case]
    path = external_model(tmp_path, location.format(tmp=tmp_path))
    code, _, err = cnnc(capsys, "compile", path, "-o", tmp_path / "out")
    assert_one_line_error(code, err, ["cannot read its external weight data", *fragments])


def test_external_data_inside_the_folder_loads(capsys, tmp_path):
    path = external_model(tmp_path, "wd.bin")
    (path.parent / "wd.bin").write_bytes((tmp_path / "secret.bin").read_bytes())
    code, _, err = cnnc(capsys, "compile", path, "-o", tmp_path / "out")
    assert code == 0, err


@pytest.mark.parametrize("precision", ["float32", "int8"])
def test_the_unmutated_model_compiles(capsys, tmp_path, calibration, precision):
    """The control: every case above differs from this model in one place only."""
    path = tmp_path / "base.onnx"
    path.write_bytes(base_model().SerializeToString())
    code, _, err = cnnc(capsys, *compile_args(path, tmp_path / "out", precision, calibration))
    assert code == 0, err


def test_var_zero_with_positive_eps_is_accepted(capsys, tmp_path):
    """A dead channel's running var of 0 is common in trained models; eps keeps it finite."""
    path = tmp_path / "var0.onnx"
    model = set_values(base_model(), "var", lambda v: v.__setitem__(0, 0.0))
    path.write_bytes(model.SerializeToString())
    code, _, err = cnnc(capsys, "compile", path, "-o", tmp_path / "out")
    assert code == 0, err


# finite weights whose arithmetic overflows float32: refused after lowering or calibration
OVERFLOW_CASES = {
    "bn_fold_overflows_float32": (
        "float32",
        lambda v: v.__setitem__(0, 3e38),
        "gamma",
        ["constant 'conv.", "inf", "after folding", "overflow float32"],
    ),
    "calibration_overflows_float32": (
        "int8",
        lambda v: v.__setitem__((0, 0, 0, 0), 3e38),
        "wd_conv_only",
        ["calibration: tensor", "overflow float32", "no int8 range"],
    ),
}


@pytest.mark.parametrize("case", list(OVERFLOW_CASES))
def test_finite_weights_that_overflow_float32(capsys, tmp_path, calibration, case):
    precision, edit, tensor, fragments = OVERFLOW_CASES[case]
    if tensor == "wd_conv_only":  # a conv alone: nothing clamps its overflowing output
        w = np.random.default_rng(3).standard_normal((3, 2, 3, 3)).astype(np.float32)
        edit(w)
        model = onnx_builders.single_node("Conv", [1, 2, 7, 7], {"w": w})
    else:
        model = set_values(base_model(), tensor, edit)
    path = tmp_path / f"{case}.onnx"
    path.write_bytes(model.SerializeToString())
    code, _, err = cnnc(capsys, *compile_args(path, tmp_path / "out", precision, calibration))
    assert_one_line_error(code, err, fragments)


def test_external_data_of_an_in_memory_model_is_refused(tmp_path):
    """A ModelProto has no folder: its external data is refused, never read relative to
    the current directory."""
    from cnnc.errors import ModelError
    from cnnc.frontend import onnx_import

    path = external_model(tmp_path, "wd.bin")
    model = onnx.load_model_from_string(path.read_bytes())
    with pytest.raises(ModelError, match=r"initializer 'wd' keeps its data in an external file"):
        onnx_import.load(model)
