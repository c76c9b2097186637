"""Mutated --inputs and --calibration files (.npz with wrong shapes or dtypes, NaN, Inf,
empty arrays, a missing 'x', .npy, empty, truncated, pickled or text files) through
`cnnc run`, `cnnc verify` and `cnnc compile --precision int8`: a clean result or exit 1
with only `cnnc: error:` lines. A file that is accepted must hold samples of exactly the
model's input shape (a leading batch allowed) in a real dtype: nothing reinterpreted."""

import mutators
import numpy as np
import pytest
import seeds
from hypothesis import given
from hypothesis import strategies as st

SAMPLE = seeds.INPUT_SHAPE[1:]


def accepted_wrongly(path) -> list[str]:
    """Why a file that cnnc accepted should have been refused (empty: it is a good file)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            x = data["x"]
    except Exception as err:  # noqa: BLE001 - any unreadable file must have been refused
        return [f"accepted a file numpy cannot read as an .npz with x: {err}"]
    if x.ndim != len(SAMPLE) + 1 or x.shape[1:] != SAMPLE or x.shape[0] == 0:
        return [f"accepted x of shape {list(x.shape)} for samples of shape {list(SAMPLE)}"]
    if x.dtype.kind not in "fiub":
        return [f"accepted x of dtype {x.dtype}"]
    return []


def check(result, path, what: str) -> None:
    problems = result.problems()
    if result.code == 0:
        problems += accepted_wrongly(path)
    assert not problems, f"{what}: {problems}\nstderr: {result.stderr[-500:]}"


@pytest.mark.parametrize("command", ["run", "verify"])
@seeds.fuzz_settings(25)
@given(data=st.data())
def test_inputs_files(tmp_path_factory, folders, command, data):
    work = tmp_path_factory.mktemp("inputs")
    path = work / "x.npz"
    what = mutators.write_input_file(path, SAMPLE, mutators.HypothesisPick(data))
    argv = [command, str(folders["int8"]), "--inputs", str(path)]
    result = seeds.run_cli(argv + (["--output", str(work / "y.npy")] if command == "run" else []))
    check(result, path, f"cnnc {command} --inputs ({what})")


@seeds.fuzz_settings(25)
@given(data=st.data())
def test_calibration_files(tmp_path_factory, seed_dir, data):
    work = tmp_path_factory.mktemp("calibration")
    path = work / "cal.npz"
    what = mutators.write_input_file(path, SAMPLE, mutators.HypothesisPick(data))
    argv = ["compile", str(seed_dir / "tiny.onnx"), "-o", str(work / "out"),
            "--precision", "int8", "--calibration", str(path)]  # fmt: skip
    check(seeds.run_cli(argv), path, f"cnnc compile --calibration ({what})")


def test_good_inputs_are_accepted(tmp_path, folders, seed_dir):
    """The oracle's control: the seed inputs run and verify."""
    for argv in (["run", str(folders["int8"]), "--output", str(tmp_path / "y.npy")],
                 ["verify", str(folders["int8"])]):  # fmt: skip
        result = seeds.run_cli([*argv, "--inputs", str(seed_dir / "x.npz")])
        assert (result.code, result.problems()) == (0, []), result.stderr
