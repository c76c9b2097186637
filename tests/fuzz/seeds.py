"""Seed models and a small C harness for the fuzz tests and fuzz/campaign.py.

The seeds are tiny (8x8 one-channel input) so a compile takes well under a second:
``tiny_onnx`` (Conv, Clip, MaxPool, Conv, Relu, GlobalAveragePool, Flatten, Gemm) is
compiled as float32 and int8, ``xnor_onnx`` (an untrained XNOR-Net with two binary
convs) as binary. ``blob_init`` calls the generated ``cnnc_model_init`` of a compiled
folder on any bytes through cffi, the same sources and flags the harness uses.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from cnnc import cli
from cnnc.host import cbuild, harness
from onnx import TensorProto, helper, numpy_helper

INPUT_SHAPE = (1, 1, 8, 8)
PROGRESS = re.compile(r"\d+%\|")  # a tqdm progress bar line
METADATA = {"cnnc.model": "fuzz_tiny", "cnnc.norm_mean": "[0.3]", "cnnc.norm_std": "[0.4]"}


def tiny_onnx(rng: np.random.Generator) -> onnx.ModelProto:
    """Conv+Clip -> MaxPool -> Conv+Relu -> GlobalAveragePool -> Flatten -> Gemm, 8x8x1."""
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
        "w2": rng.standard_normal((5, 6, 3, 3)).astype(np.float32) * 0.3,
        "wd": rng.standard_normal((7, 5)).astype(np.float32),
        "bd": rng.standard_normal(7).astype(np.float32) * 0.1,
    }
    graph = helper.make_graph(
        nodes,
        "fuzz_tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(INPUT_SHAPE))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 7])],
        [numpy_helper.from_array(v, k) for k, v in init.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    for key, value in METADATA.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model


def xnor_onnx(seed: int) -> onnx.ModelProto:
    """An untrained XNOR-Net (float stem, two binary convs, float classifier), 8x8x1."""
    from cnnc.models import export, zoo

    net = zoo.xnornet(input_size=8, num_classes=5, channels=(8, 16), pools=(True, False),
                      stem_channels=8, rng=np.random.default_rng(seed))  # fmt: skip
    meta = export.metadata("xnornet", "digits", 8, [0.3], [0.4], 5)
    return export.to_onnx(net, (8, 8, 1), meta)


def calibration(rng: np.random.Generator, n: int = 16) -> np.ndarray:
    return rng.standard_normal((n, *INPUT_SHAPE[1:])).astype(np.float32)


# ---------------------------------------------------------------- the CLI, in process


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    warnings: list[str]  # Python warnings: printed on stderr by the real `cnnc` command

    def problems(self) -> list[str]:
        """Why this run breaks the error contract (empty: it holds).

        The contract: exit 0, or exit 1 with only ``cnnc: error: ...`` lines on stderr,
        never an internal error, a traceback or a warning before the error line. tqdm's
        calibration progress bar is not an error line and is skipped."""
        found = []
        if self.code not in (0, 1):
            found.append(f"exit status {self.code}")
        lines = [line for line in self.stderr.replace("\r", "\n").splitlines()
                 if line.strip() and not PROGRESS.search(line)]  # fmt: skip
        if self.code == 1 and not lines:
            found.append("exit 1 without an error line")
        for line in lines:
            if not line.startswith("cnnc: error: "):
                found.append(f"stderr line that is not 'cnnc: error:': {line[:200]!r}")
            if "internal error" in line:
                found.append(f"internal error: {line[:300]!r}")
        found += [f"warning printed: {w[:200]}" for w in self.warnings]
        return found


def run_cli(argv: list[str]) -> CliResult:
    """cnnc.cli.main(argv) with stdout/stderr captured and warnings recorded."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as stop:  # argparse
                code = stop.code if isinstance(stop.code, int) else 1
            except BaseException as exc:  # noqa: BLE001 - escaping main() is the bug we look for
                code = 99
                err.write(f"exception escaped cnnc.cli.main: {type(exc).__name__}: {exc}\n")
    texts = [f"{w.category.__name__}: {w.message}" for w in caught]
    return CliResult(code, out.getvalue(), err.getvalue(), texts)


# ---------------------------------------------------------------- the generated C init


@dataclass
class BlobHarness:
    """cnnc_model_init of one compiled folder, callable on arbitrary bytes."""

    out_dir: Path
    blob: bytes  # the folder's own weights.bin
    ffi: object
    lib: object

    def init(self, data: bytes) -> int:
        owner, ptr = harness.aligned(self.ffi, max(len(data), 1))
        self.ffi.memmove(ptr, data, len(data))
        ctx = self.ffi.new("cnnc_model_ctx *")
        return int(self.lib.cnnc_model_init(ctx, ptr, len(data)))


def blob_harness(out_dir: Path, defines: tuple[str, ...] = ()) -> BlobHarness:
    """defines: extra -D flags for model.c, e.g. -DCNNC_MODEL_ANY_WEIGHTS (the OTA opt-out)."""
    out_dir = Path(out_dir)
    model_h = (out_dir / "model.h").read_text()
    includes = [out_dir, out_dir / "cnnc_runtime" / "include"]
    flags = [*harness.HOST_CFLAGS, *defines]
    library = cbuild.build_shared(harness.sources(out_dir), includes, flags)
    ffi, lib = cbuild.load_shared(library, harness.cdef_for(model_h))
    return BlobHarness(out_dir, (out_dir / "weights.bin").read_bytes(), ffi, lib)


# ---------------------------------------------------------------- injected C


def injected_c(out_dir: Path, token: str) -> list[str]:
    """Why the folder's C shows ``token`` to the compiler (empty: it does not).

    Each generated C file is preprocessed as the compiler sees it (comments removed,
    backslash-newlines spliced, trigraphs replaced); string literals are then dropped,
    so a name escaped into a comment or a string is fine and one that escapes is not."""
    import subprocess

    found = []
    includes = [f"-I{out_dir}", f"-I{out_dir / 'cnnc_runtime' / 'include'}"]
    for name in ("model.h", "model.c", "demo_config.h"):
        path = out_dir / name
        if not path.is_file():
            continue
        proc = subprocess.run(
            ["gcc", "-E", "-P", "-trigraphs", "-std=c99", *includes, "-x", "c", str(path)],
            capture_output=True,
            text=True,
            errors="replace",
        )
        if proc.returncode != 0:
            found.append(f"{name} does not preprocess: {proc.stderr.strip()[:300]}")
            continue
        code = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', proc.stdout)
        if re.search(rf"\b{token}\b", code):
            found.append(f"{name}: '{token}' reaches the compiler outside a comment or string")
    return found


def fuzz_settings(max_examples: int, shrink: bool = True):
    """Bounded and reproducible: the same examples on every run, no example database.
    shrink=False for tests marked xfail: a known failure need not be minimised each run."""
    from hypothesis import HealthCheck, Phase, settings

    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        phases=phases,
    )
