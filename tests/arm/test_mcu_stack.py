"""The worst-case stack of a Cortex-M build (cnnc.host.mcu_stack): the deepest path of
static frames from the model's entry points, an indirect call standing for every kernel
model.c names, a kernel calling itself back counted once more; and the stack one run takes,
measured on the emulated board, within that bound."""

import pytest
from cnnc import api
from cnnc.host import mcu_stack

from .conftest import make_tiny_folder, require_target

pytestmark = pytest.mark.arm

# GCC's -fcallgraph-info=su format: frames per node, calls per edge.
GRAPH = r"""graph: { title: "model.c"
node: { title: "cnnc_model_run" label: "cnnc_model_run\nmodel.c:1:1\n40 bytes (static)" }
node: { title: "__indirect_call" label: "Indirect Call Placeholder" shape : ellipse }
edge: { sourcename: "cnnc_model_run" targetname: "__indirect_call" label: "model.c:2:2" }
edge: { sourcename: "cnnc_model_run" targetname: "memcpy" label: "model.c:3:3" }
node: { title: "cnnc_s8_add__ref" label: "cnnc_s8_add__ref\nk.c:1:1\n300 bytes (static)" }
node: { title: "cnnc_s8_dwconv__dsp" label: "cnnc_s8_dwconv__dsp\nk.c:2:1\n16 bytes (static)" }
node: { title: "k.c:bands" label: "bands\nk.c:3:1\n100 bytes (static)" }
node: { title: "k.c:image" label: "image\nk.c:4:1\n200 bytes (dynamic,bounded)" }
edge: { sourcename: "cnnc_s8_dwconv__dsp" targetname: "k.c:bands" label: "k.c:5:5" }
edge: { sourcename: "k.c:bands" targetname: "k.c:image" label: "k.c:6:6" }
edge: { sourcename: "k.c:image" targetname: "k.c:bands" label: "k.c:7:7" }
node: { title: "cnnc_s8_conv__dsp" label: "cnnc_s8_conv__dsp\nk.c:8:1\n9000 bytes (static)" }
}
"""


def test_deepest_path_follows_indirect_calls_and_counts_a_cycle_once_more():
    frames, calls, dynamic = {}, {}, set()
    mcu_stack.parse_callgraph(GRAPH, frames, calls, dynamic)
    assert frames["cnnc_model_run"] == 40 and frames["k.c:image"] == 200
    assert dynamic == {"k.c:image"}
    # conv is not named by the model: the indirect call cannot reach its 9000 bytes
    size, path = mcu_stack.deepest(frames, calls, ["cnnc_s8_add__ref", "cnnc_s8_dwconv__dsp"])
    # run 40 + dwconv 16 + bands 100 + image 200 + (bands 100 + image 200 again)
    assert size == 40 + 16 + 100 + 200 + 300, path
    assert path[:2] == ["cnnc_model_run", "cnnc_s8_dwconv__dsp"]
    size, path = mcu_stack.deepest(frames, calls, ["cnnc_s8_add__ref"])
    assert (size, path) == (340, ["cnnc_model_run", "cnnc_s8_add__ref"])


def test_stack_of_a_real_build_sees_a_large_frame(tmp_path):
    """The tiny model's folder for cortex-m4, then the same with a 3000-byte local array in
    cnnc_model_run: the worst case starts at an entry point and grows by the array."""
    require_target("cortex-m4", run=False)
    folder = make_tiny_folder(tmp_path / "tiny", weights=False, target="cortex-m4")
    before = mcu_stack.stack_usage(folder, "cortex-m4")
    assert before.path[0] in mcu_stack.ENTRY_POINTS and 0 < before.bytes < 3000
    source = (folder / "model.c").read_text()
    marker = "    memcpy(output, run_prefix(ctx, input, (float *)arena, 2), 3 * sizeof(float));"
    assert marker in source
    big = "    volatile char big[3000];\n    big[0] = 1;\n    output[0] = big[0];\n"
    (folder / "model.c").write_text(source.replace(marker, big + marker))
    after = mcu_stack.stack_usage(folder, "cortex-m4")
    assert after.path[0] == "cnnc_model_run"
    assert after.bytes >= 3000 + 8, after


@pytest.mark.parametrize("memory", ["fast", "min"])
def test_measured_stack_stays_within_the_static_bound(trained_models, tmp_path, memory):
    """The trained MobileNetV2 on the emulated M4, both schedules: the stack one inference
    took (runner.c's probe paints below main's frame and finds the deepest word changed)
    is at least the DSP kernels' KB-sized buffers and at most the static worst case, which
    does not see the registers an inline asm statement pushes inside itself: a kernel path
    deeper than its slack shows here. A probe that found nothing, or read the paint as used,
    fails one bound or the other."""
    require_target("cortex-m4")
    t = trained_models("mobilenetv2")
    m = api.compile(t.model, tmp_path / memory, "int8", t.calibration, embed_weights=True,
                    target="cortex-m4", memory=memory)  # fmt: skip
    bound = mcu_stack.stack_usage(m.out_dir, "cortex-m4")
    used = mcu_stack.measured_stack(m.out_dir, "cortex-m4", t.x[:1])
    assert 2048 < used <= bound.bytes, (used, bound)
