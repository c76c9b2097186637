"""Code generation: generated C builds strictly with gcc and clang, runs to the reference,
holds no writable global state, reads as a product (header, layer comments), and a
snapshot of a tiny model's model.c makes every codegen change visible in review.

Regenerate the snapshot after a reviewed codegen change with
``CNNC_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/compiler/test_codegen.py``.
"""

import os
import shutil
import subprocess
from pathlib import Path

import cnnc
import numpy as np
import pytest
import tiny_graphs
from cnnc import ir
from cnnc.backend import codegen
from cnnc.errors import UnsupportedError
from toolchains import CCWRAP, MAKE_CCWRAP

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SNAPSHOTS = Path(__file__).parent / "snapshots"


def compile_objects(out_dir: Path, cc: str) -> list[Path]:
    """Compiles model.c and the copied runtime with the strict flags; returns the objects."""
    sources = [out_dir / "model.c", *sorted((out_dir / "cnnc_runtime" / "kernels").glob("*.c"))]
    objects = []
    for src in sources:
        obj = out_dir / f"{src.stem}.{cc}.o"
        include = out_dir / "cnnc_runtime" / "include"
        cmd = [*CCWRAP, cc, *STRICT, "-O1", f"-I{out_dir}", f"-I{include}",
               "-c", str(src), "-o", str(obj)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
        objects.append(obj)
    return objects


@pytest.mark.parametrize("embed", [False, True], ids=["blob", "embedded"])
@pytest.mark.parametrize("cc", ["gcc", "clang"])
@pytest.mark.parametrize("net", ["small_net", "every_op_net"])
def test_generated_c_builds_strictly(rng, tmp_path, net, cc, embed):
    if shutil.which(cc) is None:
        raise AssertionError(f"{cc} must be installed (Debian package {cc})")
    cnnc.compile(getattr(tiny_graphs, net)(rng), tmp_path, embed_weights=embed)
    compile_objects(tmp_path, cc)


def test_no_writable_globals(rng, tmp_path):
    """Reentrancy: model.o defines nothing in .data/.bss (only code and const tables;
    the layer table sits in .data.rel.ro under PIE: read-only after relocation)."""
    cnnc.compile(tiny_graphs.every_op_net(rng), tmp_path)
    (obj,) = [o for o in compile_objects(tmp_path, "gcc") if o.name.startswith("model.")]
    table = subprocess.run(["objdump", "-t", str(obj)], capture_output=True, text=True).stdout
    writable = [
        line for line in table.splitlines()
        if len(line.split()) >= 4 and line.split()[-3] in (".data", ".bss", "*COM*")
    ]  # fmt: skip
    assert writable == [], f"writable globals in model.c: {writable}"


@pytest.mark.parametrize("net", ["small_net", "every_op_net"])
def test_c_matches_reference(rng, tmp_path, net):
    m = cnnc.compile(getattr(tiny_graphs, net)(rng), tmp_path)
    x = rng.standard_normal((3, *m.info["input_shape"][1:])).astype(np.float32)
    y_c, y_ref = m.run(x), m.reference(x)
    span = float(y_ref.max() - y_ref.min())
    np.testing.assert_allclose(y_c, y_ref, rtol=0, atol=1e-4 * span)


def test_two_arenas_interleaved_give_the_same_answers(rng, tmp_path):
    """Two callers with their own arenas do not disturb each other (no shared state)."""
    m = cnnc.compile(tiny_graphs.small_net(rng), tmp_path)
    host = m.host()
    ffi, lib = host.ffi, host.lib
    owner, arena2 = cnnc.host.harness.aligned(ffi, m.info["arena_bytes"])
    x = rng.standard_normal((2, 3, 9, 7)).astype(np.float32)
    alone = m.run(x)
    out = np.zeros((2, 5), np.float32)
    for i, arena in enumerate([host.arena, arena2]):
        status = lib.cnnc_model_run(host.ctx, ffi.from_buffer("float[]", x[i]),
                                    ffi.from_buffer("float[]", out[i]), arena,
                                    host.arena_bytes)  # fmt: skip
        assert status == 0
    np.testing.assert_array_equal(out, alone)


def test_misaligned_arena_is_refused(rng, tmp_path):
    m = cnnc.compile(tiny_graphs.small_net(rng), tmp_path)
    host = m.host()
    x = rng.standard_normal((3, 9, 7)).astype(np.float32)
    out = np.zeros(5, np.float32)
    ffi = host.ffi
    status = host.lib.cnnc_model_run(host.ctx, ffi.from_buffer("float[]", x),
                                     ffi.from_buffer("float[]", out), host.arena + 4,
                                     host.arena_bytes)  # fmt: skip
    assert status == 8  # CNNC_ERR_ARENA


def test_run_after_a_failed_init_is_refused(rng, tmp_path):
    """A corrupt blob fails init; a later run must return a status, never read the blob."""
    m = cnnc.compile(tiny_graphs.small_net(rng), tmp_path)
    host = m.host()
    ffi, lib = host.ffi, host.lib
    blob = bytearray((tmp_path / "weights.bin").read_bytes())
    blob[100] ^= 0x40
    owner, ptr = cnnc.host.harness.aligned(ffi, len(blob))
    ffi.memmove(ptr, bytes(blob), len(blob))
    ctx = ffi.new("cnnc_model_ctx *")
    assert lib.cnnc_model_init(ctx, ptr, len(blob)) == 5  # CNNC_ERR_BLOB_CRC
    x = rng.standard_normal((3, 9, 7)).astype(np.float32)
    out = np.zeros(5, np.float32)
    status = lib.cnnc_model_run(ctx, ffi.from_buffer("float[]", x),
                                ffi.from_buffer("float[]", out), host.arena,
                                host.arena_bytes)  # fmt: skip
    assert status == 9  # CNNC_ERR_NOT_INIT


def test_generated_files_read_as_a_product(rng, tmp_path):
    m = cnnc.compile(tiny_graphs.every_op_net(rng), tmp_path)
    model_c = (tmp_path / "model.c").read_text()
    model_h = (tmp_path / "model.h").read_text()
    for text in (model_c, model_h):
        assert text.startswith("/* generated by cnnc — do not edit")
    for i, node in enumerate(m.graph.nodes):
        assert f'/* layer {i}: {node.op} "{node.name}"' in model_c
    assert "pads=(1, 1, 1, 1)" in model_c and "count_include_pad=1" in model_c
    assert "malloc" not in model_c
    for name in ("ARENA_BYTES", "INPUT_SIZE", "OUTPUT_SIZE", "NUM_LAYERS"):
        assert f"#define CNNC_MODEL_{name} " in model_h


def test_conv_variants_pick_their_kernels(rng, tmp_path):
    cnnc.compile(tiny_graphs.every_op_net(rng), tmp_path)
    model_c = (tmp_path / "model.c").read_text()
    # conv (grouped) has no SIMD variant and is called by name; the others go through the
    # slot select_kernels fills at init, starting from their __ref
    assert "    cnnc_f32_conv__ref(" in model_c
    for kernel in ("conv_oc8", "dwconv3x3", "dwconv", "pwconv"):
        assert f"    kernel_f32_{kernel}(ctx)(" in model_c, kernel
        assert f"= (cnnc_kernel_fn)cnnc_f32_{kernel}__ref;" in model_c, kernel
        assert f"(cnnc_kernel_fn)cnnc_f32_{kernel}__avx2;" in model_c, kernel
        assert f"(cnnc_kernel_fn)cnnc_f32_{kernel}_fast__avx2;" not in model_c, kernel


def test_fast_float_mode_selects_fma_variants(rng, tmp_path):
    cnnc.compile(tiny_graphs.every_op_net(rng), tmp_path, float_mode="fast")
    model_c = (tmp_path / "model.c").read_text()
    assert "(cnnc_kernel_fn)cnnc_f32_pwconv_fast__avx512;" in model_c
    assert "(cnnc_kernel_fn)cnnc_f32_pwconv__avx512;" not in model_c


def test_folder_is_self_contained(rng, tmp_path):
    """The folder copied alone (no cnnc checkout on the include path) builds with make."""
    cnnc.compile(tiny_graphs.small_net(rng), tmp_path / "out")
    alone = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "out", alone)
    proc = subprocess.run(["make", "-C", str(alone), MAKE_CCWRAP], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_unsupported_op_names_node_and_supported_ops(rng, tmp_path):
    g = tiny_graphs.small_net(rng)
    g.nodes[3] = ir.Node("gelu", "my_gelu", g.nodes[3].inputs[:1], g.nodes[3].outputs)
    with pytest.raises(UnsupportedError, match=r"node 'my_gelu' \(gelu\): no C emitter.*conv2d"):
        cnnc.compile(g, tmp_path)


def test_unsupported_broadcast_is_named(rng, tmp_path):
    b = tiny_graphs.Builder(rng, (1, 4, 5, 6))
    x = b.node("transpose", ["x"], (1, 5, 6, 4), perm=(0, 2, 3, 1))
    y = b.node("add", [x, b.const("odd", 1, 5, 1, 4)], (1, 5, 6, 4))
    with pytest.raises(
        UnsupportedError, match=r"node 'add_1' \(add\): cannot broadcast odd\[1, 5, 1, 4\]"
    ):
        cnnc.compile(b.graph(y), tmp_path)


def snapshot_graph(kind: str) -> ir.Graph:
    """The lowered graph each snapshot is generated from (fixed seeds)."""
    from cnnc.passes import binarize, quantize

    rng = np.random.default_rng(1234)
    if kind == "binary":
        return binarize.binarize(tiny_graphs.binary_net(rng))
    graph = tiny_graphs.small_net(rng)
    if kind == "float32":
        return graph
    calibration = np.random.default_rng(99).standard_normal((16, 3, 9, 7)).astype(np.float32)
    return quantize.quantize(graph, calibration, int8_io=kind == "int8_io")


SNAPSHOT_FILES = {
    "float32": "small_net.model.c",
    "int8": "small_net_int8.model.c",
    "int8_io": "small_net_int8_io.model.c",
    "binary": "binary_net.model.c",
}


@pytest.mark.parametrize("kind", list(SNAPSHOT_FILES))
def test_snapshot_of_tiny_model(tmp_path, kind):
    graph = snapshot_graph(kind)
    plan = cnnc.backend.planner.plan(graph)
    model_c = codegen.generate(graph, plan).model_c
    snapshot = SNAPSHOTS / SNAPSHOT_FILES[kind]
    if os.environ.get("CNNC_UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(model_c)
    assert snapshot.is_file(), "no snapshot: run with CNNC_UPDATE_SNAPSHOTS=1 once and review it"
    expected = snapshot.read_text()
    if model_c != expected:
        (tmp_path / "model.c").write_text(model_c)
        diff = subprocess.run(["diff", "-u", str(snapshot), str(tmp_path / "model.c")],
                              capture_output=True, text=True).stdout  # fmt: skip
        raise AssertionError(
            f"generated model.c of the {kind} model differs from the reviewed snapshot; if "
            "intended, regenerate with CNNC_UPDATE_SNAPSHOTS=1 and review the diff:\n"
            f"{diff[:4000]}"
        )


def test_int8_io_entry_points(rng, tmp_path):
    """An int8-in/int8-out model (quantize(..., int8_io=True)) gets cnnc_model_run_s8, whose
    output equals the reference's int8 output bit for bit, and float entry points that
    quantise/dequantise around it exactly as the reference boundary does."""
    from cnnc.ops.s8 import QuantParams, dequantize_s8, quantize_s8
    from cnnc.passes import quantize

    graph = tiny_graphs.small_net(rng)
    calibration = rng.standard_normal((32, 3, 9, 7)).astype(np.float32)
    q = quantize.quantize(graph, calibration, int8_io=True)
    m = cnnc.api.write_output(q, tmp_path)
    model_h = (tmp_path / "model.h").read_text()
    assert "#define CNNC_MODEL_INT8_IO 1" in model_h and "cnnc_model_run_s8(" in model_h
    x_t, y_t = q.tensors[q.inputs[0]], q.tensors[q.outputs[0]]
    xq_params = QuantParams(x_t.size, float(x_t.quant.scale), int(x_t.quant.zero_point))
    yq_params = QuantParams(y_t.size, float(y_t.quant.scale), int(y_t.quant.zero_point))
    x = rng.standard_normal((3, 3, 9, 7)).astype(np.float32)
    xq = quantize_s8(x, xq_params)
    want = cnnc.reference.run(q, {q.inputs[0]: xq})[q.outputs[0]].reshape(3, -1)
    host = m.host()
    got = np.zeros((3, y_t.size), np.int8)
    for i in range(3):
        status = host.lib.cnnc_model_run_s8(
            host.ctx,
            host.ffi.from_buffer("int8_t[]", xq[i]),
            host.ffi.from_buffer("int8_t[]", got[i]),
            host.arena,
            host.arena_bytes,
        )
        assert status == 0
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(m.run(x), dequantize_s8(want, yq_params))
    np.testing.assert_array_equal(m.run(x), m.reference(x))


@pytest.mark.parametrize("short_by", [1, 64, None], ids=["1_byte", "64_bytes", "zero"])
def test_short_arena_is_a_status_not_an_overflow(rng, tmp_path, short_by):
    """run and run_layers get the arena's size: one byte short is CNNC_ERR_ARENA."""
    m = cnnc.compile(tiny_graphs.small_net(rng), tmp_path)
    host = m.host()
    ffi, lib = host.ffi, host.lib
    size = 0 if short_by is None else host.arena_bytes - short_by
    x, y = ffi.new("float[]", host.input_size), ffi.new("float[]", host.output_size)
    out, out_bytes = ffi.new("const void **"), ffi.new("size_t *")
    assert lib.cnnc_model_run(host.ctx, x, y, host.arena, size) == 8
    assert lib.cnnc_model_run_layers(host.ctx, x, host.arena, size, 1, out, out_bytes) == 8
    assert lib.cnnc_model_run(host.ctx, x, y, host.arena, host.arena_bytes) == 0


def test_null_arguments_are_statuses(rng, tmp_path):
    m = cnnc.compile(tiny_graphs.small_net(rng), tmp_path)
    host = m.host()
    ffi, lib, n = host.ffi, host.lib, host.arena_bytes
    x, y = ffi.new("float[]", host.input_size), ffi.new("float[]", host.output_size)
    assert lib.cnnc_model_run(ffi.NULL, x, y, host.arena, n) == 1
    assert lib.cnnc_model_run(host.ctx, ffi.NULL, y, host.arena, n) == 1
    assert lib.cnnc_model_run(host.ctx, x, ffi.NULL, host.arena, n) == 1
    assert lib.cnnc_model_run(host.ctx, x, y, ffi.NULL, n) == 8
    assert lib.cnnc_model_init(ffi.NULL, ffi.NULL, 0) == 1
    assert lib.cnnc_model_check_blob(ffi.NULL) == 1


def test_int8_io_entry_points_check_the_arena_size(rng, tmp_path):
    from cnnc.passes import quantize

    calibration = rng.standard_normal((8, 3, 9, 7)).astype(np.float32)
    q = quantize.quantize(tiny_graphs.small_net(rng), calibration, int8_io=True)
    host = cnnc.api.write_output(q, tmp_path).host()
    ffi, lib, n = host.ffi, host.lib, host.arena_bytes
    xq, yq = ffi.new("int8_t[]", host.input_size), ffi.new("int8_t[]", host.output_size)
    x, y = ffi.new("float[]", host.input_size), ffi.new("float[]", host.output_size)
    assert lib.cnnc_model_run_s8(host.ctx, xq, yq, host.arena, n - 1) == 8
    assert lib.cnnc_model_run(host.ctx, x, y, host.arena, n - 1) == 8  # before staging
    assert lib.cnnc_model_run_s8(host.ctx, xq, yq, host.arena, n) == 0
    assert lib.cnnc_model_run(host.ctx, x, y, host.arena, n) == 0


def test_sizes_over_2_31_are_refused_at_compile_time(rng, tmp_path):
    b = tiny_graphs.Builder(rng, (1, 3, 9, 7))
    y = b.node("act", ["x"], (1, 3, 9, 7), act="relu")
    g = b.graph(y)
    g.tensors["x"] = ir.Tensor("x", (1, 3, 2**15, 2**15), "float32")
    g.tensors[y] = ir.Tensor(y, (1, 3, 2**15, 2**15), "float32")
    with pytest.raises(UnsupportedError, match="below 2\\*\\*31"):
        cnnc.compile(g, tmp_path)


def nan_net(rng, act: str, **act_attrs) -> ir.Graph:
    """transpose -> act -> maxpool -> (act) -> reshape: NaN must reach the output."""
    b = tiny_graphs.Builder(rng, (1, 3, 9, 7))
    x = b.node("transpose", ["x"], (1, 9, 7, 3), perm=(0, 2, 3, 1))
    a = b.node("act", [x], (1, 9, 7, 3), act=act, **act_attrs)
    p = b.node("maxpool2d", [a], (1, 4, 3, 3), kernel=(3, 3), strides=(2, 2), pads=(0, 0, 0, 0))
    c = b.node("act", [p], (1, 4, 3, 3), act="clip", act_min=-0.5, act_max=0.5)
    return b.graph(b.node("reshape", [c], (1, 36)))


@pytest.mark.parametrize(
    "act, attrs",
    [("relu", {}), ("relu6", {"act_min": 0.0, "act_max": 6.0}),
     ("clip", {"act_min": 1.0, "act_max": -1.0}), ("leaky_relu", {"act_alpha": 0.1}),
     ("elu", {"act_alpha": 1.0}), ("sigmoid", {})],
    ids=["relu", "relu6", "clip_min_gt_max", "leaky_relu", "elu", "sigmoid"],
)  # fmt: skip
def test_float_c_propagates_nan_like_the_reference(rng, tmp_path, act, attrs):
    """NaN in -> NaN out wherever NumPy gives NaN (np.maximum/np.clip/max propagate it),
    and Clip with min > max gives max (ONNX min(max(x, lo), hi)) in C and reference."""
    m = cnnc.compile(nan_net(rng, act, **attrs), tmp_path)
    x = rng.standard_normal((3, 3, 9, 7)).astype(np.float32) * 3
    x[0, 0, 0, 0] = np.nan  # first element of a pooling window
    x[1, 2, 4, 5] = np.nan  # inside a window
    x[2, 1, 8, 6] = np.nan  # in no window (pooling drops the last row/column)
    y_c, y_ref = m.run(x).reshape(3, -1), m.reference(x).reshape(3, -1)
    nan_c, nan_ref = np.isnan(y_c), np.isnan(y_ref)
    assert nan_ref[:2].any(), "the test must put NaN into the output"
    bad = np.argwhere(nan_c != nan_ref)
    assert len(bad) == 0, (
        f"NaN differs at {bad[:5].tolist()}: C {y_c[tuple(bad[0])]}, ref {y_ref[tuple(bad[0])]}"
    )
    np.testing.assert_allclose(y_c[~nan_c], y_ref[~nan_ref], rtol=0, atol=1e-5)
    if act == "clip":
        a = np.minimum(np.maximum(x[~np.isnan(x)], 1.0), -1.0)
        assert np.all(a == -1.0) and np.all(y_ref[~nan_ref] == -0.5)
