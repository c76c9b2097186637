"""Worst-case stack of a microcontroller build, from GCC's call-graph information.

The model and its runtime are compiled for the target (cnnc.host.mcu.compile_objects, the
objects the size and firmware come from) with ``-fcallgraph-info=su``: per
function its static frame in bytes, per call site an edge. The worst case is the deepest
path from the model's entry points (``cnnc_model_init``, ``cnnc_model_run`` and the
others of model.h) summed over frames. Two things the graph cannot say are filled in:
- the layer kernels are called through the pointers ``select_kernels`` chose, which the
  graph shows as an indirect call: it stands for every kernel model.c names (a global
  function ``cnnc_<family>_<op>__<isa>``), so the worst one counts;
- a call back into a function already on the path (recursion, which the runtime avoids:
  the depthwise bands call the kernel's body, not its entry) counts the cycle's frames
  once more and stops there, an assumption of one level the result states by its path.
Library calls (memcpy, memset, the compiler's division helpers) have no frame in the
graph and count 0; a frame GCC marks dynamic (a variable-length array) is reported, not
guessed.
Nor does the graph see registers an inline asm statement pushes inside itself (some DSP
kernels save up to 128 bytes so): ``measured_stack`` measures one inference's stack on the
emulated board, a check of the bound from below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ToolchainError
from .cross import build_program, model_sources, run_board, runner_args
from .mcu import CALLGRAPH_FLAGS, compile_objects
from .targets import check_toolchain

ENTRY_POINTS = (
    "cnnc_model_init",
    "cnnc_model_check_blob",
    "cnnc_model_run",
    "cnnc_model_run_s8",
    "cnnc_model_run_layers",
    "cnnc_model_run_layers_s8",
)
KERNEL = re.compile(r"^cnnc_(s8|b1|f32)_\w+__\w+$")
_NODE = re.compile(
    r'node: \{ title: "([^"]+)" label: "[^"]*?\\n[^"]*?(?:\\n(\d+) bytes \(([^)]*)\))?"'
)
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


@dataclass
class StackReport:
    bytes: int  # the deepest path's frames
    path: list[str]  # its functions, entry point first
    dynamic: list[str] = field(default_factory=list)  # functions with a dynamic frame


def parse_callgraph(text: str, frames: dict[str, int], calls: dict[str, set[str]],
                    dynamic: set[str]) -> None:  # fmt: skip
    """Adds one .ci file's nodes (frame sizes) and edges (calls) to the maps."""
    for name, size, kind in _NODE.findall(text):
        if size:
            frames[name] = max(frames.get(name, 0), int(size))
            if "dynamic" in kind:
                dynamic.add(name)
    for src, dst in _EDGE.findall(text):
        calls.setdefault(src, set()).add(dst)


def deepest(frames: dict[str, int], calls: dict[str, set[str]],
            kernels: list[str]) -> tuple[int, list[str]]:  # fmt: skip
    """The deepest path from the entry points, an indirect call standing for any of
    ``kernels`` (see the module docstring)."""

    def visit(f: str, on_path: tuple[str, ...]) -> tuple[int, list[str]]:
        if f in on_path:  # recursion: the cycle's frames once more, no deeper
            i = on_path.index(f)
            loop = list(on_path[i:])
            return sum(frames.get(g, 0) for g in loop), loop
        best, best_path = 0, []
        for g in sorted(calls.get(f, ())):
            for h in kernels if g == "__indirect_call" else [g]:
                size, path = visit(h, (*on_path, f))
                if size > best:
                    best, best_path = size, path
        return frames.get(f, 0) + best, [f, *best_path]

    found = [visit(e, ()) for e in ENTRY_POINTS if e in frames]
    if not found:
        raise ToolchainError("stack: none of the entry points " + ", ".join(ENTRY_POINTS)
                             + " is in the call graph")  # fmt: skip
    return max(found, key=lambda r: r[0])


def stack_usage(out_dir: str | Path, target_name: str = "cortex-m4",
                extra_flags: tuple[str, ...] = ()) -> StackReport:  # fmt: skip
    """The worst-case stack of an inference or of init of the folder's model built for the
    target (module docstring), from the call graph its objects were compiled with."""
    frames: dict[str, int] = {}
    calls: dict[str, set[str]] = {}
    dynamic: set[str] = set()
    for obj in compile_objects(out_dir, target_name, extra_flags):
        graph = obj.with_suffix(".ci")
        if not graph.is_file():
            raise ToolchainError(f"stack: {graph.name} missing (the object was built without "
                                 f"{' '.join(CALLGRAPH_FLAGS)})")  # fmt: skip
        parse_callgraph(graph.read_text(), frames, calls, dynamic)
    sources, _ = model_sources(out_dir)
    named = set(re.findall(r"\bcnnc_\w+__\w+\b", sources[0].read_text()))  # model.c
    kernels = sorted(f for f in frames if KERNEL.match(f) and f in named)
    size, path = deepest(frames, calls, kernels)
    return StackReport(size, [p.rsplit(":", 1)[-1] for p in path], sorted(dynamic))


PROBE_BYTES = 32768  # the stack runner.c paints below main's frame: more than any model takes
_PROBE = re.compile(r"runner: stack (\d+) bytes")


def measured_stack(out_dir: str | Path, target_name: str, x: np.ndarray,
                   extra_flags: tuple[str, ...] = ()) -> int:  # fmt: skip
    """Bytes of stack one inference of sample ``x`` took on the target's emulated board:
    the runner built with -DCNNC_STACK_PROBE paints the stack below main's frame before
    cnnc_model_run and finds the deepest word it changed (runner.c)."""
    target = check_toolchain(target_name, run=True)
    if not target.board:
        raise ToolchainError(f"target {target_name}: no emulated board to measure the stack on")
    flags = (*extra_flags, f"-DCNNC_STACK_PROBE={PROBE_BYTES}")
    binary = build_program(out_dir, target_name, extra_flags=flags)
    sample = np.ascontiguousarray(x, dtype="<f4").tobytes()
    status, _, messages = run_board(binary, target, runner_args(out_dir, []), sample)
    found = _PROBE.findall(messages)
    if status != 0 or not found:
        raise ToolchainError(f"{out_dir} on {target_name}: stack probe failed "
                             f"(exit status {status}): {messages.strip()}")  # fmt: skip
    depth = int(found[-1])
    if depth >= PROBE_BYTES:
        raise ToolchainError(f"{out_dir}: the run took all {PROBE_BYTES} probed bytes of stack")
    return depth
