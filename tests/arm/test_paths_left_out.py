"""Whatever subset of the DSP kernels' fast paths a build holds, a model computes the same bits.

A model's folder builds only the paths its calls can take (cnnc_model_calls.h), so a path's
guard is right only if every path it falls through to computes the same bits for every call.
Here the bench's digits MobileNetV2 and XNOR-Net are built with every fast path left out
(each guard 0: the general paths alone) and with pseudo-random subsets (each guard's outcome
a hash of its predicate's name and a seed), on the emulated Cortex-M4 at -O2 and -Os: each
build links and its outputs equal the NumPy reference bit for bit."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from asserts import assert_bit_exact
from cnnc import api
from cnnc.host import cross, mcu

from .conftest import require_target

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

# A guard's outcome from its predicate's name: its first, middle and last characters mixed
# with the seed (a string literal's characters fold to constants at -O1 and above).
SEEDED = """#ifndef CNNC_MODEL_CALLS_H
#define CNNC_MODEL_CALLS_H
#define CNNC_PATH_HASH(s, n) ((s)[0] * 7 + (s)[(n) / 2] * 13 + (s)[(n) - 2] * 31 + (n))
#define CNNC_MODEL_CALLS(kernel, P) \\
    (((CNNC_PATH_HASH(#P, sizeof(#P)) * SEED) >> 3) % 2 == 1)
#endif
"""
NONE = """#ifndef CNNC_MODEL_CALLS_H
#define CNNC_MODEL_CALLS_H
#define CNNC_MODEL_CALLS(kernel, P) 0
#endif
"""

CASES = [
    ("digits", "none", ()),
    ("digits", 1, ()),
    ("xnornet", 2, ("-Os",)),
    ("xnornet", "none", ()),
    ("xnornet", 1, ()),
]


@pytest.mark.parametrize(("name", "seed", "opt"), CASES, ids=lambda v: str(v).replace(" ", ""))
def test_any_subset_of_paths_computes_the_same_bits(tmp_path, name, seed, opt):
    require_target("cortex-m4")
    import bench_mcu

    model, precision, x, opts = bench_mcu.MODELS[name]()
    m = api.compile(model, tmp_path / "m", precision, x, embed_weights=True,
                    target="cortex-m4", **opts)  # fmt: skip
    header = NONE if seed == "none" else SEEDED.replace("SEED", str(seed))
    subset = tmp_path / "subset"
    shutil.copytree(m.out_dir, subset)
    (subset / "cnnc_runtime" / "include" / "cnnc_model_calls.h").write_text(header)
    every = mcu.mcu_size(m.out_dir, "cortex-m4", (*opt, "-DCNNC_ALL_PATHS"))["text"]
    held = mcu.mcu_size(subset, "cortex-m4", opt)["text"]
    # the subset left paths out (-Os builds the compact paths alone: maybe none to leave)
    assert held <= every if "-Os" in opt else held < every, (held, every)
    batch = x[:4]
    want = m.reference(batch).reshape(len(batch), -1).astype("float32")
    got = cross.run(subset, "cortex-m4", batch, opt)
    assert_bit_exact(want, got, f"{name} with paths {seed} left out {opt}")
