"""What one op is, for every stage: ``OpDef`` (reference, emitter, report counters) and the
``KernelCall`` an emitter returns; ``table`` and ``merge`` build op tables that refuse a
name twice. The merged table of all precisions is ``cnnc.ops.registry.OPS``; how to add
an op is ``docs/adding_an_op.md``.

This module imports nothing from cnnc but the IR, so every precision module (``f32``,
``s8``, ``b1``) can build its table from it without an import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ir
from ..errors import CnncError

Reference = Callable[[ir.Node, ir.Graph, list[np.ndarray]], list[np.ndarray]]
Counter = Callable[[ir.Node, ir.Graph], int]


@dataclass
class KernelCall:
    """One call of a runtime kernel: ``fn(&params, *args)`` (``fn(*args)`` without params)."""

    fn: str  # e.g. "cnnc_f32_conv__ref", or "memcpy"
    args: list[str]  # C expressions, usually from Emit.ptr
    params_type: str | None = None  # e.g. "cnnc_f32_conv_params"
    params: dict[str, Any] = field(default_factory=dict)  # field -> int/float/str/list/dict


# emit(node, em) -> calls; ``em`` is cnnc.backend.codegen.Emit (shapes, C pointers, packed
# weight sections), passed in so that no op module imports the code generator.
Emitter = Callable[[ir.Node, Any], list[KernelCall]]


@dataclass(frozen=True)
class OpDef:
    """Everything cnnc knows about one lowered op, in the module of its precision.

    name       the IR op name (``conv2d``, ``s8_conv2d``, ``b1_conv2d``)
    doc        inputs, outputs and attributes (the op's contract, shown in errors and docs)
    reference  ``fn(node, graph, inputs) -> outputs``: the executable definition, on a batch
    emit       ``fn(node, em) -> [KernelCall]``: which C kernel runs it, with which params
    macs       multiply-accumulates (report), None for data movement
    bops       binary operations (report, b1 ops)
    float32_weight_bytes  what the op's weights would take as float32 (report, b1 ops)
    """

    name: str
    doc: str
    reference: Reference
    emit: Emitter
    macs: Counter | None = None
    bops: Counter | None = None
    float32_weight_bytes: Counter | None = None


def table(*defs: OpDef) -> dict[str, OpDef]:
    """A precision's op table: name -> OpDef; a name given twice is an error."""
    return merge(*({d.name: d} for d in defs))


def merge(*tables: dict[str, OpDef]) -> dict[str, OpDef]:
    """``{**a, **b, ...}`` that refuses to let one table silently override another."""
    merged: dict[str, OpDef] = {}
    for t in tables:
        for name, opdef in t.items():
            if name in merged:
                raise CnncError(f"op '{name}' is defined twice in the op registry")
            merged[name] = opdef
    return merged
