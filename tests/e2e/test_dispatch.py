"""Run-time kernel dispatch on the host: one default build of each model runs under every
CNNC_ISA tier this CPU has (ref, avx2, avx512, and no cap: the CPU's own best), each a
fresh cnnc_model_init (select_kernels reads the CPU and CNNC_ISA there).

  * int8 (a small MobileNetV2: stem, pointwise, depthwise, dense, add, pooling): output and
    every layer's bytes identical across tiers and to the NumPy reference; binary (an
    XNOR-Net, int8 first and last layers, float32 classifier): every binary/int8 layer's
    bytes identical to NumPy, the output identical across tiers;
  * float32, default exact mode: bit-identical across tiers (and within 1e-4 of the NumPy
    reference's range); built with float_mode="fast": within 1e-4 of the exact output's range;
  * cnnc_model_kernels names the tier asked for ("ref" under CNNC_ISA=ref);
  * the generated select_kernels lists, for each dispatched kernel, exactly the rows
    cnnc.ops.variants gives it in the build's float mode (so a table change shows there).

A tier this CPU lacks skips, naming the missing /proc/cpuinfo flags."""

import re

import cnnc
import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc.api import pack_inputs
from cnnc.host import harness
from cnnc.host.kernels import cpu_flags
from cnnc.models import export, zoo
from cnnc.ops import variants

# CNNC_ISA tiers (cnnc_cpu.h names), worst to best, with the flags the CPU needs for them
TIERS = {
    "ref": (),
    "avx2": variants.FLAGS_AVX2,
    "avxvnni": (*variants.FLAGS_AVX2, "avx_vnni"),
    "avx512": variants.FLAGS_AVX512,
    "avx512vnni": (*variants.FLAGS_AVX512, "avx512_vnni"),
}
TESTED = ["ref", "avx2", "avx512", "native"]


def missing(tier: str) -> list[str]:
    return [f for f in TIERS[tier] if f not in cpu_flags()]


def native_tier() -> str:
    """The tier an uncapped init should pick here: the best one whose flags the CPU has."""
    return [t for t in TIERS if not missing(t)][-1]


def open_under(out_dir, tier: str, monkeypatch) -> harness.HostModel:
    """A fresh init of the model with CNNC_ISA=tier ("native": unset); checks the tier it
    reports."""
    if tier != "native" and missing(tier):
        pytest.skip(f"this CPU lacks {', '.join(missing(tier))} (needed by the {tier} tier)")
    if tier == "native":
        monkeypatch.delenv("CNNC_ISA", raising=False)
    else:
        monkeypatch.setenv("CNNC_ISA", tier)
    model = harness.open_model(out_dir)
    got = model.ffi.string(model.lib.cnnc_model_kernels(model.ctx)).decode()
    want = native_tier() if tier == "native" else tier
    assert got == want, f"CNNC_ISA={tier}: cnnc_model_kernels says {got!r}, expected {want!r}"
    return model


def run_under(cm, tier: str, x, monkeypatch) -> np.ndarray:
    model = open_under(cm.out_dir, tier, monkeypatch)
    ys = harness.run(model, pack_inputs(cm.graph, x))
    return ys.reshape(len(ys), *cm.reference(x[:1]).shape[1:])


def select_kernels(out_dir) -> dict[str, list[str]]:
    """kernel -> the variant names select_kernels in model.c may put in its slot."""
    text = (out_dir / "model.c").read_text()
    body = re.search(r"static void select_kernels\(.*?\n}\n", text, re.S).group(0)
    found: dict[str, list[str]] = {}
    kernel = None
    for line in body.splitlines():
        m = re.search(r"ctx->kernels\[\d+\] = \(cnnc_kernel_fn\)(\w+);", line)
        if m and m.group(1).endswith("__ref"):
            kernel = m.group(1)
            found[kernel] = []
        elif m:
            found[kernel].append(m.group(1))
    return found


def check_selection(cm, float_mode: str, must: set[str]) -> None:
    found = select_kernels(cm.out_dir)
    assert must <= set(found), f"select_kernels dispatches {sorted(found)}, not all of {must}"
    for kernel, names in found.items():
        want = [v.name for v in variants.variants_of(kernel, float_mode)]
        assert names == want, f"select_kernels for {kernel}: {names}, the table says {want}"


@pytest.fixture(scope="module")
def inputs():
    return np.random.default_rng(1).standard_normal((12, 1, 16, 16)).astype(np.float32)


@pytest.fixture(scope="module")
def mobilenet():
    net = zoo.MODELS["mobilenetv2"](16, 10, 0.35, np.random.default_rng(0))
    return export.to_onnx(net, (16, 16, 1))


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory, mobilenet, inputs):
    out = tmp_path_factory.mktemp("dispatch") / "int8"
    return cnnc.compile(mobilenet, out, precision="int8", calibration=inputs[:8])


@pytest.fixture(scope="module")
def binary_model(tmp_path_factory):
    net = zoo.MODELS["xnornet"](16, 10, 0.5, np.random.default_rng(2))
    out = tmp_path_factory.mktemp("dispatch") / "binary"
    return cnnc.compile(export.to_onnx(net, (16, 16, 1)), out, precision="binary")


@pytest.fixture(scope="module")
def float_models(tmp_path_factory, mobilenet):
    root = tmp_path_factory.mktemp("dispatch")
    return {
        mode: cnnc.compile(mobilenet, root / mode, float_mode=mode) for mode in ("exact", "fast")
    }


def test_select_kernels_follows_the_table(int8_model, binary_model, float_models):
    int8_must = {f"cnnc_s8_{k}__ref" for k in ("conv", "pwconv", "dwconv", "dense")}
    check_selection(int8_model, "exact", int8_must)
    assert "cnnc_s8_pwconv__avx2" in select_kernels(int8_model.out_dir)["cnnc_s8_pwconv__ref"]
    check_selection(binary_model, "exact", {"cnnc_b1_conv_bits__ref"})
    check_selection(float_models["exact"], "exact", {"cnnc_f32_pwconv__ref"})
    check_selection(float_models["fast"], "fast", {"cnnc_f32_pwconv__ref"})
    fast = select_kernels(float_models["fast"].out_dir)["cnnc_f32_pwconv__ref"]
    assert "cnnc_f32_pwconv_fast__avx2" in fast, fast


def check_layers(cm, tier: str, x, float_layers: bool) -> None:
    """Every layer's raw output bytes from the C (CNNC_ISA as open_under left it) equal the
    NumPy reference's, so no difference can hide behind a later clamp; float32 layers (a
    binary model's float tail) only when ``float_layers``."""
    model = harness.open_model(cm.out_dir)
    values = cm.reference_all(x[:2])
    packed = pack_inputs(cm.graph, x[:2])
    checked = 0
    for n, node in enumerate(cm.graph.nodes, start=1):
        value = values[node.outputs[0]]
        if value.dtype == np.float32 and not float_layers:
            continue
        ref = [np.ascontiguousarray(value[s]).tobytes() for s in (0, 1)]
        assert harness.run_layers(model, packed, n) == ref, f"{tier}: layer {n} ({node.name})"
        checked += 1
    assert checked >= 3, f"only {checked} layers compared"


@pytest.mark.parametrize("tier", TESTED)
def test_int8_bit_exact_under_each_tier(int8_model, inputs, tier, monkeypatch):
    want = int8_model.reference(inputs)
    assert len(np.unique(want.argmax(axis=1))) > 1, "degenerate model: one class everywhere"
    assert_bit_exact(want, run_under(int8_model, tier, inputs, monkeypatch), f"int8 {tier}")
    check_layers(int8_model, tier, inputs, float_layers=True)


@pytest.mark.parametrize("tier", TESTED)
def test_binary_bit_exact_under_each_tier(binary_model, inputs, tier, monkeypatch):
    """Its binary and int8 layers bit-exact to NumPy; the output (through the float32
    classifier, exact float mode) identical to the ref tier's."""
    y_ref = run_under(binary_model, "ref", inputs, monkeypatch)
    y = run_under(binary_model, tier, inputs, monkeypatch)
    assert_bit_exact(y_ref, y, f"binary {tier} vs ref tier")
    check_layers(binary_model, tier, inputs, float_layers=False)
    want = binary_model.reference(inputs)
    tol = 1e-4 * float(np.ptp(want))
    assert np.abs(y.astype(np.float64) - want).max() <= tol, f"binary {tier} vs NumPy"


def test_float32_exact_identical_across_tiers(float_models, inputs, monkeypatch):
    cm = float_models["exact"]
    outs = {}
    for tier in TESTED:
        if tier == "native" or not missing(tier):
            outs[tier] = run_under(cm, tier, inputs, monkeypatch)
    assert len(outs) >= 2, f"only {list(outs)} ran: nothing to compare"
    for tier, y in outs.items():
        assert_bit_exact(outs["ref"], y, f"float32 exact {tier} vs ref tier")
    want = cm.reference(inputs)
    tol = 1e-4 * float(np.ptp(want))
    err = np.abs(outs["ref"].astype(np.float64) - want)
    assert err.max() <= tol, f"float32 C vs NumPy: {err.max():.3g} > {tol:.3g}"


@pytest.mark.parametrize("tier", TESTED)
def test_float32_fast_within_tolerance(float_models, inputs, tier, monkeypatch):
    exact = run_under(float_models["exact"], "ref", inputs, monkeypatch)
    got = run_under(float_models["fast"], tier, inputs, monkeypatch)
    tol = 1e-4 * float(np.ptp(exact))
    err = np.abs(got.astype(np.float64) - exact)
    i = np.unravel_index(int(np.argmax(err)), err.shape)
    assert err.max() <= tol, (
        f"fast {tier}: worst at {i}: expected {exact[i]!r}, got {got[i]!r} (tol {tol:.3g})"
    )
