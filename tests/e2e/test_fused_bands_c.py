"""The fused row-band schedule in C (cnnc.backend.schedule_codegen): a group is a loop over
bands calling the existing kernels on row windows. Its output, and every layer's bytes,
equal the layer-by-layer NumPy reference bit for bit on every kernel tier this CPU has
(the band windows change h, out_h and pad_top of each call, which every variant must
honour), and on aarch64 under qemu-user (NEON kernels)."""

import sys
from pathlib import Path

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc import api
from cnnc.host import cross, harness
from cnnc.host.kernels import cpu_flags
from cnnc.ops import fused, variants
from cnnc.passes import schedule

sys.path.insert(0, str(Path(__file__).parents[1] / "compiler"))
from fused_nets import tiny_ir_graph  # noqa: E402
from toolchains import require_target  # noqa: E402

TIERS = {"ref": (), "avx2": variants.FLAGS_AVX2, "avx512": variants.FLAGS_AVX512}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tiny stride-2 net with two groups: stem + t=1 block in bands of 3 rows (odd),
    the stride-2 block + the residual block in bands of 1 row."""
    rng = np.random.default_rng(11)
    graph = tiny_ir_graph(rng, size=19, stride2=True)
    units = schedule.find_units(graph)
    groups = [(units[0][0], units[1][1], 3), (units[2][0], units[3][1], 1)]
    fused_graph = schedule.apply(graph, groups)
    cm = api.write_output(fused_graph, tmp_path_factory.mktemp("fused") / "out", "int8")
    x = rng.standard_normal((4, 3, 19, 19)).astype(np.float32) * 1.5
    want = api.run_reference(graph, api.feeds_of(graph, x))  # the unfused reference
    return cm, x, want, graph


def test_model_c_has_the_band_loops(built):
    cm = built[0]
    text = (cm.out_dir / "model.c").read_text()
    assert sum(n.op == fused.OP for n in cm.graph.nodes) == 2
    assert text.count("for (band = 0; band < ") == 2
    assert "p.pad_top = r[" in text and "p.size = r[" in text


@pytest.mark.parametrize("tier", list(TIERS))
def test_fused_c_equals_unfused_reference_on_each_tier(built, tier, monkeypatch):
    cm, x, want, graph = built
    lacking = [f for f in TIERS[tier] if f not in cpu_flags()]
    if lacking:
        pytest.skip(f"this CPU lacks {', '.join(lacking)} (needed by the {tier} tier)")
    monkeypatch.setenv("CNNC_ISA", tier)
    model = harness.open_model(cm.out_dir)
    got = harness.run(model, api.pack_inputs(cm.graph, x)).reshape(want.shape)
    assert_bit_exact(want, got, f"fused C ({tier}) vs unfused reference")


def test_every_layer_bytes_equal_the_reference(built):
    cm, x, _, _ = built
    values = cm.reference_all(x[:2])
    for n, node in enumerate(cm.graph.nodes, start=1):
        got = cm.run_layers(x[:2], n)
        for s in range(2):
            want = np.ascontiguousarray(values[node.outputs[0]][s]).tobytes()
            assert got[s] == want, f"sample {s}: layer {n} {node.op} '{node.name}' differs"


def test_fused_c_bit_exact_on_aarch64(built):
    require_target("aarch64")
    cm, x, want, _ = built
    got = cross.run(cm.out_dir, "aarch64", x).reshape(want.shape)
    assert_bit_exact(want.astype(np.float32), got, "fused C on aarch64 vs unfused reference")
