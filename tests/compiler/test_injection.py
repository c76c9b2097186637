"""Generated C is safe by construction: names and the model name from a (hostile) model
file reach C only through the escaping functions of cnnc.backend.codegen, so each payload below
compiles strictly (gcc and clang, -Werror -pedantic), the folder's own ``make`` builds,
and the injected code is inert: no symbol it tries to define exists in the objects.

The graphs are lowered ir.Graphs renamed after construction, so the back end is tested
whatever the ONNX importer accepts."""

import shutil
import subprocess
from pathlib import Path

import cnnc
import numpy as np
import pytest
import tiny_graphs
from cnnc import ir
from cnnc.backend import codegen
from toolchains import CCWRAP, MAKE_CCWRAP

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]

# Each payload tries to leave a comment (or a string) and define `int injected_<n>`.
PAYLOADS = {
    "comment_end": "x */ int injected_1 = 1; /* ",
    "comment_open": "a /* nested",
    "backslash_newline": "n *\\\n/ int injected_2 = 2; /* ",
    "trigraph": "t ??/\n int injected_3 = 3; ??/",
    "trailing_backslash": "tail\\",
    "control_and_nul": "c\x00\r\t\x1b\x7f end",
    "non_ascii": "ümlaut_名前_\u202e",
    "quote": 'q" int injected_4 = 4; "',
}
MODEL_NAMES = {
    "newline": "m\n#define DEMO_INPUT_C 99\nint injected_5 = 5;",
    "backslash": "name\\",
    "nul": "a\x00b",
    "quote_trigraph": 'q"??/"',
}


def renamed(graph: ir.Graph, payload: str) -> ir.Graph:
    """The graph with every tensor and node name carrying the payload."""
    names = {name: f"{name}{payload}{i}" for i, name in enumerate(graph.tensors)}
    tensors = {
        names[t.name]: ir.Tensor(names[t.name], t.shape, t.dtype, t.data, t.quant)
        for t in graph.tensors.values()
    }
    nodes = [
        ir.Node(n.op, f"{n.name}{payload}", [names[i] for i in n.inputs],
                [names[o] for o in n.outputs], dict(n.attrs))
        for n in graph.nodes
    ]  # fmt: skip
    inputs, outputs = [names[n] for n in graph.inputs], [names[n] for n in graph.outputs]
    return ir.Graph(tensors, nodes, inputs, outputs, graph.layout, dict(graph.metadata))


def strict_objects(out_dir: Path, cc: str) -> list[Path]:
    sources = [out_dir / "model.c", *sorted((out_dir / "cnnc_runtime" / "kernels").glob("*.c"))]
    objects = []
    for src in sources:
        obj = out_dir / f"{src.stem}.{cc}.o"
        include = out_dir / "cnnc_runtime" / "include"
        cmd = [*CCWRAP, cc, *STRICT, "-O0", f"-I{out_dir}", f"-I{include}",
               "-c", str(src), "-o", str(obj)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
        objects.append(obj)
    return objects


def assert_inert(out_dir: Path, objects: list[Path]) -> None:
    symbols = subprocess.run(["nm", *map(str, objects)], capture_output=True, text=True).stdout
    assert "injected" not in symbols, f"injected code was compiled:\n{symbols}"


def make_folder(out_dir: Path) -> None:
    cmd = ["make", "-C", str(out_dir), "TARGET=host", "CFLAGS=-Werror", MAKE_CCWRAP]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"make failed in {out_dir}:\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("cc", ["gcc", "clang"])
@pytest.mark.parametrize("payload", list(PAYLOADS), ids=list(PAYLOADS))
def test_hostile_names_compile_to_inert_c(rng, tmp_path, payload, cc):
    if shutil.which(cc) is None:
        raise AssertionError(f"{cc} must be installed (Debian package {cc})")
    graph = renamed(tiny_graphs.small_net(rng), PAYLOADS[payload])
    m = cnnc.compile(graph, tmp_path)
    assert_inert(tmp_path, strict_objects(tmp_path, cc))
    x = rng.standard_normal((2, *m.info["input_shape"][1:])).astype(np.float32)
    np.testing.assert_allclose(m.run(x), m.reference(x), rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", list(MODEL_NAMES), ids=list(MODEL_NAMES))
def test_hostile_model_name_builds_with_make(rng, tmp_path, name):
    graph = tiny_graphs.small_net(rng)
    graph.metadata["cnnc.model"] = MODEL_NAMES[name]
    cnnc.compile(graph, tmp_path)
    config = (tmp_path / "demo_config.h").read_text()
    lines = config.splitlines()
    assert sum(line.startswith("#define DEMO_INPUT_C ") for line in lines) == 1, config
    make_folder(tmp_path)
    assert_inert(tmp_path, sorted((tmp_path / "build" / "host").rglob("*.o")))
    demo = subprocess.run([str(tmp_path / "build" / "host" / "demo"), "-h"],
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert "injected" not in demo.stdout + demo.stderr


@pytest.mark.parametrize(
    "text",
    ["*/", "/*", "*\\\n/", "??/", "a\\", "\x00", "\n", "é", "/*/", "*/*", "???/", "\\\\"],
    ids=["end", "open", "bs_nl", "trigraph", "trailing_bs", "nul", "newline", "utf8",
         "slash_star_slash", "star_slash_star", "triple_q", "double_bs"],
)  # fmt: skip
def test_comment_escape_neutralises(text):
    escaped = codegen.c_comment(text)
    assert all(0x20 <= ord(ch) < 0x7F for ch in escaped), repr(escaped)
    for bad in ("*/", "/*", "??"):
        assert bad not in escaped, f"{text!r} -> {escaped!r} contains {bad!r}"
    assert "\\" not in escaped.replace("\\x", ""), f"{text!r} -> {escaped!r}: a bare backslash"


@pytest.mark.parametrize("text", ['"', "\\", "??/", "\n", "\x00", "é", "a1?b"])
def test_string_escape_round_trips_through_the_compiler(tmp_path, text):
    """printf of the escaped literal prints the original UTF-8 bytes."""
    src = tmp_path / "s.c"
    src.write_text('#include <stdio.h>\nint main(void) {\n'
                   f"    static const char s[] = {codegen.c_string(text)};\n"
                   "    fwrite(s, 1, sizeof s - 1, stdout);\n    return 0;\n}\n")  # fmt: skip
    subprocess.run(["gcc", *STRICT, str(src), "-o", str(tmp_path / "s")], check=True)
    out = subprocess.run([str(tmp_path / "s")], capture_output=True).stdout
    assert out == text.encode(), f"{text!r}: printed {out!r}"
