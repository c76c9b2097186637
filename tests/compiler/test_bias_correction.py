"""Bias correction in the int8 quantiser (cnnc.passes.bias_correction).

The per-channel mean error of a conv's pre-activation output over the calibration data is
computed here from the quantised graph's own integers (int8 input from the reference,
int8 weights, int32 bias, dequantised) against the float conv: with the correction it
is at most half a bias step per channel; without it, it is several times larger.
"""

import numpy as np
import pytest
from cnnc import api, ir, reference
from cnnc.errors import CnncError
from cnnc.ops import f32
from cnnc.ops.requant import INT32_MAX
from cnnc.passes.bias_correction import BiasCorrectionWarning, fit_accumulator
from cnnc.passes.quantize import check_accumulator, quantize, quantize_weights
from tiny_graphs import Builder

CONVS = 2  # a depthwise 3x3 then a dense-group 1x1 (the second reads int8 noise upstream)


def small_convs(rng) -> ir.Graph:
    b = Builder(rng, (1, 6, 10, 10))
    x = b.node("transpose", ["x"], (1, 10, 10, 6), perm=(0, 2, 3, 1))
    d = b.conv(x, 6, 3, pad=1, groups=6, act="relu")
    y = b.conv(d, 5, 1)
    return b.graph(y)


def calibration(rng, n=24) -> np.ndarray:
    # a positive mean per channel: E[x] != 0 makes the weights' rounding shift the mean
    return (rng.normal(0, 1, (n, 6, 10, 10)) + rng.uniform(0.5, 2, (1, 6, 1, 1))).astype(np.float32)


def mean_errors(graph: ir.Graph, qg: ir.Graph, cal: np.ndarray, mode: str):
    """Per conv: (|mean error| per channel, half a bias step per channel) of the int8
    pre-activation against the float one, on the int8 input ("empirical") or the float
    input ("weights", "none")."""
    want_all = reference.run(graph, {"x": cal}, keep_all=True)
    got_all = reference.run(qg, {"x": cal}, keep_all=True)
    out = []
    for node in [n for n in graph.nodes if n.op == "conv2d"]:
        qn = next(n for n in qg.nodes if n.name == node.name)
        w, b = (graph.tensors[t].data.astype(np.float64) for t in node.inputs[1:3])
        quant = qg.tensors[qn.inputs[0]].quant
        s_x, zx = float(np.asarray(quant.scale)), int(np.asarray(quant.zero_point))
        wq, bq = (qg.tensors[t].data.astype(np.float64) for t in qn.inputs[1:3])
        s_w = quantize_weights(w, b, s_x)[2]
        args = (node.attrs["strides"], node.attrs["pads"], node.attrs["groups"])
        x = want_all[node.inputs[0]].astype(np.float64)
        want = f32.conv2d_nhwc(x, w, b, *args)
        xin = s_x * (got_all[qn.inputs[0]].astype(np.float64) - zx) if mode == "empirical" else x
        got = f32.conv2d_nhwc(xin, wq * s_w.reshape(-1, 1, 1, 1), bq * s_x * s_w, *args)
        err = (got - want).reshape(-1, want.shape[-1]).mean(axis=0)
        out.append((np.abs(err), 0.5 * s_x * s_w))
    return out


@pytest.mark.parametrize("mode", ["weights", "empirical"])
def test_bias_correction_moves_the_mean_error_to_zero(rng, mode):
    graph = small_convs(rng)
    cal = calibration(rng)
    plain = mean_errors(graph, quantize(graph, cal), cal, mode)
    qg = quantize(graph, cal, bias_correction=mode)
    assert qg.metadata["cnnc.bias_correction"] == mode
    fixed = mean_errors(graph, qg, cal, mode)
    assert len(fixed) == CONVS
    for i, ((before, _), (after, half_step)) in enumerate(zip(plain, fixed, strict=True)):
        # what is left is the bias's own rounding (float64 sums: a relative 1e-9 slack)
        assert (after <= half_step * (1 + 1e-9)).all(), (mode, i, after / half_step)
        # and the correction did something: off or of the wrong sign, this fails
        assert before.sum() > 3 * after.sum(), (mode, i, before, after)


def test_bias_correction_keeps_integer_results_bit_exact_in_the_reference_contract(rng):
    """Only the int32 bias integers change: same ops, weights, multipliers and zero points."""
    graph = small_convs(rng)
    cal = calibration(rng)
    a, b = quantize(graph, cal), quantize(graph, cal, bias_correction="empirical")
    assert [n.op for n in a.nodes] == [n.op for n in b.nodes]
    changed = []
    for name, t in a.tensors.items():
        if t.is_const and t.data is not None:
            same = np.array_equal(t.data, b.tensors[name].data)
            assert same or name.endswith(".bias_q"), name
            changed += [] if same else [name]
    assert changed, "the correction changed no bias"


def test_corrected_bias_is_clipped_to_the_accumulator_bound_with_a_warning():
    wq = np.array([[127, -127, 5], [127] * 3, [1, 2, 3]], np.int8)
    xmax = 128  # zero point 0
    room = INT32_MAX - xmax * np.abs(wq.astype(np.int64)).sum(axis=1)
    bias = np.array([10, room[1] - 5, 0], np.int32)
    corrected = np.array([-20, room[1] + 100, 7], np.int64)
    with pytest.warns(BiasCorrectionWarning, match=r"layer 'l'.*1 output channel.*channel 1"):
        got = fit_accumulator("l", wq, bias, corrected, 0)
    assert got.tolist() == [-20, int(room[1]), 7]
    assert check_accumulator("l", wq, got, 0) == INT32_MAX
    # below the bound the corrected bias passes unchanged, with no warning
    with np.testing.assert_no_warnings():
        assert fit_accumulator("l", wq, bias, corrected[[0, 0, 2]], 0).tolist() == [-20, -20, 7]
    # a bias that broke the bound before the correction is kept for check_accumulator to refuse
    bad = np.array([0, INT32_MAX, 0], np.int32)
    kept = fit_accumulator("l", wq, bad, np.array([0, INT32_MAX - 9, 0]), 0)
    with pytest.raises(CnncError, match="layer 'l'.*channel 1"):
        check_accumulator("l", wq, kept, 0)


def test_bias_correction_option_reaches_the_quantiser_and_bad_names_are_refused(rng):
    graph = small_convs(rng)
    cal = calibration(rng, 4)
    g = api.apply_precision(graph, "int8", cal, {"bias_correction": "weights"})
    assert g.metadata["cnnc.bias_correction"] == "weights"
    with pytest.raises(CnncError, match="unknown bias correction 'mean'"):
        quantize(graph, cal, bias_correction="mean")
    graph.metadata["cnnc.prequant"] = "qdq"  # a pre-quantised model keeps its own biases
    with pytest.raises(CnncError, match="--bias-correction applies to calibrated"):
        api.apply_precision(graph, "int8", None, {"bias_correction": "empirical"})
    from cnnc import cli

    args = cli.build_parser().parse_args(
        ["compile", "m.onnx", "-o", "out", "--bias-correction", "empirical"]
    )
    assert args.bias_correction == "empirical"
