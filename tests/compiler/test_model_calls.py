"""cnnc_model_calls.h, the calls a compiled model makes of each dispatched kernel (the DSP
kernels build only the paths these can take): compiled by the host's gcc, its entries are
the params of every conv and add call, a fused group's one per band as
cnnc.ops.fused.band_geometry cuts the group, and a kernel the model never calls has none."""

import subprocess

import numpy as np
from cnnc import api
from cnnc.ops import fused
from fused_nets import tiny_ir_onnx

PROGRAM = r"""
#include <stdio.h>
#include "cnnc_s8.h"
#include "cnnc_model_calls.h"
int conv(cnnc_s8_conv_params p) {
    printf("conv %d %d %d %d %d %d\n", p.h, p.pad_top, p.out_h, p.c, p.out_c, p.stride_h);
    return 0;
}
int add(cnnc_s8_add_params p) { printf("add %d\n", p.size); return 0; }
int dense(cnnc_s8_dense_params p) { printf("dense %d\n", p.k); return 0; }
#define CONV(p) conv(p)
#define ADD(p) add(p)
#define DENSE(p) dense(p)
int main(void) {
    int any = CNNC_MODEL_CALLS(s8_conv, CONV) || CNNC_MODEL_CALLS(s8_pwconv, CONV) ||
              CNNC_MODEL_CALLS(s8_dwconv, CONV) || CNNC_MODEL_CALLS(s8_add, ADD);
    printf("dense any %d\n", CNNC_MODEL_CALLS(s8_dense, DENSE));
    (void)any;
    return 0;
}
"""


def header_entries(out_dir, tmp_path, defines=()):
    src = tmp_path / "calls.c"
    src.write_text(PROGRAM)
    exe = tmp_path / "calls"
    inc = out_dir / "cnnc_runtime" / "include"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", *defines, f"-I{inc}", str(src),
                    "-o", str(exe)], check=True)  # fmt: skip
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def expected_entries(graph):
    """Every conv call's (h, pad_top, out_h, c, out_c, stride) and add call's size."""
    found = set()

    def conv(bn, h, pad_top, out_h):
        c = graph.tensors[bn.inputs[0]].shape[3]
        out_c = graph.tensors[bn.outputs[0]].shape[3]
        stride = bn.attrs.get("strides", (1, 1))[0]
        found.add(f"conv {h} {pad_top} {out_h} {c} {out_c} {stride}")

    for node in graph.nodes:
        if node.op == "s8_conv2d":
            top = node.attrs.get("pads", (0, 0, 0, 0))[0]
            h, out_h = (graph.tensors[t].shape[1] for t in (node.inputs[0], node.outputs[0]))
            conv(node, h, top, out_h)
        elif node.op == "s8_add":
            found.add(f"add {graph.tensors[node.outputs[0]].size}")
        elif node.op == fused.OP:
            for band in fused.band_geometry(node, graph):
                for bn, step in zip(fused.body_nodes(node), band.steps, strict=True):
                    if bn.op == "s8_conv2d":
                        conv(bn, step.in_hi - step.in_lo, step.pad_top, step.out_hi - step.out_lo)
                    elif bn.op == "s8_add":
                        _, _, w, c = graph.tensors[bn.outputs[0]].shape
                        found.add(f"add {(step.out_hi - step.out_lo) * w * c}")
    return found


def test_model_calls_header_lists_every_call_and_band(tmp_path):
    rng = np.random.default_rng(3)
    model = tiny_ir_onnx(rng, size=19)
    calib = rng.standard_normal((8, 3, 19, 19)).astype(np.float32)
    m = api.compile(model, tmp_path / "m", "int8", calib, int8_io=True, memory="min",
                    max_recompute=0.5)  # fmt: skip
    groups = [n for n in m.graph.nodes if n.op == fused.OP]
    assert groups and any(len(fused.band_geometry(g, m.graph)) > 2 for g in groups)
    lines = header_entries(m.out_dir, tmp_path)
    assert lines[-1] == "dense any 0"  # no Gemm/MatMul in the net: no dense call
    got = lines[:-1]
    assert len(got) == len(set(got)), "an entry listed twice"
    assert set(got) == expected_entries(m.graph)
    # every path (the runtime's own copy, or CNNC_ALL_PATHS): every test holds, unevaluated
    assert header_entries(m.out_dir, tmp_path, ("-DCNNC_ALL_PATHS",)) == ["dense any 1"]
