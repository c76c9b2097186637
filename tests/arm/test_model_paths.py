"""A compiled model's folder builds only the DSP kernels' paths its calls can take.

codegen writes the model's calls into cnnc_runtime/include/cnnc_model_calls.h and the DSP
kernels test their fast paths' shapes against them at compile time. A path left out that
a call needed would hand the call to a slower path of the same bits: so with every path
built (CNNC_ALL_PATHS) each layer must run no fewer instructions and no function the model's
build does not, while the firmware's code is smaller; and every layer's output bytes must be
the same."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from cnnc import api
from cnnc.host import cross, mcu, mcu_trace

from . import layer_models as oc
from .conftest import require_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

ALL_PATHS = ("-DCNNC_ALL_PATHS",)


def bench_model(name: str):
    import bench_mcu

    return bench_mcu.MODELS[name]()


# (bench model, compile options, -O level): the bench's digits MobileNetV2 (its shapes are
# the ones the written-out paths serve) layer by layer and in row bands, XNOR-Net's int8
# first and last layers.
CASES = [
    ("digits", {}, ()),
    ("digits", {"memory": "min"}, ()),
    ("digits", {}, ("-Os",)),
    ("xnornet", {}, ()),
]


@pytest.mark.parametrize(("name", "options", "opt"), CASES,
                         ids=lambda v: str(v).replace(" ", ""))  # fmt: skip
def test_model_paths_run_what_every_path_runs_on_less_code(tmp_path, name, options, opt):
    require_target("cortex-m4")
    model, precision, x, opts = bench_model(name)
    m = api.compile(model, tmp_path / name, precision, x, embed_weights=True,
                    target="cortex-m4", **opts, **options)  # fmt: skip
    assert_paths_run_what_every_path_runs(m, x, opt)


# Pointwise convs on the dense pair paths' variants digits takes none of (s8_dense_dsp.c,
# dsp_pair_built): 25 rows (5x5, odd) of K 24 into 96 behind a ReLU (the rows kept, K 24
# written out, the odd last row kept), of K 96 into 48 (the weights doubled, 24 quads written
# out) and of K 48 into 24 behind a ReLU (twelve quads a turn); past a 3x3 stride-2 conv, 9
# rows of K 32 into 56 (kept, linear, four quads a turn), of K 56 into 112 behind a ReLU (kept,
# fourteen quads a turn), of K 112 into 16 (the rows doubled, fourteen quads a turn) and, past
# a K 16 layer, of K 24 into 40 behind a ReLU (the rows doubled).
PAIR_LAYERS = (
    (24, 5, 5),
    [(oc.conv, dict(co=96, k=1, stride=1, pad=0, act="relu")),
     (oc.conv, dict(co=48, k=1, stride=1, pad=0)),
     (oc.conv, dict(co=24, k=1, stride=1, pad=0, act="relu")),
     (oc.conv, dict(co=32, k=3, stride=2, pad=1)),
     (oc.conv, dict(co=56, k=1, stride=1, pad=0)),
     (oc.conv, dict(co=112, k=1, stride=1, pad=0, act="relu")),
     (oc.conv, dict(co=16, k=1, stride=1, pad=0)),
     (oc.conv, dict(co=24, k=1, stride=1, pad=0, act="relu")),
     (oc.conv, dict(co=40, k=1, stride=1, pad=0, act="relu"))],
)  # fmt: skip


def test_model_paths_of_pair_layers_run_what_every_path_runs(tmp_path, rng):
    require_target("cortex-m4")
    shape, steps = PAIR_LAYERS
    calibration = rng.standard_normal((16, *shape)).astype(np.float32)
    m = api.compile(oc.build(rng, shape, steps), tmp_path / "pair", "int8", calibration,
                    embed_weights=True, target="cortex-m4")  # fmt: skip
    assert_paths_run_what_every_path_runs(m, calibration, ())


def assert_paths_run_what_every_path_runs(m, x, opt):
    """The model's paths run no function all paths do not, no layer slower, on less code."""
    pruned = mcu_trace.count_instructions(m.out_dir, "cortex-m4", x[:1], opt)
    every = mcu_trace.count_instructions(m.out_dir, "cortex-m4", x[:1], opt + ALL_PATHS)
    ran = lambda c: {s for s, n in c.symbols.items() if n}  # noqa: E731
    # no other kernel runs (a fallback would); a function with fewer callers may be inlined
    assert ran(pruned) <= ran(every), ran(pruned) - ran(every)
    slower = {i: (n, every.layers[i]) for i, n in pruned.layers.items() if n > every.layers[i]}
    assert not slower, f"layers slower with the model's paths only (pruned, all): {slower}"
    small = mcu.mcu_size(m.out_dir, "cortex-m4", opt)["text"]
    full = mcu.mcu_size(m.out_dir, "cortex-m4", opt + ALL_PATHS)["text"]
    # -Os builds the compact paths alone, where a model may have nothing to leave out
    assert small <= full if "-Os" in opt else small < full, (small, full)


# The bench models whose bytes the model's paths must reproduce: digits layer by layer and in
# row bands, and MobileNetV2 0.35@96 (its RGB stem, its adds' table loops), 4 samples each
# (XNOR-Net and -Os: test_paths_left_out.py against the reference).
BYTES_CASES = [*CASES[:2], ("mnv2-0.35@96", {}, ())]


@pytest.mark.parametrize(("name", "options", "opt"), BYTES_CASES,
                         ids=lambda v: str(v).replace(" ", ""))  # fmt: skip
def test_model_paths_compute_what_every_path_computes(tmp_path, name, options, opt):
    """Inside a path the loop a call runs may be chosen by its params alone, and a loop no
    call of the model can take is not built: every layer's output bytes, for several
    inputs, must be those of the build of every path."""
    require_target("cortex-m4")
    model, precision, x, opts = bench_model(name)
    m = api.compile(model, tmp_path / name, precision, x, embed_weights=True,
                    target="cortex-m4", **opts, **options)  # fmt: skip
    target = cross.check_toolchain("cortex-m4", run=True)
    xs = np.ascontiguousarray(x[:4], dtype="<f4").tobytes()
    args = cross.runner_args(m.out_dir, ["--layers", "all"])
    outs = []
    for flags in (opt, opt + ALL_PATHS):
        binary = cross.build_program(m.out_dir, "cortex-m4", extra_flags=flags)
        status, out, messages = cross.run_board(binary, target, args, xs)
        assert status == 0, messages
        outs.append(out)
    assert outs[0] == outs[1]
