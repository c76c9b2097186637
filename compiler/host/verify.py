"""Does the C compute what the NumPy reference computes? Whole model and layer by layer.

The contract (DESIGN.md): float32 outputs agree within a relative error of 1e-4
of the reference output's range; int8 and binary results are bit-exact. A result
is held to the exact rule when it is produced by an ``s8_*`` or ``b1_*`` op (the
final dequantise of an int8 model included: it is integer-exact), or when its
dtype is not float32.

An int8 build compiled with --allow-float-ops keeps float32 nodes between int8 layers
(metadata ``cnnc.float_ops``): the C and the reference then agree to float32 rounding
inside those nodes, and a value on an int8 rounding boundary may land one step apart.
Such a build is never called bit-exact: every int8 tensor and the dequantised output
are held to ``FLOAT_OPS_STEPS`` quantisation steps of their scale instead
(``float_ops_tolerance``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ir

FLOAT_RTOL = 1e-4
FLOAT_OPS_STEPS = 2  # int8 steps allowed in builds with float ops (see the module doc)
PASS_THROUGH_OPS = {"reshape", "transpose"}  # move bytes only: exactness comes from upstream
C_DTYPES = {"float32": "<f4", "int8": "i1", "uint8": "u1", "int32": "<i4", "uint32": "<u4",
            "b1": "<u4"}  # fmt: skip


@dataclass
class Comparison:
    ok: bool
    exact: bool
    max_abs: float  # largest |C - reference|
    rel: float  # max_abs / range of the reference (float rule); 0 or 1 for the exact rule
    index: tuple[int, ...]  # where the largest difference is
    expected: float
    actual: float
    mismatches: int
    atol: float | None = None  # set: the tolerance rule of a build with float ops

    def describe(self) -> str:
        rule = "bit-exact" if self.exact else f"rel. error <= {FLOAT_RTOL:g} of the output range"
        if self.atol is not None:
            rule = (f"tolerance |C - ref| <= {self.atol:.3g} = {FLOAT_OPS_STEPS} int8 steps, "
                    "as the build keeps float ops")  # fmt: skip
        if self.ok:
            return f"matches ({rule}): max |C - ref| = {self.max_abs:.3g} (rel. {self.rel:.3g})"
        return (
            f"DIFFERS ({rule}): {self.mismatches} value(s) differ, max |C - ref| = "
            f"{self.max_abs:.3g} (rel. {self.rel:.3g}) at index {list(self.index)}: "
            f"expected {self.expected!r}, C gave {self.actual!r}"
        )


def is_exact(graph: ir.Graph, tensor: str) -> bool:
    t = graph.tensors[tensor]
    if t.dtype != "float32":
        return True
    node = graph.producer(tensor)
    while node is not None and node.op in PASS_THROUGH_OPS:
        node = graph.producer(node.inputs[0])
    return node is not None and node.op.startswith(("s8_", "b1_"))


def float_ops(graph: ir.Graph) -> list[str]:
    """The nodes an int8 build kept in float32 (--allow-float-ops), from its metadata."""
    return [n for n in graph.metadata.get("cnnc.float_ops", "").split(",") if n]


def float_ops_tolerance(graph: ir.Graph, tensor: str) -> float | None:
    """None for a build without float ops; else the absolute tolerance of ``tensor``:
    FLOAT_OPS_STEPS steps of its int8 scale (of the int8 tensor a dequantise reads), or the
    float32 rule's relative bound where no int8 scale applies (0 here means: that rule)."""
    if not float_ops(graph):
        return None
    t = graph.tensors[tensor]
    node = graph.producer(tensor)
    while t.quant is None and node is not None and node.op in (*PASS_THROUGH_OPS, "s8_dequantize"):
        t = graph.tensors[node.inputs[0]]
        node = graph.producer(node.inputs[0])
    if t.quant is None:
        return 0.0
    return FLOAT_OPS_STEPS * float(np.max(t.quant.scale))


def compare(
    actual: np.ndarray, expected: np.ndarray, exact: bool, atol: float | None = None
) -> Comparison:
    a = np.asarray(actual).astype(np.float64).reshape(np.shape(expected))
    e = np.asarray(expected).astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf: equal infinities are set to 0 below
        diff = np.abs(a - e)
    diff[np.isnan(a) != np.isnan(e)] = np.inf
    diff[(np.isnan(a) & np.isnan(e)) | (a == e)] = 0.0  # NaN where NaN, the same infinity
    index = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    max_abs = float(diff[index]) if diff.size else 0.0
    if atol is not None:
        exact = False
    if atol:
        bad = diff > atol * (1 + 1e-6)
        rel = max_abs / atol
    elif exact:
        bad = (np.asarray(actual).reshape(e.shape) != np.asarray(expected)) & ~(
            np.isnan(a) & np.isnan(e)
        )
        rel = float(bad.any())
    else:
        finite = e[np.isfinite(e)]
        span = float(finite.max() - finite.min()) if finite.size else 0.0
        span = span if span > 0 else max(float(np.abs(finite).max(initial=0.0)), 1.0)
        bad = diff > FLOAT_RTOL * span
        rel = max_abs / span
    return Comparison(
        ok=not bool(bad.any()),
        exact=exact,
        max_abs=max_abs,
        rel=rel,
        index=tuple(int(i) for i in index),
        expected=float(e[index]) if diff.size else 0.0,
        actual=float(a[index]) if diff.size else 0.0,
        mismatches=int(bad.sum()),
        atol=atol or None,
    )


def reference_bytes(value: np.ndarray, dtype: str) -> bytes:
    """A reference tensor (one sample) in the byte layout the C arena holds."""
    return np.ascontiguousarray(np.asarray(value).astype(C_DTYPES[dtype])).tobytes()


def from_c_bytes(raw: bytes, dtype: str, like: np.ndarray) -> np.ndarray:
    """C bytes of one sample's tensor -> array shaped like the reference value."""
    values = np.frombuffer(raw, dtype=C_DTYPES[dtype])
    if values.size != np.size(like):
        raise ValueError(f"C wrote {values.size} values, the reference has {np.size(like)}")
    return values.reshape(np.shape(like))
