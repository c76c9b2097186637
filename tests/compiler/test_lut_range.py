"""An activation read only by lookup tables stops its int8 range where the tables'
function turns flat (cnnc.passes.quantize.narrow_to_lut_domain): HardSwish ignores every
input below -3, HardSigmoid every input outside [-3, 3], so no int8 levels go there.

Checked on Conv -> HardSwish and Conv -> HardSigmoid with a wide pre-activation range:
the pre-activation's int8 range starts at -3 (and ends at 3 for HardSigmoid), and the int8
output is closer to the float one than with the full calibrated range; a pre-activation
that another (non-table) op also reads keeps its full range.
"""

import numpy as np
import pytest
from cnnc import api, reference
from cnnc.passes import quantize
from onnx import helper
from onnx_builders import make_model

C = 8


def model(act: str, also_add: bool = False):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((C, 3, 3, 3)) * 3.0).astype(np.float32)  # wide pre-activation
    attrs = {"alpha": 1 / 6, "beta": 0.5} if act == "HardSigmoid" else {}
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["pre"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node(act, ["pre"], ["act" if also_add else "output"], name="act", **attrs),
    ]
    if also_add:
        nodes.append(helper.make_node("Add", ["act", "pre"], ["output"], name="add"))
    return make_model(nodes, {"input": [1, 3, 8, 8]}, {"output": [1, C, 8, 8]}, {"w": w},
                      opset=17)  # fmt: skip


def pre_activation_range(graph):
    """The real interval the int8 pre-activation (the conv's output) can represent."""
    conv = next(n for n in graph.nodes if n.name == "conv")
    t = graph.tensors[conv.outputs[0]]
    s, z = float(t.quant.scale), int(t.quant.zero_point)
    return s * (-128 - z), s * (127 - z)


def int8_error(graph, qgraph, x) -> float:
    want = next(iter(reference.run(graph, {graph.inputs[0]: x}).values()))
    got = next(iter(reference.run(qgraph, {qgraph.inputs[0]: x}).values()))
    return float(np.sqrt(np.mean((want.astype(np.float64) - got) ** 2)))


# measured RMS error ratios narrowed / full: HardSwish 0.85, HardSigmoid 0.72 (the
# output step, unchanged, is the larger part of the error)
@pytest.mark.parametrize(
    "act,lo,hi,ratio", [("HardSwish", -3, None, 0.9), ("HardSigmoid", -3, 3, 0.8)]
)
def test_range_stops_where_the_table_turns_flat(monkeypatch, act, lo, hi, ratio):
    graph = api.lowered_graph(model(act))
    rng = np.random.default_rng(1)
    cal = rng.standard_normal((16, 3, 8, 8)).astype(np.float32)
    x = rng.standard_normal((16, 3, 8, 8)).astype(np.float32)
    ranges = quantize.collect_ranges(quantize.unfuse_table_acts(graph), cal)
    pre = next(n for n in graph.nodes if n.name == "conv").outputs[0]
    pre = next(k for k in ranges if k.startswith(pre))  # the unfused conv output
    assert ranges[pre][0] < -10 and ranges[pre][1] > 10, ranges[pre]  # a wide range
    narrowed = quantize.quantize(graph, cal)
    a, b = pre_activation_range(narrowed)
    step = (b - a) / 255
    assert lo - step <= a <= lo + step, (a, b)
    if hi is not None:
        assert hi - step <= b <= hi + step, (a, b)
    err = int8_error(graph, narrowed, x)
    monkeypatch.setattr(quantize, "narrow_to_lut_domain", lambda g, r: r)
    full = quantize.quantize(graph, cal)
    assert pre_activation_range(full)[0] < -10
    print(f"{act}: int8 RMS error {err:.4g} narrowed, {int8_error(graph, full, x):.4g} full")
    assert err < ratio * int8_error(graph, full, x), (err, int8_error(graph, full, x))


def test_a_tensor_other_ops_read_keeps_its_range():
    graph = api.lowered_graph(model("HardSwish", also_add=True))
    cal = np.random.default_rng(1).standard_normal((16, 3, 8, 8)).astype(np.float32)
    a, _ = pre_activation_range(quantize.quantize(graph, cal))
    assert a < -10, a
