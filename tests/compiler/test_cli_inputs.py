"""Hostile and careless inputs to `cnnc run`, `verify` and `compile --calibration`, and
damaged output folders: each class ends in one `cnnc: error:` line, exit 1, naming the
file and the problem, never an internal error; nothing is silently reinterpreted
(issue 14; docs/robustness.md lists the classes).
"""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from cnnc import cli

sys.path.insert(0, str(Path(__file__).parent.parent))
import onnx_builders  # noqa: E402
from onnx import helper  # noqa: E402

X_SHAPE = [1, 1, 5, 5]


def small_onnx():
    """Conv (2 out channels) -> Relu -> Flatten -> Gemm(4) on a [1, 1, 5, 5] input."""
    rng = np.random.default_rng(3)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wd"], ["y"], name="fc", transB=1),
    ]
    init = {
        "w": rng.standard_normal((2, 1, 3, 3)).astype(np.float32),
        "wd": rng.standard_normal((4, 50)).astype(np.float32),
    }
    return onnx_builders.make_model(nodes, {"x": X_SHAPE}, {"y": [1, 4]}, init)


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
def folders(tmp_path_factory):
    """One float32 and one int8 build of the small model (built once: C compiles are slow)."""
    root = tmp_path_factory.mktemp("builds")
    model = root / "small.onnx"
    model.write_bytes(small_onnx().SerializeToString())
    calib = root / "calib.npz"
    np.savez(calib, x=np.random.default_rng(5).standard_normal((6, *X_SHAPE[1:])))
    built = {}
    for precision in ("float32", "int8"):
        out = root / precision
        extra = ["--calibration", str(calib)] if precision == "int8" else []
        code = cli.main(["compile", str(model), "-o", str(out), "--precision", precision, *extra])
        assert code == 0
        built[precision] = out
    return {"root": root, "model": model, **built}


def write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def sample(n=1, shape=X_SHAPE, dtype=np.float32):
    return np.random.default_rng(7).standard_normal((n, *shape[1:])).astype(dtype)


# id -> (writer of the bad file at a path, fragments of the error line)
BAD_FILES = {
    "npy_file": (lambda p: np.save(p, sample()), ["is an .npy file", "np.savez"]),
    "empty_file": (lambda p: p.write_bytes(b""), ["file is empty"]),
    "pickled_file": (
        lambda p: p.write_bytes(pickle.dumps({"x": sample()})),
        ["is a Python pickle", "never unpickles"],
    ),
    "text_file": (lambda p: p.write_text("1 2 3\n"), ["not an .npz (zip) archive"]),
    "truncated_npz": (
        lambda p: p.write_bytes(npz_bytes(p, x=sample())[:60]),
        ["not a readable .npz file"],
    ),
    "object_array": (
        lambda p: np.savez(p, x=np.array([sample(), "s"], dtype=object)),
        ["not a readable .npz file", "allow_pickle"],
    ),
    "no_x": (lambda p: np.savez(p, images=sample()), ["no array named 'x'", "images"]),
    "complex_x": (
        lambda p: np.savez(p, x=sample().astype(np.complex64) * 1j),
        ["dtype complex64", "real numbers"],
    ),
    "text_x": (lambda p: np.savez(p, x=np.array(["a", "b"])), ["dtype <U1"]),
    "beyond_float32": (
        lambda p: np.savez(p, x=np.full((1, *X_SHAPE[1:]), 1e300)),
        ["1e+300", "beyond float32's range"],
    ),
    "folder": (lambda p: p.mkdir(), ["is a folder"]),
    "missing": (lambda p: None, ["no such file"]),
}


def npz_bytes(path: Path, **arrays) -> bytes:
    np.savez(path, **arrays)
    return path.read_bytes()


def bad_file(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.npz"
    BAD_FILES[case][0](path)
    if case == "npy_file":  # np.save wrote <case>.npz.npy: the user renamed it .npz
        (tmp_path / f"{case}.npz.npy").rename(path)
    return path


@pytest.mark.parametrize("command", ["run", "verify"])
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_inputs_file(capsys, tmp_path, folders, case, command):
    path = bad_file(tmp_path, case)
    extra = ["--output", tmp_path / "y.npy"] if command == "run" else []
    code, _, err = cnnc(capsys, command, folders["float32"], "--inputs", path, *extra)
    assert_one_line_error(code, err, ["--inputs", str(path), *BAD_FILES[case][1]])


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_calibration_file(capsys, tmp_path, folders, case):
    path = bad_file(tmp_path, case)
    argv = ["compile", folders["model"], "-o", tmp_path / "out", "--precision", "int8"]
    code, _, err = cnnc(capsys, *argv, "--calibration", path)
    assert_one_line_error(code, err, ["calibration", str(path), *BAD_FILES[case][1]])


# id -> (x, fragments); the model input is [1, 1, 5, 5]
BAD_SHAPES = {
    "channels_as_batch": (sample(shape=[1, 3, 5, 5]), ["shape [1, 3, 5, 5]", "[N, 1, 5, 5]"]),
    "flat_sample": (sample().reshape(1, 25), ["shape [1, 25]"]),
    "no_batch_axis": (sample().reshape(1, 5, 5), ["shape [1, 5, 5]"]),
    "transposed": (sample(shape=[1, 5, 5, 1]), ["shape [1, 5, 5, 1]"]),
    "empty_batch": (sample(n=0), ["shape [0, 1, 5, 5]", "N >= 1"]),
}


@pytest.mark.parametrize("command", ["run", "verify"])
@pytest.mark.parametrize("case", list(BAD_SHAPES))
def test_inputs_of_the_wrong_shape_are_refused(capsys, tmp_path, folders, case, command):
    x, fragments = BAD_SHAPES[case]
    path = write_npz(tmp_path / "x.npz", x=x)
    extra = ["--output", tmp_path / "y.npy"] if command == "run" else []
    code, _, err = cnnc(capsys, command, folders["float32"], "--inputs", path, *extra)
    assert_one_line_error(code, err, ["input 'x'", "the model input is [1, 1, 5, 5]", *fragments])


@pytest.mark.parametrize("x_dtype", [np.float64, np.int16, np.bool_], ids=lambda t: t.__name__)
@pytest.mark.parametrize("n", [1, 3])
def test_run_and_verify_accept_the_same_inputs(capsys, tmp_path, folders, n, x_dtype):
    """A batch of n samples in any real dtype: run writes n outputs, verify checks n."""
    path = write_npz(tmp_path / "x.npz", x=sample(n, dtype=np.float64).astype(x_dtype))
    code, out, err = cnnc(capsys, "run", folders["float32"], "--inputs", path,
                          "--output", tmp_path / "y.npy")  # fmt: skip
    assert code == 0, err
    assert np.load(tmp_path / "y.npy").shape == (n, 4)
    code, out, err = cnnc(capsys, "verify", folders["float32"], "--inputs", path)
    assert code == 0 and f"{n} sample(s)" in out and "matches" in out, (out, err)


@pytest.mark.parametrize("given, written", [("y", "y.npy"), ("y.npy", "y.npy"),
                                            ("y.out", "y.out.npy")])  # fmt: skip
def test_run_output_is_the_path_it_prints(capsys, tmp_path, folders, given, written):
    path = write_npz(tmp_path / "x.npz", x=sample(2))
    code, out, err = cnnc(capsys, "run", folders["float32"], "--inputs", path,
                          "--output", tmp_path / given)  # fmt: skip
    assert code == 0, err
    assert f"wrote {tmp_path / written}:" in out
    assert sorted(p.name for p in tmp_path.glob("y*")) == [written]


@pytest.mark.parametrize("case", ["existing_folder", "missing_parent"])
def test_run_output_that_cannot_be_written(capsys, tmp_path, folders, case):
    path = write_npz(tmp_path / "x.npz", x=sample())
    target = tmp_path / "dir.npy" if case == "existing_folder" else tmp_path / "no" / "y.npy"
    if case == "existing_folder":
        target.mkdir()
    code, _, err = cnnc(capsys, "run", folders["float32"], "--inputs", path, "--output", target)
    fragment = "is a folder" if case == "existing_folder" else "does not exist"
    assert_one_line_error(code, err, ["--output", str(target), fragment])


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_inputs_refused_by_int8_builds(capsys, tmp_path, folders, value):
    x = sample(2)
    x[1, 0, 3, 2] = value
    path = write_npz(tmp_path / "x.npz", x=x)
    code, _, err = cnnc(capsys, "verify", folders["int8"], "--inputs", path)
    assert_one_line_error(code, err, ["input 'x'", str(value), "[1, 0, 3, 2]", "finite inputs"])


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_calibration_refused(capsys, tmp_path, folders, value):
    x = sample(3)
    x[2, 0, 1, 1] = value
    path = write_npz(tmp_path / "c.npz", x=x)
    argv = ["compile", folders["model"], "-o", tmp_path / "out", "--precision", "int8"]
    code, _, err = cnnc(capsys, *argv, "--calibration", path)
    assert_one_line_error(code, err, ["calibration", "NaN or inf", "[2, 0, 1, 1]"])


def test_nan_input_of_a_float32_build_reaches_the_reference_as_nan(folders):
    """The float32 NaN policy: inputs pass through unchanged (the reference propagates)."""
    from cnnc import api

    x = sample(1)
    x[0, 0, 2, 2] = np.nan
    y = api.load(folders["float32"]).reference(x)
    assert np.isnan(y).any(), y


# id -> (damage done to a copy of the float32 folder, fragments)
def _write(name: str, data: bytes | str):
    def damage(out: Path) -> None:
        path = out / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())

    return damage


def _remove(name: str):
    return lambda out: (out / name).unlink()


def _edit_info(**fields):
    def damage(out: Path) -> None:
        info = json.loads((out / "cnnc.json").read_text())
        info.update(fields)
        (out / "cnnc.json").write_text(json.dumps(info))

    return damage


def _edit_graph(edit):
    def damage(out: Path) -> None:
        doc = json.loads((out / "graph.json").read_text())
        edit(doc)
        (out / "graph.json").write_text(json.dumps(doc))

    return damage


def _edit_report(edit):
    def damage(out: Path) -> None:
        doc = json.loads((out / "report.json").read_text())
        edit(doc)
        (out / "report.json").write_text(json.dumps(doc))

    return damage


BROKEN_FOLDERS = {
    "no_cnnc_json": (_remove("cnnc.json"), ["not a cnnc output folder", "no cnnc.json"]),
    "cnnc_json_not_json": (_write("cnnc.json", "{oops"), ["cnnc.json", "corrupt"]),
    "cnnc_json_bad_utf8": (_write("cnnc.json", b'{"\xff": 1}'), ["cnnc.json", "corrupt"]),
    "cnnc_json_a_list": (_write("cnnc.json", "[1, 2]"), ["cnnc.json", "format list"]),
    "cnnc_json_other_format": (_edit_info(format=99), ["cnnc.json", "format 99"]),
    "cnnc_json_bad_shape": (_edit_info(input_shape=[1, -1]), ["'input_shape'", "invalid"]),
    "cnnc_json_no_precision": (_edit_info(precision="int4"), ["'precision'"]),
    "no_report_json": (_remove("report.json"), ["incomplete", "report.json"]),
    "report_json_not_json": (_write("report.json", ""), ["report.json", "corrupt"]),
    "report_json_not_a_report": (_write("report.json", "{}"), ["report.json", "'layers'"]),
    "no_graph_npz": (_remove("graph.npz"), ["incomplete", "graph.npz"]),
    "graph_npz_not_zip": (_write("graph.npz", b"PK\x03\x04junk"), ["graph.npz", "BadZipFile"]),
    "graph_npz_empty": (_write("graph.npz", b""), ["graph.json/graph.npz"]),
    "no_graph_json": (_remove("graph.json"), ["incomplete", "graph.json"]),
    "graph_json_missing_key": (_edit_graph(lambda d: d.pop("nodes")), ["field 'nodes'"]),
    "graph_json_unknown_input": (
        _edit_graph(lambda d: d.__setitem__("inputs", ["ghost"])),
        ["'ghost'", "defines none"],
    ),
    "graph_json_unknown_op": (
        _edit_graph(lambda d: d["nodes"][0].__setitem__("op", "launch_missiles")),
        ["node 0", "unknown op"],
    ),
    "graph_json_bad_dtype": (
        _edit_graph(lambda d: d["tensors"][0].__setitem__("dtype", "complex64")),
        ["tensor 0", "malformed"],
    ),
    "graph_json_undefined_tensor": (
        _edit_graph(lambda d: d["nodes"][0]["inputs"].__setitem__(0, "nowhere")),
        ["node 0", "undefined tensors ['nowhere']"],
    ),
    "graph_json_attr_outside_int32": (
        _edit_graph(lambda d: d["nodes"][1]["attrs"]["__dict__"].__setitem__("groups", 2**40)),
        ["node 1", "1099511627776 outside int32"],
    ),
    "graph_json_bad_quant_table": (
        _edit_graph(lambda d: d["metadata"].__setitem__("cnnc.quant_error", "[{")),
        ["metadata cnnc.quant_error is not valid"],
    ),
    "report_json_bad_field": (
        _edit_report(lambda r: r["layers"][0].__setitem__("macs", [1])),
        ["report.json is not valid", "TypeError"],
    ),
    "no_model_c": (_remove("model.c"), ["incomplete", "model.c"]),
    "no_weights_bin": (_remove("weights.bin"), ["incomplete", "weights.bin"]),
}


@pytest.mark.parametrize("command", ["run", "verify", "report"])
@pytest.mark.parametrize("case", list(BROKEN_FOLDERS))
def test_broken_output_folder(capsys, tmp_path, folders, case, command):
    out = tmp_path / "out"
    shutil.copytree(folders["float32"], out, ignore=shutil.ignore_patterns("build", "*.so"))
    damage, fragments = BROKEN_FOLDERS[case]
    damage(out)
    path = write_npz(tmp_path / "x.npz", x=sample())
    extra = {"run": ["--inputs", path, "--output", tmp_path / "y.npy"],
             "verify": ["--inputs", path], "report": []}[command]  # fmt: skip
    code, _, err = cnnc(capsys, command, out, *extra)
    assert_one_line_error(code, err, [str(out), *fragments])


@pytest.mark.parametrize("case", ["missing_folder", "a_file"])
def test_output_folder_that_is_not_a_folder(capsys, tmp_path, case):
    path = tmp_path / "thing"
    if case == "a_file":
        path.write_text("hello")
    code, _, err = cnnc(capsys, "report", path)
    assert_one_line_error(code, err, [str(path), "is a file" if case == "a_file" else "no such"])


@pytest.mark.parametrize("case", ["missing_parent", "parent_is_a_file", "output_is_a_file"])
def test_compile_output_folder_that_cannot_be_made(capsys, tmp_path, folders, case):
    (tmp_path / "file").write_text("x")
    out = {"missing_parent": tmp_path / "no" / "out", "parent_is_a_file": tmp_path / "file" / "o",
           "output_is_a_file": tmp_path / "file"}[case]  # fmt: skip
    code, _, err = cnnc(capsys, "compile", folders["model"], "-o", out)
    fragment = {"missing_parent": "does not exist", "parent_is_a_file": "is not a folder",
                "output_is_a_file": "exists and is not a folder"}[case]  # fmt: skip
    assert_one_line_error(code, err, ["-o", str(out), fragment])
    assert not (tmp_path / "no").exists()


def test_numpy_warnings_never_print_before_the_error(capsys, tmp_path, folders):
    """A float64 calibration file of huge values overflows float32: refused in one line, and
    the RuntimeWarning NumPy would print first is not shown."""
    path = write_npz(tmp_path / "c.npz", x=np.full((2, *X_SHAPE[1:]), 1e39))
    argv = ["compile", folders["model"], "-o", tmp_path / "out", "--precision", "int8"]
    code, _, err = cnnc(capsys, *argv, "--calibration", path)
    assert_one_line_error(code, err, ["calibration", "beyond float32's range"])
    assert "Warning" not in err


@pytest.mark.parametrize("shape", [[2, 3], [5, 2, 3]], ids=["one_sample", "batch_of_5"])
def test_verify_accepts_what_run_accepts_when_the_leading_dim_is_not_1(capsys, tmp_path, shape):
    """A [2, 3] model input is one sample (its 2 is not a batch): run and verify both take
    one sample [2, 3] or a batch [N, 2, 3], and the reference runs each sample alone."""
    w = np.random.default_rng(11).standard_normal((4, 3)).astype(np.float32)
    gemm = helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)
    model = onnx_builders.make_model([gemm], {"x": [2, 3]}, {"y": [2, 4]}, {"w": w})
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    assert cnnc(capsys, "compile", tmp_path / "m.onnx", "-o", tmp_path / "out")[0] == 0
    path = write_npz(tmp_path / "x.npz", x=np.random.default_rng(2).standard_normal(shape))
    code, out, err = cnnc(capsys, "run", tmp_path / "out", "--inputs", path,
                          "--output", tmp_path / "y.npy")  # fmt: skip
    samples = 1 if len(shape) == 2 else shape[0]
    assert code == 0 and np.load(tmp_path / "y.npy").shape == (samples, 2, 4), err
    code, out, err = cnnc(capsys, "verify", tmp_path / "out", "--inputs", path, "--per-layer")
    assert code == 0 and f"{samples} sample(s)" in out and "all 1 layers match" in out, (out, err)


@pytest.mark.parametrize("exact", [False, True], ids=["float_rule", "exact_rule"])
def test_compare_holds_nan_and_infinities_to_the_reference(exact):
    """NaN where the reference has NaN and the same infinity where it has one match;
    a finite value where the reference has NaN, or the other infinity, differs."""
    from cnnc.host import verify

    expected = np.array([[1.0, np.nan, np.inf, -np.inf]], np.float32)
    assert verify.compare(expected.copy(), expected, exact).ok
    for index, wrong in ((1, 0.5), (2, -np.inf), (3, 3.0)):
        actual = expected.copy()
        actual[0, index] = wrong
        result = verify.compare(actual, expected, exact)
        assert not result.ok and result.mismatches == 1, (index, wrong, result)


@pytest.mark.parametrize("command", ["run", "verify"])
def test_cross_targets_check_input_shapes_like_the_host(capsys, tmp_path, folders, command):
    """--target aarch64 gets the same shape check before any emulator starts: [1, 3, 5, 5]
    for a [1, 1, 5, 5] model is refused, not run as 3 samples."""
    path = write_npz(tmp_path / "x.npz", x=sample(shape=[1, 3, 5, 5]))
    extra = ["--output", tmp_path / "y.npy"] if command == "run" else []
    argv = [command, folders["float32"], "--inputs", path, "--target", "aarch64", *extra]
    code, _, err = cnnc(capsys, *argv)
    assert_one_line_error(code, err, ["input 'x'", "shape [1, 3, 5, 5]"])
