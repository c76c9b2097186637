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

Cycle estimate (``TraceCount.cycles``): qemu knows no timing, so it is a model, stated here.
Each executed instruction is charged the Cortex-M4 cycle count of its class from the
Cortex-M4 Technical Reference Manual (r0p1, table 3-1, zero wait states):
data processing, shifts, extends, saturation, bit-field, IT, and every multiply including
the long (SMULL/SMLAL) and DSP ones (SMLAD, SMLAxy, SMMUL, ...) 1; SDIV/UDIV 7 (the
middle of 2-12); LDR/STR of one register 2 (the TRM's pipelining of neighbouring loads
into 1 cycle is not modelled); LDRD/STRD 3; LDM/STM/PUSH/POP 1 + N registers; a taken
branch or any other write to the PC adds P = 2 (the middle of 1-3), detected from the
trace as the next executed block not starting where the previous one ended. No wait
states, no bus contention, no FPU (the int8 kernels execute none).
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

# Cortex-M4 cycles per instruction class (see the module docstring); anything else is 1.
M4_CYCLES = {"sdiv": 7, "udiv": 7, "ldrd": 3, "strd": 3}
M4_PIPELINE_REFILL = 2
_MEM1 = re.compile(r"^(ldr|str|ldrex|strex)(b|h|sb|sh|t|bt|ht|sbt|sht)?$")
_MULTI = re.compile(r"^(ldm|stm|push|pop|vpush|vpop)")
_HEX4 = re.compile(r"^[0-9a-f]{4}$")
_CONDITIONS = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge",
               "lt", "gt", "le", "al")  # fmt: skip


def m4_cycles(mnemonic: str, operands: str) -> int:
    """Cycles the Cortex-M4 model charges one instruction (no branch penalty)."""
    op = mnemonic.split(".")[0]
    if op in M4_CYCLES:
        return M4_CYCLES[op]
    if op[-2:] in _CONDITIONS and (op[:-2] in M4_CYCLES or _MEM1.match(op[:-2])):
        op = op[:-2]  # a conditional load/store inside an IT block
        if op in M4_CYCLES:
            return M4_CYCLES[op]
    if _MEM1.match(op):
        return 2
    if _MULTI.match(op):  # the register list: {r4, r5, lr} (ranges count as one)
        return 1 + operands[operands.find("{") :].count(",") + 1
    return 1


LAYER = re.compile(r"layer(\d+)(?:\.|$)")
# The generated code's run loop and the programs around it: control back here ends a layer.
RUN_LOOP = frozenset({"run_layers_from", "cnnc_model_run", "cnnc_model_run_layers", "main"})


@dataclass
class TraceCount:
    layers: dict[int, int] = field(default_factory=dict)  # layer index -> instructions
    symbols: Counter = field(default_factory=Counter)  # function -> instructions, in layers
    layer_symbols: dict[int, Counter] = field(default_factory=dict)
    outside: int = 0  # start-up, I/O, the runner, the run loop itself
    cycles: dict[int, int] = field(default_factory=dict)  # layer -> Cortex-M4 cycle estimate
    histogram: Counter = field(default_factory=Counter)  # mnemonic -> executions, in layers

    @property
    def inference(self) -> int:
        return sum(self.layers.values())


def parse_trace(lines) -> TraceCount:
    """Counts a qemu ``in_asm,exec,nochain`` log (an iterable of lines)."""
    sizes: dict[int, int] = {}
    blocks: dict[int, tuple[int, int, tuple[str, ...]]] = {}  # pc -> cycles, end, mnemonics
    block_pc, block_len, block_cycles, block_end, mnemonics = None, 0, 0, 0, []
    count = TraceCount()
    current = None
    previous_end, previous_layer = None, None
    for line in lines:
        if line.startswith("0x"):
            pc = int(line[: line.index(":")], 16)
            if block_pc is None:
                block_pc = pc
            block_len += 1
            words = line[line.index(":") + 1 :].split(None, 3)
            hexes = 0
            while hexes < len(words) and _HEX4.match(words[hexes]):
                hexes += 1
            if hexes < len(words):
                rest = " ".join(words[hexes + 1 :])
                mnemonics.append(words[hexes])
                block_cycles += m4_cycles(words[hexes], rest)
            else:
                block_cycles += 1
            block_end = pc + 2 * max(hexes, 1)
            continue
        if block_pc is not None:  # the block listing ended
            sizes[block_pc] = block_len
            blocks[block_pc] = (block_cycles, block_end, tuple(mnemonics))
            block_pc, block_len, block_cycles, mnemonics = None, 0, 0, []
        if not line.startswith("Trace"):
            continue
        inside = line[line.index("[") + 1 : line.index("]")].split("/")
        pc = int(inside[1], 16)
        n = sizes.get(pc, 0)
        if previous_end is not None and pc != previous_end and previous_layer is not None:
            count.cycles[previous_layer] += M4_PIPELINE_REFILL  # the previous block branched
        symbol = line[line.index("]") + 1 :].strip()
        match = LAYER.match(symbol)
        if match:
            current = int(match.group(1))
        elif symbol in RUN_LOOP:
            current = None
        cycles, previous_end, names = blocks.get(pc, (n, None, ()))
        previous_layer = current
        if current is None:
            count.outside += n
            continue
        count.layers[current] = count.layers.get(current, 0) + n
        count.cycles[current] = count.cycles.get(current, 0) + cycles
        count.histogram.update(names)
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
