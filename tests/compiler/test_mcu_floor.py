"""The arithmetic floor of int8 layers on a Cortex-M DSP core (cnnc.host.mcu_floor), against
counts worked out by hand: products at two MACs an instruction over the taps inside the
image, one widening instruction per two input elements, 4 or 5 requantisation instructions
an output."""

from cnnc.host import mcu_floor
from cnnc.ir import Graph, Node, Tensor


def graph_of(op, x, w, y, **attrs):
    tensors = {n: Tensor(n, s, "int8") for n, s in (("x", x), ("w", w), ("y", y))}
    node = Node(op, "layer", ["x", "w"], ["y"], attrs)
    cast = Node("s8_dequantize", "cast", ["y"], ["z"])
    tensors["z"] = Tensor("z", y)
    return Graph(tensors, [node, cast], ["x"], ["z"], layout="NHWC"), node


def floor_of(op, x, w, y, **attrs):
    graph, node = graph_of(op, x, w, y, **attrs)
    return mcu_floor.layer_floor(node, graph)


def test_pointwise_counts_every_input_channel_per_output():
    # 2x3 image, K = 5 -> 4 outputs: 24 outputs of ceil(5 / 2) = 3 products; 30 inputs
    f = floor_of("s8_conv2d", (1, 2, 3, 5), (4, 1, 1, 5), (1, 2, 3, 4), rounding="single")
    assert (f.products, f.widening, f.requant) == (72, 15, 96)
    assert f.total == 183


def test_depthwise_skips_padding_taps_and_prices_the_sign_correction():
    # 3x3 image, 3x3 kernel, pad 1, stride 1: taps inside per axis 2, 3, 2, so per channel
    # the windows hold 4 6 4 / 6 9 6 / 4 6 4 taps -> 2+3+2+3+5+3+2+3+2 = 25 products
    args = ("s8_conv2d", (1, 3, 3, 2), (2, 3, 3, 1), (1, 3, 3, 2))
    common = dict(strides=[1, 1], pads=[1, 1, 1, 1], groups=2, rounding="double", act_min=-128)
    f = floor_of(*args, y_zero_point=-5, **common)  # a negative value can clamp above -128
    assert (f.products, f.widening, f.requant) == (50, 9, 5 * 18)
    f = floor_of(*args, y_zero_point=-128, **common)  # act_min >= zp: the clamp absorbs it
    assert f.requant == 4 * 18


def test_strided_conv_with_padding_and_input_channels():
    # 4x4 image, 3x3 kernel, stride 2, pad 1, 3 input channels: taps inside per axis 2, 3;
    # windows 4, 6, 6, 9 taps x 3 channels = 12, 18, 18, 27 -> 6 + 9 + 9 + 14 = 38 per
    # output channel, 2 of them; 48 inputs
    f = floor_of("s8_conv2d", (1, 4, 4, 3), (2, 3, 3, 3), (1, 2, 2, 2),
                 strides=[2, 2], pads=[1, 1, 1, 1], groups=1, rounding="single")  # fmt: skip
    assert (f.products, f.widening, f.requant) == (76, 24, 4 * 8)


def test_dense_and_other_ops():
    f = floor_of("s8_dense", (2, 7), (3, 7), (2, 3), rounding="double", act_min=-128,
                 y_zero_point=0)  # fmt: skip
    assert (f.products, f.widening, f.requant) == (2 * 3 * 4, 7, 5 * 6)
    graph, node = graph_of("s8_conv2d", (1, 2, 2, 4), (4, 1, 1, 4), (1, 2, 2, 4), groups=1)
    assert mcu_floor.is_pointwise(node, graph)
    assert list(mcu_floor.model_floor(graph)) == [0]  # the cast has no floor
    assert mcu_floor.layer_floor(graph.nodes[1], graph) is None
    graph, node = graph_of("s8_conv2d", (1, 2, 2, 4), (4, 1, 1, 1), (1, 2, 2, 4), groups=4)
    assert not mcu_floor.is_pointwise(node, graph)


def test_register_loads_one_per_output_where_k_is_at_most_16():
    # 2x3 image, K = 16 -> 4: 24 outputs, each a load; K = 17 and depthwise: none
    graph, node = graph_of("s8_conv2d", (1, 2, 3, 16), (4, 1, 1, 16), (1, 2, 3, 4), groups=1)
    assert mcu_floor.register_loads(node, graph) == 24
    graph, node = graph_of("s8_conv2d", (1, 2, 3, 17), (4, 1, 1, 17), (1, 2, 3, 4), groups=1)
    assert mcu_floor.register_loads(node, graph) == 0
    graph, node = graph_of("s8_conv2d", (1, 2, 3, 4), (4, 3, 3, 1), (1, 2, 3, 4), groups=4,
                           pads=[1, 1, 1, 1])  # fmt: skip
    assert mcu_floor.register_loads(node, graph) == 0
    # dense: K is the row's size (2 rows of 8 -> 3 outputs each), not its last axis alone
    graph, node = graph_of("s8_dense", (2, 8), (3, 8), (2, 3))
    assert mcu_floor.register_loads(node, graph) == 6
    graph, node = graph_of("s8_dense", (2, 4, 5), (3, 20), (2, 3))
    assert mcu_floor.register_loads(node, graph) == 0
