"""Arena planner: no two tensors live at the same step share bytes, offsets are 64-byte
aligned, in-place and alias reuse happen only where legal, and the arena is close to the
lower bound (checked here independently from the lifetimes) on MobileNetV2."""

import sys
from pathlib import Path

import numpy as np
import pytest
import tiny_graphs
from cnnc import ir, passes
from cnnc.backend import planner
from cnnc.frontend import onnx_import

sys.path.insert(0, str(Path(__file__).parent.parent))
import onnx_builders  # noqa: E402


def lifetimes(graph: ir.Graph) -> dict[str, tuple[int, int]]:
    """Independent lifetimes: [producing step, last reading step] (outputs: to the end)."""
    life = {}
    for step, node in enumerate(graph.nodes):
        for out in node.outputs:
            life[out] = (step, step)
        for name in node.inputs:
            if name in life:
                life[name] = (life[name][0], step)
    for name in graph.outputs:
        life[name] = (life[name][0], len(graph.nodes))
    return life


def sharing_groups(graph: ir.Graph, plan: planner.Plan) -> dict[str, str]:
    """Tensors that may share bytes: an alias (reshape) or in-place op's output placed at
    its input's offset joins that input's group (union-find over such edges)."""
    parent = {name: name for name in plan.offsets}

    def root(name):
        while parent[name] != name:
            name = parent[name]
        return name

    for node in graph.nodes:
        if node.op not in planner.ALIAS_OPS and node.op not in planner.INPLACE_OPS:
            continue
        out = node.outputs[0]
        for name in node.inputs:
            if name in plan.offsets and plan.offsets[name] == plan.offsets[out]:
                parent[root(out)] = root(name)
    return {name: root(name) for name in parent}


def assert_valid(graph: ir.Graph, plan: planner.Plan) -> None:
    life = lifetimes(graph)
    nbytes = {n: planner.tensor_bytes(graph.tensors[n]) for n in life}
    assert set(plan.offsets) == set(life), "every node output, and nothing else, is placed"
    group = sharing_groups(graph, plan)
    names = sorted(life)
    for i, a in enumerate(names):
        oa = plan.offsets[a]
        assert oa % 64 == 0, f"{a} at offset {oa} is not 64-byte aligned"
        assert oa + nbytes[a] <= plan.arena_bytes
        for b in names[i + 1 :]:
            ob = plan.offsets[b]
            overlap_space = oa < ob + nbytes[b] and ob < oa + nbytes[a]
            overlap_time = life[a][0] <= life[b][1] and life[b][0] <= life[a][1]
            if overlap_space and overlap_time and group[a] != group[b]:
                raise AssertionError(f"{a} {life[a]} @{oa} and {b} {life[b]} @{ob} overlap")


def chain(rng, sizes):
    """A chain of dense layers with the given widths (K -> sizes[0] -> sizes[1] ...)."""
    b = tiny_graphs.Builder(rng, (1, sizes[0]))
    x = "x"
    for i, m in enumerate(sizes[1:]):
        k = b.shape(x)[1]
        x = b.node("dense", [x, b.const(f"w{i}", m, k)], (1, m))
    return b.graph(x)


def test_chain_ping_pongs_between_two_buffers(rng):
    """Hand-computed: outputs of 32, 16, 32, 16 floats; each step has its input and output
    live, so a 128-byte and a 64-byte slot suffice: arena 192 = the lower bound."""
    g = chain(rng, [8, 32, 16, 32, 16])
    plan = planner.plan(g)
    assert_valid(g, plan)
    assert plan.lower_bound == (32 + 16) * 4
    assert plan.arena_bytes == 192
    assert len({plan.offsets[n.outputs[0]] for n in g.nodes}) == 2


def test_graph_input_and_constants_stay_out_of_the_arena(rng):
    g = tiny_graphs.small_net(rng)
    plan = planner.plan(g)
    assert "x" not in plan.offsets
    assert not any(g.tensors[n].is_const for n in plan.offsets)


def test_inplace_add_reuses_the_dying_input(rng):
    g = tiny_graphs.small_net(rng)  # add(c2, c1): c1 was read before by the depthwise conv
    plan = planner.plan(g)
    add = next(n for n in g.nodes if n.op == "add")
    assert plan.offsets[add.outputs[0]] in (plan.offsets[add.inputs[0]],
                                             plan.offsets[add.inputs[1]])  # fmt: skip
    assert_valid(g, plan)


def test_no_inplace_when_the_input_is_read_later(rng):
    b = tiny_graphs.Builder(rng, (1, 17))
    a = b.node("act", ["x"], (1, 17), act="relu")  # graph input: never written in place
    r = b.node("act", [a], (1, 17), act="sigmoid")  # a is still read by the add below
    s = b.node("add", [r, a], (1, 17))
    g = b.graph(s)
    plan = planner.plan(g)
    assert plan.offsets[r] != plan.offsets[a]
    assert plan.offsets[s] in (plan.offsets[r], plan.offsets[a])
    assert_valid(g, plan)


def test_reshape_aliases_its_input(rng):
    g = tiny_graphs.small_net(rng)
    plan = planner.plan(g)
    reshape = next(n for n in g.nodes if n.op == "reshape")
    assert plan.offsets[reshape.outputs[0]] == plan.offsets[reshape.inputs[0]]


@pytest.mark.parametrize("net", ["small_net", "every_op_net"])
def test_tiny_nets_plans_are_valid(rng, net):
    g = getattr(tiny_graphs, net)(rng)
    plan = planner.plan(g)
    assert_valid(g, plan)
    assert plan.lower_bound <= plan.arena_bytes


def independent_lower_bound(graph: ir.Graph, plan: planner.Plan) -> int:
    """Max over steps of the bytes of distinct buffers (distinct offsets' owners) live then."""
    life = lifetimes(graph)
    best = 0
    for step in range(len(graph.nodes) + 1):
        live = {}
        for name, (s, e) in life.items():
            if s <= step <= e:
                off = plan.offsets[name]
                live[off] = max(live.get(off, 0), planner.tensor_bytes(graph.tensors[name]))
        best = max(best, sum(live.values()))
    return best


@pytest.mark.parametrize("size,width", [(224, 1.0), (96, 0.35), (33, 0.5)],
                         ids=["224-w1", "96-w0.35", "33-w0.5"])  # fmt: skip
def test_mobilenetv2_arena_within_10_percent_of_lower_bound(size, width):
    model = onnx_builders.mobilenetv2_pytorch_style(input_size=size, width=width)
    g = passes.lower(onnx_import.load(model))
    plan = planner.plan(g)
    assert_valid(g, plan)
    bound = independent_lower_bound(g, plan)
    assert plan.lower_bound == bound
    assert plan.arena_bytes <= 1.1 * bound, (plan.arena_bytes, bound)


def test_b1_tensors_are_sized_in_32_bit_words():
    for c, expected in [(1, 4), (32, 4), (33, 8), (65, 12)]:
        t = ir.Tensor("t", (1, 3, 5, c), "b1")
        assert planner.tensor_bytes(t) == 15 * expected
    assert planner.tensor_bytes(ir.Tensor("q", (1, 7, 17), "int8")) == 119
    assert np.isclose(planner.tensor_bytes(ir.Tensor("f", (2, 3), "float32")), 24)
