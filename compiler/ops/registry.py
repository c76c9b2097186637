"""The one op registry: every lowered op of every precision, merged explicitly.

Each precision module is a plain table of ``OpDef`` (see ``cnnc.ops.opdef``): ``f32``
(float32, NHWC), ``s8`` (int8, TFLite scheme) and ``b1`` (XNOR-Net binary). The reference
executor, the code generator and the report read ``OPS``; nothing registers itself by
being imported. Adding an op: ``docs/adding_an_op.md``.
"""

from __future__ import annotations

from . import b1, f32, fused, s8
from .opdef import KernelCall, OpDef, merge

__all__ = ["OPS", "KernelCall", "OpDef", "lowered_op"]

OPS: dict[str, OpDef] = merge(f32.OPS, s8.OPS, b1.OPS, fused.OPS)


def lowered_op(name: str) -> OpDef | None:
    return OPS.get(name)
