"""A model with two graph outputs (a detection-style net: a conv trunk, a classifier head
and a box head reading an intermediate feature map) compiles to C whose one output
buffer holds both outputs back to back (docs/generated_c.md). float32: C within 1e-4 of
the output range of onnxruntime and of the reference; int8: C == reference bit for bit;
`cnnc verify` names each output; and once under qemu aarch64."""

import cnnc
import numpy as np
import pytest
from cnnc import cli
from cnnc.errors import UnsupportedError
from onnx import helper

from tests.onnx_builders import make_model, run_onnxruntime
from tests.toolchains import require_target

FLOAT_RTOL = 1e-4  # of each output's range, the float32 contract (DESIGN.md)


def two_head_model(seed: int = 0):
    """x[1,3,12,12] -> conv3x3 8 + relu (feat) -> conv3x3/2 8 + relu -> GAP -> flatten ->
    gemm 5 ("logits"); feat -> conv1x1 4 ("boxes" [1,4,12,12])."""
    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    consts = {"w1": w(8, 3, 3, 3), "b1": w(8), "w2": w(8, 8, 3, 3), "b2": w(8),
              "wf": w(5, 8), "bf": w(5), "wb": w(4, 8, 1, 1), "bb": w(4)}  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["feat"], name="relu1"),
        helper.make_node("Conv", ["feat", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1],
                         strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "wf", "bf"], ["logits"], name="fc", transB=1),
        helper.make_node("Conv", ["feat", "wb", "bb"], ["boxes"], name="box_head"),
    ]  # fmt: skip
    return make_model(nodes, {"x": [1, 3, 12, 12]}, {"logits": [1, 5], "boxes": [1, 4, 12, 12]},
                      consts)  # fmt: skip


@pytest.fixture(scope="module")
def model():
    return two_head_model()


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(1).standard_normal((6, 3, 12, 12)).astype(np.float32)


@pytest.fixture(scope="module")
def float_build(model, tmp_path_factory):
    return cnnc.compile(model, tmp_path_factory.mktemp("mo") / "float")


@pytest.fixture(scope="module")
def int8_build(model, tmp_path_factory):
    cal = np.random.default_rng(2).standard_normal((16, 3, 12, 12)).astype(np.float32)
    return cnnc.compile(model, tmp_path_factory.mktemp("mo") / "int8", precision="int8",
                        calibration=cal)  # fmt: skip


def within(actual, expected, what):
    span = float(expected.max() - expected.min())
    worst = float(np.abs(actual.astype(np.float64) - expected).max())
    assert worst <= FLOAT_RTOL * span, f"{what}: max |diff| {worst:.3g} > 1e-4 x {span:.3g}"


def test_float32_outputs_match_onnxruntime_and_reference(float_build, model, x):
    ys = float_build.run(x)
    refs = float_build.reference(x)
    assert isinstance(ys, list) and isinstance(refs, list)
    assert [y.shape for y in ys] == [(6, 5), (6, 4, 12, 12)]
    for i, (y, ref) in enumerate(zip(ys, refs, strict=True)):
        ort = np.concatenate([run_onnxruntime(model, {"x": s[None]})[i] for s in x])
        within(y, ort, f"output {i}: C vs onnxruntime")
        within(y, ref, f"output {i}: C vs reference")


def test_int8_outputs_are_bit_exact_to_the_reference(int8_build, x):
    ys, refs = int8_build.run(x), int8_build.reference(x)
    assert [y.shape for y in ys] == [(6, 5), (6, 4, 12, 12)]
    for i, (y, ref) in enumerate(zip(ys, refs, strict=True)):
        np.testing.assert_array_equal(y, ref, err_msg=f"output {i}")
        assert np.unique(y).size > 3, f"output {i} is (nearly) constant: a vacuous comparison"


def test_model_h_lays_the_outputs_back_to_back(float_build):
    h = (float_build.out_dir / "model.h").read_text()
    assert "#define CNNC_MODEL_OUTPUTS 2" in h
    assert "#define CNNC_MODEL_OUTPUT_SIZE 581" in h  # 5 + 4*12*12
    assert "#define CNNC_MODEL_OUTPUT0_OFFSET 0" in h
    assert "#define CNNC_MODEL_OUTPUT1_OFFSET 5" in h
    assert "#define CNNC_MODEL_OUTPUT1_SIZE 576" in h


def test_cli_verify_names_each_output(int8_build, x, tmp_path, capsys):
    np.savez(tmp_path / "x.npz", x=x)
    assert cli.main(["verify", str(int8_build.out_dir), "--inputs", str(tmp_path / "x.npz")]) == 0
    out = capsys.readouterr().out
    assert "output 0 'logits' matches (bit-exact)" in out
    assert "output 1 'boxes' matches (bit-exact)" in out


def test_cli_verify_names_the_output_that_differs(float_build, x, tmp_path, capsys, monkeypatch):
    """A wrong value in the second output is reported against that output only."""
    real = cnnc.CompiledModel.run

    def corrupt(self, xs):
        ys = real(self, xs)
        ys[1][0, 2, 3, 4] += 1.0
        return ys

    monkeypatch.setattr(cnnc.CompiledModel, "run", corrupt)
    np.savez(tmp_path / "x.npz", x=x)
    assert cli.main(["verify", str(float_build.out_dir), "--inputs", str(tmp_path / "x.npz")]) == 1
    out = capsys.readouterr().out
    assert "output 0 'logits' matches" in out
    assert "output 1 'boxes' DIFFERS" in out and "index [0, 2, 3, 4]" in out


def test_int8_io_with_two_outputs_is_refused(model, tmp_path):
    cal = np.random.default_rng(2).standard_normal((8, 3, 12, 12)).astype(np.float32)
    with pytest.raises(UnsupportedError, match="--int8-io takes a model with one output"):
        cnnc.compile(model, tmp_path / "io", precision="int8", calibration=cal, int8_io=True)


def test_int8_outputs_are_bit_exact_under_qemu_aarch64(int8_build, x, tmp_path, capsys):
    require_target("aarch64")
    np.savez(tmp_path / "x.npz", x=x[:2])
    code = cli.main(["verify", str(int8_build.out_dir), "--inputs", str(tmp_path / "x.npz"),
                     "--target", "aarch64"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "output 0 'logits' matches (bit-exact)" in out
    assert "output 1 'boxes' matches (bit-exact)" in out


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_multi_output_c_compiles_strict(float_build, cc):
    import shutil
    import subprocess

    if shutil.which(cc) is None:
        pytest.skip(f"{cc} is not installed")
    d = float_build.out_dir
    cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only",
           f"-I{d}", f"-I{d / 'cnnc_runtime' / 'include'}", str(d / "model.c")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_cli_run_writes_each_output(float_build, x, tmp_path, capsys):
    np.savez(tmp_path / "x.npz", x=x)
    assert cli.main(["run", str(float_build.out_dir), "--inputs", str(tmp_path / "x.npz"),
                     "--output", str(tmp_path / "y.npy")]) == 0  # fmt: skip
    assert "2 outputs" in capsys.readouterr().out
    with np.load(tmp_path / "y.npz") as saved:
        for i, ref in enumerate(float_build.reference(x)):
            within(saved[f"output{i}"], ref, f"cnnc run output{i}")


def test_cli_eval_refuses_several_outputs(float_build, capsys):
    assert cli.main(["eval", str(float_build.out_dir), "--dataset", "digits"]) != 0
    assert "eval scores a classifier's one output" in capsys.readouterr().err


def test_an_output_read_by_later_layers_is_kept(model, x, tmp_path):
    """Outputs that later layers also read (c1 before its ReLU, feat before two heads):
    no fusion or in-place reuse may swallow them. float32 vs onnxruntime, int8 exact."""
    from onnx import TensorProto

    m = type(model)()
    m.CopyFrom(model)
    m.graph.output.insert(0, helper.make_tensor_value_info("c1", TensorProto.FLOAT, [1, 8, 12, 12]))
    m.graph.output.append(helper.make_tensor_value_info("feat", TensorProto.FLOAT, [1, 8, 12, 12]))
    ys = cnnc.compile(m, tmp_path / "f").run(x)
    assert [y.shape for y in ys] == [(6, 8, 12, 12), (6, 5), (6, 4, 12, 12), (6, 8, 12, 12)]
    for i, y in enumerate(ys):
        within(y, np.concatenate([run_onnxruntime(m, {"x": s[None]})[i] for s in x]), f"out {i}")
    cal = np.random.default_rng(2).standard_normal((16, 3, 12, 12)).astype(np.float32)
    q = cnnc.compile(m, tmp_path / "q", precision="int8", calibration=cal)
    for i, (y, ref) in enumerate(zip(q.run(x), q.reference(x), strict=True)):
        np.testing.assert_array_equal(y, ref, err_msg=f"int8 output {i}")
