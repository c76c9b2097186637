"""The cnnc command, run in-process through cnnc.cli.main: compile, run, verify (whole
model and per layer, including a deliberately wrong reference), report, eval, and the
one-line `cnnc: error: ...` contract for bad input."""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from cnnc import cli
from onnx import helper

sys.path.insert(0, str(Path(__file__).parent.parent))
import onnx_builders  # noqa: E402

DIGITS_META = {
    "cnnc.model": "tiny",
    "cnnc.dataset": "digits",
    "cnnc.input_size": "8",
    "cnnc.norm_mean": "[0.3]",
    "cnnc.norm_std": "[0.4]",
    "cnnc.classes": "10",
}


def tiny_onnx(rng) -> onnx.ModelProto:
    """Conv+Clip(ReLU6) -> MaxPool -> Conv+Relu -> GlobalAveragePool -> Flatten -> Gemm on
    an 8x8 one-channel input (the digits images), with cnnc metadata for `cnnc eval`."""
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"], name="relu6"),
        helper.make_node(
            "MaxPool", ["r1"], ["p1"], name="pool", kernel_shape=[2, 2], strides=[2, 2]
        ),  # fmt: skip
        helper.make_node("Conv", ["p1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wd", "bd"], ["y"], name="fc", transB=1),
    ]
    init = {
        "w1": rng.standard_normal((6, 1, 3, 3)).astype(np.float32),
        "b1": rng.standard_normal(6).astype(np.float32) * 0.1,
        "lo": np.array(0.0, np.float32),
        "hi": np.array(6.0, np.float32),
        "w2": rng.standard_normal((12, 6, 3, 3)).astype(np.float32) * 0.3,
        "wd": rng.standard_normal((10, 12)).astype(np.float32),
        "bd": rng.standard_normal(10).astype(np.float32) * 0.1,
    }
    # dynamic batch and the input name "input", as cnnc.models exports (for `cnnc eval`)
    return onnx_builders.make_model(nodes, {"input": ["N", 1, 8, 8]}, {"y": ["N", 10]}, init,
                                    metadata=DIGITS_META)  # fmt: skip


@pytest.fixture
def model_file(rng, tmp_path):
    path = tmp_path / "tiny.onnx"
    model = tiny_onnx(rng)
    onnx.save(model, path)
    x = rng.standard_normal((5, 1, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    return path, model, x


def cnnc(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def compiled(capsys, tmp_path, model_path, *extra):
    code, out, err = cnnc(capsys, "compile", model_path, "-o", tmp_path / "out", *extra)
    assert code == 0, err
    return tmp_path / "out", out


def test_compile_writes_the_folder_and_prints_the_report(capsys, tmp_path, model_file):
    out_dir, printed = compiled(capsys, tmp_path, model_file[0])
    for name in ("model.c", "model.h", "weights.bin", "report.json", "Makefile", "cnnc.json"):
        assert (out_dir / name).is_file(), name
    report = json.loads((out_dir / "report.json").read_text())
    assert "RAM:   arena" in printed and "conv2d" in printed
    # MACs hand-computed: conv1 8*8*6*9, conv2 4*4*12*54, fc 10*12
    assert report["totals"]["macs"] == 8 * 8 * 6 * 9 + 4 * 4 * 12 * 54 + 10 * 12
    assert report["totals"]["arena_bytes"] >= report["totals"]["arena_lower_bound"] > 0
    assert json.loads((out_dir / "cnnc.json").read_text())["precision"] == "float32"


def test_run_matches_onnxruntime(capsys, tmp_path, model_file):
    path, model, x = model_file
    out_dir, _ = compiled(capsys, tmp_path, path)
    code, out, err = cnnc(capsys, "run", out_dir, "--inputs", tmp_path / "x.npz",
                          "--output", tmp_path / "y.npy")  # fmt: skip
    assert code == 0, err
    y = np.load(tmp_path / "y.npy")
    expected = np.concatenate(
        [onnx_builders.run_onnxruntime(model, {"input": s[None]})[0] for s in x]
    )
    span = float(expected.max() - expected.min())
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-4 * span)


def test_verify_passes_whole_and_per_layer(capsys, tmp_path, model_file):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0])
    code, out, err = cnnc(capsys, "verify", out_dir, "--inputs", tmp_path / "x.npz", "--per-layer")
    assert code == 0, out + err
    assert "output matches" in out and "layers match" in out


def test_verify_names_the_first_diverging_layer(capsys, tmp_path, model_file):
    """Change the reference's view of layer 'relu' (act relu -> none) behind the C's back:
    verify must fail and name that layer as the first divergence."""
    out_dir, _ = compiled(capsys, tmp_path, model_file[0])
    graph = json.loads((out_dir / "graph.json").read_text())
    conv2 = next(n for n in graph["nodes"] if n["name"] == "conv2")
    assert conv2["attrs"]["__dict__"]["act"] == "relu"  # Relu was fused into conv2
    conv2["attrs"]["__dict__"]["act"] = "none"
    (out_dir / "graph.json").write_text(json.dumps(graph))
    code, out, err = cnnc(capsys, "verify", out_dir, "--inputs", tmp_path / "x.npz", "--per-layer")
    assert code == 1
    index = [n["name"] for n in graph["nodes"]].index("conv2")
    assert f"first diverging layer: {index} (conv2d 'conv2')" in out
    assert "DIFFERS" in out


def test_int8_with_digits_calibration_verifies_bit_exact(capsys, tmp_path, model_file):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0], "--precision", "int8",
                          "--calibration", "digits")  # fmt: skip
    assert json.loads((out_dir / "cnnc.json").read_text())["precision"] == "int8"
    code, out, err = cnnc(capsys, "verify", out_dir, "--inputs", tmp_path / "x.npz", "--per-layer")
    assert code == 0, out + err
    assert "output matches (bit-exact)" in out and "s8_conv2d" in out


def test_report_of_int8_build_shows_the_quantisation_error_table(capsys, tmp_path, model_file):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0], "--precision", "int8",
                          "--calibration", "digits")  # fmt: skip
    code, out, err = cnnc(capsys, "report", out_dir)
    assert code == 0, err
    table = out.split("quantisation error per layer")[1].splitlines()[2:]
    rows = {line.split()[0]: line.split() for line in table if line.strip()}
    assert {"conv1", "conv2", "fc"} <= set(rows), out
    cosines = [float(r[2]) for r in rows.values()]
    assert all(0.9 < c <= 1.0 for c in cosines), out
    assert sum("<- lowest SNR" in line for line in table) == 1


def test_verify_against_onnxruntime_reports_lsb_differences(capsys, tmp_path, model_file):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0], "--precision", "int8",
                          "--calibration", "digits")  # fmt: skip
    code, out, err = cnnc(capsys, "verify", out_dir, "--inputs", tmp_path / "x.npz",
                          "--onnxruntime")  # fmt: skip
    assert code == 0, out + err
    assert "onnxruntime vs cnnc, whole model:" in out
    rows = [line.split() for line in out.split("max LSB")[1].splitlines() if line.strip()]
    assert [r[0] for r in rows] == ["conv1", "pool", "conv2", "gap", "fc"], out
    # each layer alone, fed cnnc's own int8 inputs: only rounding ties may differ, by 1 LSB
    assert all(int(r[-1]) <= 1 for r in rows), out


def test_verify_against_onnxruntime_refuses_float_builds(capsys, tmp_path, model_file):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0])
    code, out, err = cnnc(capsys, "verify", out_dir, "--inputs", tmp_path / "x.npz",
                          "--onnxruntime")  # fmt: skip
    assert code == 1 and "--onnxruntime compares int8 builds" in err


def test_int8_io_compiles_and_verifies(capsys, tmp_path, model_file):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0], "--precision", "int8",
                          "--calibration", "digits", "--int8-io")  # fmt: skip
    assert "cnnc_model_run_s8(" in (out_dir / "model.h").read_text()
    code, out, err = cnnc(capsys, "verify", out_dir, "--inputs", tmp_path / "x.npz", "--per-layer")
    assert code == 0, out + err
    assert "output matches (bit-exact)" in out and "s8_quantize" not in out


def test_report_prints_the_table(capsys, tmp_path, model_file):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0])
    code, out, _ = cnnc(capsys, "report", out_dir)
    assert code == 0
    assert "flash: weights.bin" in out and "lower bound" in out and "gap" in out


def test_eval_of_folder_equals_eval_of_onnx(capsys, tmp_path, model_file):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0])
    code_c, out_c, err_c = cnnc(capsys, "eval", out_dir, "--dataset", "digits")
    code_o, out_o, err_o = cnnc(capsys, "eval", model_file[0], "--dataset", "digits")
    assert code_c == 0 and code_o == 0, err_c + err_o
    acc_c = float(out_c.split()[2])
    acc_o = float(out_o.split()[2])
    assert acc_c == acc_o
    assert "compiled C on host" in out_c


def test_embed_weights_flag(capsys, tmp_path, model_file):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0], "--embed-weights")
    assert not (out_dir / "weights.bin").exists()
    code, out, err = cnnc(capsys, "verify", out_dir, "--inputs", tmp_path / "x.npz")
    assert code == 0, out + err


def assert_one_line_error(code, out, err, *fragments):
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnnc: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_missing_model_file(capsys, tmp_path):
    result = cnnc(capsys, "compile", tmp_path / "nope.onnx", "-o", tmp_path / "o")
    assert_one_line_error(*result, "nope.onnx", "no such ONNX file")


def test_corrupt_weights_reported_on_verify(capsys, tmp_path, model_file):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0])
    data = bytearray((out_dir / "weights.bin").read_bytes())
    data[-7] ^= 0xFF
    (out_dir / "weights.bin").write_bytes(bytes(data))
    result = cnnc(capsys, "verify", out_dir, "--inputs", tmp_path / "x.npz")
    assert_one_line_error(*result, "weights.bin", "CRC32 mismatch")


def test_unsupported_op_is_one_line_naming_the_node(capsys, tmp_path, rng):
    model = onnx_builders.single_node("Sin", [1, 3, 5, 5])
    onnx.save(model, tmp_path / "sin.onnx")
    result = cnnc(capsys, "compile", tmp_path / "sin.onnx", "-o", tmp_path / "o")
    assert_one_line_error(*result, "Sin", "sin0")


def test_int8_without_calibration(capsys, tmp_path, model_file):
    result = cnnc(capsys, "compile", model_file[0], "-o", tmp_path / "o", "--precision", "int8")
    assert_one_line_error(*result, "calibration")


@pytest.mark.parametrize("problem", ["missing-file", "no-x-key", "wrong-size"])
def test_bad_inputs_file(capsys, tmp_path, model_file, problem):
    out_dir, _ = compiled(capsys, tmp_path, model_file[0])
    bad = tmp_path / "bad.npz"
    if problem == "no-x-key":
        np.savez(bad, images=np.ones((1, 1, 8, 8), np.float32))
    elif problem == "wrong-size":
        np.savez(bad, x=np.linspace(0, 1, 65, dtype=np.float32))
    result = cnnc(capsys, "verify", out_dir, "--inputs", bad)
    fragment = {"missing-file": "no such file", "no-x-key": "no array named 'x'",
                "wrong-size": "has shape [65]; the model input is"}[problem]  # fmt: skip
    assert_one_line_error(*result, fragment)


def test_corrupt_onnx_file(capsys, tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07garbage")
    result = cnnc(capsys, "compile", tmp_path / "bad.onnx", "-o", tmp_path / "o")
    assert_one_line_error(*result, "bad.onnx")


def test_not_an_output_folder(capsys, tmp_path):
    result = cnnc(capsys, "report", tmp_path)
    assert_one_line_error(*result, "not a cnnc output folder")


def test_train_subcommand_takes_the_model_arguments(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["train", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "mobilenetv2" in out and "--epochs" in out


@pytest.mark.arm
@pytest.mark.parametrize("target", ["aarch64", "armv7"])
def test_verify_on_arm_under_qemu(capsys, tmp_path, model_file, target):
    """The same verify, with the folder cross-built and run under qemu-user (cnnc.host.cross)."""
    out_dir, _ = compiled(capsys, tmp_path, model_file[0])
    code, out, err = cnnc(capsys, "verify", out_dir, "--inputs", tmp_path / "x.npz",
                          "--target", target, "--per-layer")  # fmt: skip
    assert code == 0, out + err
    assert f"on {target}" in out and "output matches" in out and "layers match" in out
