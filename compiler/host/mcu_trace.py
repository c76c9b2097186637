"""Instructions a Cortex-M build executes per inference, per layer and per function, counted
under qemu-system-arm (MPS2 AN386 for the M4, AN500 for the M7).

qemu's ``-d in_asm,exec,nochain`` log, read through a FIFO while the emulator runs, lists
each translated block once (``IN: symbol`` then one line per instruction) and every
execution of a block (``Trace ...: [../pc/../..] symbol``; ``nochain`` makes qemu log every
block it enters, not only the first of a chain). The count of an execution is the number
of instructions of the block starting at that pc. qemu counts guest instructions exactly
as the core would retire them except that a block left early by an exception still counts
whole (no exception happens in an inference), and it knows nothing of cycles: an
instruction is one unit whatever its latency.

Attribution uses the generated model's structure: every layer is a static function
``layer<N>`` that run_layers_from calls through a table, so everything executed from the
first block of ``layer<N>`` until control comes back to the run loop (kernels, the helpers
they call, memcpy) belongs to layer N. One sample through the runner is one inference;
blocks outside the layers (start-up, file I/O, the runner) are reported as ``outside``.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ToolchainError
from .cross import RUN_TIMEOUT_S, build_program, runner_args
from .targets import QEMU_SYSTEM, check_toolchain

LAYER = re.compile(r"layer(\d+)(?:\.|$)")
# The generated code's run loop and the programs around it: control back here ends a layer.
RUN_LOOP = frozenset({"run_layers_from", "cnnc_model_run", "cnnc_model_run_layers", "main"})


@dataclass
class TraceCount:
    layers: dict[int, int] = field(default_factory=dict)  # layer index -> instructions
    symbols: Counter = field(default_factory=Counter)  # function -> instructions, in layers
    layer_symbols: dict[int, Counter] = field(default_factory=dict)
    outside: int = 0  # start-up, I/O, the runner, the run loop itself

    @property
    def inference(self) -> int:
        return sum(self.layers.values())


def parse_trace(lines) -> TraceCount:
    """Counts a qemu ``in_asm,exec,nochain`` log (an iterable of lines)."""
    sizes: dict[int, int] = {}
    block_pc, block_len = None, 0
    count = TraceCount()
    current = None
    for line in lines:
        if line.startswith("0x"):
            if block_pc is None:
                block_pc = int(line[: line.index(":")], 16)
            block_len += 1
            continue
        if block_pc is not None:  # the block listing ended
            sizes[block_pc] = block_len
            block_pc, block_len = None, 0
        if not line.startswith("Trace"):
            continue
        inside = line[line.index("[") + 1 : line.index("]")].split("/")
        n = sizes.get(int(inside[1], 16), 0)
        symbol = line[line.index("]") + 1 :].strip()
        match = LAYER.match(symbol)
        if match:
            current = int(match.group(1))
        elif symbol in RUN_LOOP:
            current = None
        if current is None:
            count.outside += n
            continue
        count.layers[current] = count.layers.get(current, 0) + n
        count.symbols[symbol] += n
        count.layer_symbols.setdefault(current, Counter())[symbol] += n
    return count


def count_instructions(out_dir: str | Path, target_name: str, x: np.ndarray,
                       extra_flags: tuple[str, ...] = ()) -> TraceCount:  # fmt: skip
    """Runs the folder's runner on the target's emulated board with one sample ``x`` and
    counts the instructions of the inference (see the module docstring)."""
    target = check_toolchain(target_name, run=True)
    if not target.board:
        raise ToolchainError(f"target {target_name}: no emulated board to count instructions on")
    binary = build_program(out_dir, target_name, extra_flags=extra_flags)
    with tempfile.TemporaryDirectory(prefix="cnnc-trace-") as tmp:
        Path(tmp, "in.f32").write_bytes(np.ascontiguousarray(x, dtype="<f4").tobytes())
        fifo = Path(tmp, "trace")
        os.mkfifo(fifo)
        argv = ["runner", *runner_args(out_dir, []), "-i", "in.f32", "-o", "out.bin"]
        config = ",".join(["enable=on", "target=native",
                           *(f"arg={a.replace(',', ',,')}" for a in argv)])  # fmt: skip
        cmd = [QEMU_SYSTEM, "-M", target.board, "-nographic", "-monitor", "none",
               "-semihosting-config", config, "-kernel", str(binary),
               "-d", "in_asm,exec,nochain", "-D", str(fifo)]  # fmt: skip
        with open(Path(tmp, "messages"), "wb") as messages:
            proc = subprocess.Popen(cmd, cwd=tmp, stdin=subprocess.DEVNULL, stdout=messages,
                                    stderr=subprocess.STDOUT)  # fmt: skip
            timer = threading.Timer(RUN_TIMEOUT_S, proc.kill)
            timer.start()
            try:
                with open(fifo, errors="replace") as log:
                    count = parse_trace(log)
            finally:
                timer.cancel()
                status = proc.wait()
        if status != 0:
            text = Path(tmp, "messages").read_text(errors="replace").strip()
            raise ToolchainError(f"{' '.join(cmd)}: exit status {status}: {text}")
    return count
