"""Mutated ONNX files through `cnnc compile` (cnnc.cli.main in process): the command
either compiles, or exits 1 with only `cnnc: error:` lines — never an internal error,
a traceback, a warning or a crash. Byte-level mutations (bit flips, truncation, splices
with another model) and structured edits (attributes, dims, dtypes, op types, raw_data
lengths, NaN/Inf weights, metadata, hostile names) are drawn by tests/fuzz/mutators.py.
A compiled hostile name must not reach the C compiler outside a comment or a string."""

import mutators
import onnx
import pytest
import seeds
from hypothesis import given
from hypothesis import strategies as st


def compile_argv(path, out, precision, seed_dir):
    argv = ["compile", str(path), "-o", str(out), "--precision", precision]
    return argv + (["--calibration", str(seed_dir / "cal.npz")] if precision == "int8" else [])


def check_compile(tmp_path_factory, seed_dir, data: bytes, precision: str, what: str):
    work = tmp_path_factory.mktemp("onnx")
    path = work / "m.onnx"
    path.write_bytes(data)
    result = seeds.run_cli(compile_argv(path, work / "out", precision, seed_dir))
    problems = result.problems()
    if result.code == 0:
        problems += seeds.injected_c(work / "out", mutators.PWNED)
    assert not problems, f"cnnc compile --precision {precision} after {what}: {problems}"


@seeds.fuzz_settings(150)
@given(data=st.data())
def test_protobuf_byte_mutations(tmp_path_factory, seed_dir, data):
    seed = (seed_dir / "tiny.onnx").read_bytes()
    other = (seed_dir / "xnor.onnx").read_bytes()
    mutated, what = mutators.mutate_bytes(seed, other, mutators.HypothesisPick(data))
    check_compile(tmp_path_factory, seed_dir, mutated, "float32", what)


def case(kind, precision):
    return pytest.param(kind, precision, id=f"{kind}-{precision}")


CASES = [
    case("attribute", "float32"),
    case("op_type", "float32"),
    case("poison", "float32"),
    case("dim", "float32"),
    case("dtype", "float32"),
    case("metadata", "float32"),
    case("raw_data", "float32"),
    case("poison", "int8"),
    case("attribute", "int8"),
    case("hostile_name", "float32"),
]


@pytest.mark.parametrize("kind, precision", CASES)
@seeds.fuzz_settings(30)
@given(data=st.data())
def test_structured_edits(tmp_path_factory, seed_dir, kind, precision, data):
    model = onnx.load(seed_dir / "tiny.onnx")
    pick = mutators.HypothesisPick(data)
    mutated, what = mutators.mutate_onnx(model, pick, [kind])
    check_compile(tmp_path_factory, seed_dir, mutated.SerializeToString(), precision, what)
