"""The fused row-band schedule (cnnc.passes.schedule, cnnc.ops.fused) in NumPy: the
reference executing a group band by band equals the layer-by-layer reference bit for
bit, for band heights 1, 2, odd, and taller than the tensor, odd sizes, stride 1 and 2,
with and without the residual add; and ``--memory min`` shrinks the planned arena."""

import numpy as np
import pytest
from cnnc import api, reference
from cnnc.backend import planner
from cnnc.errors import UnsupportedError
from cnnc.ops import fused
from cnnc.passes import schedule
from fused_nets import int8_inputs, tiny_ir_graph


@pytest.fixture(scope="module", params=[True, False], ids=["stride2", "stride1"])
def net(request):
    graph = tiny_ir_graph(np.random.default_rng(7), size=19 if request.param else 11,
                          stride2=request.param)  # fmt: skip
    x = int8_inputs(np.random.default_rng(8), graph)
    return graph, x, reference.run(graph, {graph.inputs[0]: x}, keep_all=True)


def units_by_kind(graph):
    """{"stem": unit, "no_expand": unit, "block": unit, "residual": unit} of tiny_ir_net."""
    units = schedule.find_units(graph)
    ops = [[graph.nodes[i].op for i in range(a, b)] for a, b in units]
    assert [len(o) for o in ops] == [1, 2, 3, 4], ops
    assert ops[3][-1] == "s8_add"
    return dict(zip(["stem", "no_expand", "block", "residual"], units, strict=True))


def check_equal(graph, x, expected, groups):
    fused_graph = schedule.apply(graph, groups)
    assert sum(n.op == fused.OP for n in fused_graph.nodes) == len(groups)
    got = reference.run(fused_graph, {graph.inputs[0]: x}, keep_all=True)
    for node in fused_graph.nodes:
        name = node.outputs[0]
        bad = np.argwhere(got[name] != expected[name])
        assert not bad.size, (
            f"{node.name} band_h={node.attrs.get('band_h')}: {len(bad)} values differ, first "
            f"at {tuple(bad[0])}: fused {got[name][tuple(bad[0])]}, "
            f"unfused {expected[name][tuple(bad[0])]}"
        )


@pytest.mark.parametrize("band_h", [1, 2, 3, 40], ids=lambda h: f"h{h}")
@pytest.mark.parametrize("which", ["stem", "no_expand", "block", "residual"])
def test_one_unit_fused_equals_unfused(net, which, band_h):
    graph, x, expected = net
    a, b = units_by_kind(graph)[which]
    if b - a < 2:  # a lone conv is banded together with the block after it
        b = units_by_kind(graph)["no_expand"][1]
    check_equal(graph, x, expected, [(a, b, band_h)])


@pytest.mark.parametrize("band_h", [1, 3], ids=lambda h: f"h{h}")
def test_whole_chain_in_one_group_equals_unfused(net, band_h):
    """Stem and three blocks in one group: halos grow through two stride-2 convs."""
    graph, x, expected = net
    units = units_by_kind(graph)
    check_equal(graph, x, expected, [(units["stem"][0], units["residual"][1], band_h)])


def test_two_groups_with_different_heights(net):
    graph, x, expected = net
    units = units_by_kind(graph)
    check_equal(graph, x, expected,
                [(units["stem"][0], units["no_expand"][1], 2),
                 (units["block"][0], units["residual"][1], 3)])  # fmt: skip


def test_band_geometry_covers_every_row_once(net):
    """The bands' output rows tile the group output; every step reads inside its input."""
    graph, _, _ = net
    units = units_by_kind(graph)
    group = schedule.make_group(graph, units["stem"][0], units["residual"][1], 2)
    bands = fused.band_geometry(group, graph)
    rows = [r for b in bands for r in range(*b.rows[group.outputs[0]])]
    assert rows == list(range(graph.tensors[group.outputs[0]].shape[1]))
    for band in bands:
        for bn, step in zip(fused.body_nodes(group), band.steps, strict=True):
            height = graph.tensors[bn.inputs[0]].shape[1]
            assert 0 <= step.in_lo < step.in_hi <= height
            assert step.out_lo < step.out_hi
    assert fused.executed_macs(group, graph, bands) > fused.unfused_macs(group, graph)


def test_memory_min_shrinks_the_arena_within_the_budget(net):
    graph, x, expected = net
    before = planner.plan(graph)
    after_graph = schedule.schedule(graph, "min", 0.5, planner.tensor_bytes)
    after = planner.plan(after_graph)
    groups = [n for n in after_graph.nodes if n.op == fused.OP]
    assert groups and after.arena_bytes < before.arena_bytes, (after.arena_bytes, before)
    extra = sum(fused.executed_macs(g, graph) - fused.unfused_macs(g, graph) for g in groups)
    assert extra <= 0.5 * schedule.model_macs(graph)
    got = reference.run(after_graph, {graph.inputs[0]: x})
    assert np.array_equal(got[graph.outputs[0]], expected[graph.outputs[0]])
    assert schedule.schedule(graph, "fast") is graph


def test_bad_memory_mode_is_refused(net):
    with pytest.raises(UnsupportedError, match="memory mode 'small'"):
        schedule.schedule(net[0], "small")


def test_compile_memory_min_reports_bound_arena_recompute_and_bands(tmp_path, capsys):
    """`cnnc compile --memory min --max-recompute 0.5`: the report's schedule section."""
    from cnnc import cli
    from fused_nets import tiny_ir_onnx

    rng = np.random.default_rng(3)
    onnx_path, calib = tmp_path / "net.onnx", tmp_path / "calib.npz"
    onnx_path.write_bytes(tiny_ir_onnx(rng, 19).SerializeToString())
    np.savez(calib, x=rng.standard_normal((8, 3, 19, 19)).astype(np.float32))
    argv = ["compile", str(onnx_path), "-o", str(tmp_path / "out"), "--precision", "int8",
            "--calibration", str(calib), "--int8-io", "--memory", "min",
            "--max-recompute", "0.5"]  # fmt: skip
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    s = api.load(tmp_path / "out").report["schedule"]
    assert s["memory"] == "min" and s["groups"], s
    assert s["arena_bytes"] < s["layer_by_layer_bound"]
    assert 0 < s["recompute_macs"] <= 0.5 * s["macs_unfused"]
    assert s["recompute_ratio"] == round(s["recompute_macs"] / s["macs_unfused"], 4)
    assert f"layer-by-layer bound {s['layer_by_layer_bound']:,}" in printed
    assert f"band_h {s['groups'][0]['band_h']:>3}" in printed


def test_bad_max_recompute_is_refused(net):
    with pytest.raises(UnsupportedError, match="max recompute -1"):
        schedule.schedule(net[0], "min", -1)
    with pytest.raises(UnsupportedError, match="give a number"):
        api.apply_schedule(net[0], {"memory": "min", "max_recompute": "lots"})
